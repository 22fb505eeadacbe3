#include "filters/request_termination/request_termination_filter.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace portico::filters {
namespace {

using testing::fill_request;
using testing::load_plugin;

filter::Verdict run(const filter::Filter& f, filter::Exchange& x) {
  filter::Step step = f.on_request(x);
  EXPECT_TRUE(step.ready()) << "request-termination must never allocate a coroutine";
  return step.verdict();
}

TEST(RequestTerminationConfig, NoConfigMeansKongDefaults) {
  auto loaded = load_plugin("plugins:\n- name: request-termination\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  EXPECT_EQ(loaded.priority, 2);
  auto& f = static_cast<const RequestTerminationFilter&>(*loaded.filter);
  EXPECT_EQ(f.config().status_code, 503);
  EXPECT_FALSE(f.config().echo);
  EXPECT_TRUE(f.config().trigger.empty());
  EXPECT_EQ(f.phases(), filter::kOnRequest);
}

TEST(RequestTerminationConfig, DeckDumpWithNullsLoads) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    body: null
    content_type: null
    echo: false
    message: null
    status_code: 503
    trigger: null
)");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
}

TEST(RequestTerminationConfig, StatusCodeOutOfRange) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    status_code: 600
)");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:4:18: plugins[0].config.status_code: value 600 is out of range (100..599)");
}

TEST(RequestTerminationConfig, StatusCodeMustBeAnInteger) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    status_code: "403"
)");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:4:18: plugins[0].config.status_code: expected an integer, got a string "
            "(\"403\"); remove the quotes");
}

TEST(RequestTerminationConfig, MessageAndBodyAreExclusive) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    message: gone
    body: "<h1>gone</h1>"
    content_type: text/html
)");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:4:14: plugins[0].config.message: message cannot be used with content_type or body");
}

TEST(RequestTerminationConfig, ContentTypeRequiresBody) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    content_type: text/plain
)");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:4:19: plugins[0].config.content_type: content_type requires a body");
}

TEST(RequestTerminationConfig, EchoExcludesBody) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    echo: true
    body: hello
)");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:4:11: plugins[0].config.echo: echo cannot be used with content_type and body");
}

TEST(RequestTerminationConfig, TriggerMustBeAHeaderName) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    trigger: "x debug"
)");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:4:14: plugins[0].config.trigger: bad header name 'x debug', allowed "
            "characters are A-Z, a-z, 0-9, '_', and '-'");
}

TEST(RequestTerminationConfig, EmptyTrigger) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    trigger: ""
)");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:4:14: plugins[0].config.trigger: no header name provided");
}

TEST(RequestTerminationConfig, EchoMustBeABoolean) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    echo: yes
)");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:4:11: plugins[0].config.echo: expected a boolean (true or false), got a "
            "string (\"yes\"); YAML 1.1 words such as yes/no/on/off are not accepted");
}

TEST(RequestTerminationConfig, UnknownFieldSuggestsTheRightOne) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    statuscode: 403
)");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:4:5: plugins[0].config.statuscode: unknown field 'statuscode' (did you mean "
            "'status_code'?); expected one of: status_code, message, body, content_type, echo, "
            "trigger");
}

TEST(RequestTerminationConfig, ConfigMustBeAMap) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config: [1, 2]
)");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(), "kong.yaml:3:11: plugins[0].config: expected a map, got a list");
}

TEST(RequestTermination, DefaultReplyIsKongsJsonMessage) {
  auto loaded = load_plugin("plugins:\n- name: request-termination\n");
  ASSERT_TRUE(loaded.filter);
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  fill_request(x);
  auto v = run(*loaded.filter, x);
  EXPECT_EQ(v.kind, filter::Verdict::Kind::kRespond);
  EXPECT_EQ(x.reply.status, 503);
  EXPECT_EQ(x.reply.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(x.reply.body, R"({"message":"Service unavailable"})");
}

TEST(RequestTermination, StatusWithKongDefaultMessage) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    status_code: 404
)");
  ASSERT_TRUE(loaded.filter);
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  run(*loaded.filter, x);
  EXPECT_EQ(x.reply.status, 404);
  EXPECT_EQ(x.reply.body, R"({"message":"Not found"})");
}

TEST(RequestTermination, StatusWithoutDefaultMessageHasNoBody) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    status_code: 418
)");
  ASSERT_TRUE(loaded.filter);
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  EXPECT_EQ(run(*loaded.filter, x).kind, filter::Verdict::Kind::kRespond);
  EXPECT_EQ(x.reply.status, 418);
  EXPECT_EQ(x.reply.body, "");
  EXPECT_EQ(x.reply.content_type, "");
}

TEST(RequestTermination, MessageIsJsonEscaped) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    status_code: 403
    message: "So long and \"thanks\""
)");
  ASSERT_TRUE(loaded.filter);
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  run(*loaded.filter, x);
  EXPECT_EQ(x.reply.status, 403);
  EXPECT_EQ(x.reply.body, R"({"message":"So long and \"thanks\""})");
}

TEST(RequestTermination, RawBodyWithContentType) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    status_code: 200
    body: "<h1>maintenance</h1>"
    content_type: text/html
)");
  ASSERT_TRUE(loaded.filter);
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  run(*loaded.filter, x);
  EXPECT_EQ(x.reply.status, 200);
  EXPECT_EQ(x.reply.content_type, "text/html");
  EXPECT_EQ(x.reply.body, "<h1>maintenance</h1>");
}

TEST(RequestTermination, RawBodyDefaultsToJsonContentType) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    body: '{"down":true}'
)");
  ASSERT_TRUE(loaded.filter);
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  run(*loaded.filter, x);
  EXPECT_EQ(x.reply.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(x.reply.body, R"({"down":true})");
}

class RequestTerminationTrigger : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ = load_plugin(R"(plugins:
- name: request-termination
  config:
    status_code: 403
    trigger: x_block
)");
    ASSERT_TRUE(loaded_.filter) << loaded_.error_text();
    fill_request(x_);
  }
  testing::Loaded loaded_;
  boost::asio::io_context io_;
  filter::Exchange x_{io_.get_executor()};
};

TEST_F(RequestTerminationTrigger, AbsentTriggerLetsTheRequestThrough) {
  EXPECT_EQ(run(*loaded_.filter, x_).kind, filter::Verdict::Kind::kContinue);
  EXPECT_FALSE(x_.reply.active());
}

TEST_F(RequestTerminationTrigger, HeaderMatchesCaseInsensitivelyAndUnderscoreAsDash) {
  x_.request.headers.add("X-Block", "1");
  EXPECT_EQ(run(*loaded_.filter, x_).kind, filter::Verdict::Kind::kRespond);
  EXPECT_EQ(x_.reply.status, 403);
}

TEST_F(RequestTerminationTrigger, HeaderWithTheExactName) {
  x_.request.headers.add("x_block", "");
  EXPECT_EQ(run(*loaded_.filter, x_).kind, filter::Verdict::Kind::kRespond);
}

TEST_F(RequestTerminationTrigger, QueryArgumentWithoutValue) {
  x_.request.query = "a=1&x_block";
  EXPECT_EQ(run(*loaded_.filter, x_).kind, filter::Verdict::Kind::kRespond);
}

TEST_F(RequestTerminationTrigger, EncodedQueryArgument) {
  x_.request.query = "x%5Fblock=";
  EXPECT_EQ(run(*loaded_.filter, x_).kind, filter::Verdict::Kind::kRespond);
}

TEST_F(RequestTerminationTrigger, QueryNamesAreCaseSensitiveAndNotValues) {
  x_.request.query = "X_BLOCK=1&a=x_block";
  EXPECT_EQ(run(*loaded_.filter, x_).kind, filter::Verdict::Kind::kContinue);
}

TEST(RequestTerminationEcho, DescribesTheRequestLikeKong) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    status_code: 200
    echo: true
)");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  fill_request(x, "/v1/items", "a=1&b&a=two%20words&c=x+y");
  x.request.headers.add("Accept", "*/*");
  x.request.headers.add("accept", "text/plain");
  x.request.headers.add("X-Quote", "say \"hi\"");
  x.route_name = "items";
  x.uri_captures.emplace_back("id", "7");
  EXPECT_EQ(run(*loaded.filter, x).kind, filter::Verdict::Kind::kRespond);
  EXPECT_EQ(x.reply.status, 200);
  EXPECT_EQ(x.reply.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(x.reply.body,
            R"({"request":{"scheme":"http","host":"example.com","port":8000,"method":"GET",)"
            R"("path":"/v1/items","headers":{"host":"Example.COM:8000","user-agent":"test/1.0",)"
            R"("accept":["*/*","text/plain"],"x-quote":"say \"hi\""},)"
            R"("query":{"a":["1","two words"],"b":true,"c":"x y"},"uri_captures":{"named":{"id":"7"}}},)"
            R"("matched_route":{"name":"items"},"matched_service":null})");
}

TEST(RequestTerminationEcho, IncludesTheMessageWhenKnown) {
  auto loaded = load_plugin(R"(plugins:
- name: request-termination
  config:
    echo: true
    trigger: x-echo
)");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  x.request.method = "POST";
  x.request.path = "/";
  x.request.host = "[::1]:8000";
  x.request.headers.add("X-Echo", "1");
  x.service_name = "svc";
  run(*loaded.filter, x);
  EXPECT_EQ(x.reply.status, 503);
  EXPECT_EQ(x.reply.body,
            R"({"message":"Service unavailable","request":{"scheme":"http","host":"[::1]",)"
            R"("port":0,"method":"POST","path":"/","headers":{"x-echo":"1"},"query":{},)"
            R"("uri_captures":{"named":{}}},)"
            R"("matched_route":null,"matched_service":{"name":"svc"}})");
}

}  // namespace
}  // namespace portico::filters
