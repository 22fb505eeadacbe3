#include "filters/correlation_id/correlation_id_filter.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <set>
#include <string>

#include "test_support.h"

namespace portico::filters {
namespace {

using testing::load_plugin;

testing::Loaded load(const std::string& config_body) {
  return load_plugin("plugins:\n- name: correlation-id\n  config:\n" + config_body);
}

struct Request {
  boost::asio::io_context io;
  filter::Exchange x{io.get_executor()};
  Request() { testing::fill_request(x); }
};

std::string sent(const filter::Exchange& x, std::string_view name = "Kong-Request-ID") {
  auto v = x.request.headers.get(name);
  return v ? std::string(*v) : "<absent>";
}

TEST(CorrelationIdConfig, DefaultsFollowKong) {
  auto loaded = load_plugin("plugins:\n- name: correlation-id\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  EXPECT_EQ(loaded.priority, 100001);
  const auto& c = static_cast<const CorrelationIdFilter&>(*loaded.filter).config();
  EXPECT_EQ(c.header_name, "Kong-Request-ID");
  EXPECT_EQ(c.generator, CorrelationIdFilter::Generator::kUuidCounter);
  EXPECT_FALSE(c.echo_downstream);
  EXPECT_EQ(loaded.filter->phases(), filter::kOnRequest);
}

struct ErrorCase {
  const char* name;
  const char* config;
  const char* error;
};

class CorrelationIdConfigError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(CorrelationIdConfigError, IsReportedWithPosition) {
  auto loaded = load(GetParam().config);
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    All, CorrelationIdConfigError,
    ::testing::Values(
        ErrorCase{"UnknownGenerator", "    generator: uuid4\n",
                  "kong.yaml:4:16: plugins[0].config.generator: \"uuid4\" is not one of: uuid, "
                  "uuid#counter, tracker"},
        ErrorCase{"BadHeaderName", "    header_name: \"X Id\"\n",
                  "kong.yaml:4:18: plugins[0].config.header_name: 'X Id' is not a valid header name"},
        ErrorCase{"EchoNotBoolean", "    echo_downstream: yes\n",
                  "kong.yaml:4:22: plugins[0].config.echo_downstream: expected a boolean (true or "
                  "false), got a string (\"yes\"); YAML 1.1 words such as yes/no/on/off are not "
                  "accepted"},
        ErrorCase{"UnknownField", "    header: X-Id\n",
                  "kong.yaml:4:5: plugins[0].config.header: unknown field 'header'; expected one of: "
                  "header_name, generator, echo_downstream"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

TEST(CorrelationId, KeepsAnIncomingId) {
  auto loaded = load("    generator: uuid\n");
  Request r;
  r.x.request.headers.add("kong-request-id", "client-chosen");
  loaded.filter->on_request(r.x);
  EXPECT_EQ(sent(r.x), "client-chosen");
  EXPECT_EQ(r.x.request.headers.count("Kong-Request-ID"), 1u);
}

TEST(CorrelationId, UuidIsFreshEachTime) {
  auto loaded = load("    generator: uuid\n");
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    Request r;
    loaded.filter->on_request(r.x);
    std::string id = sent(r.x);
    EXPECT_TRUE(RE2::FullMatch(id, "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(CorrelationId, UuidCounterKeepsTheWorkersUuidAndCounts) {
  auto loaded = load("    generator: uuid#counter\n    header_name: X-Correlation-Id\n");
  std::string first, second;
  {
    Request r;
    loaded.filter->on_request(r.x);
    first = sent(r.x, "x-correlation-id");
  }
  {
    Request r;
    loaded.filter->on_request(r.x);
    second = sent(r.x, "x-correlation-id");
  }
  std::string uuid, n1, n2;
  ASSERT_TRUE(RE2::FullMatch(first, "([0-9a-f-]{36})#(\\d+)", &uuid, &n1)) << first;
  ASSERT_TRUE(RE2::FullMatch(second, uuid + "#(\\d+)", &n2)) << second;
  EXPECT_EQ(std::stoull(n2), std::stoull(n1) + 1);
}

TEST(CorrelationId, TrackerFormat) {
  auto loaded = load("    generator: tracker\n");
  Request r;
  r.x.request.client_port = 41000;
  loaded.filter->on_request(r.x);
  std::string id = sent(r.x);
  EXPECT_TRUE(RE2::FullMatch(id, "Example\\.COM-8000-\\d+-41000-\\d+-\\d+\\.\\d{3}")) << id;
}

TEST(CorrelationId, EchoDownstream) {
  auto loaded = load("    echo_downstream: true\n");
  ASSERT_TRUE(loaded.filter->phases() & filter::kOnResponse);
  Request r;
  loaded.filter->on_request(r.x);
  loaded.filter->on_response(r.x);
  EXPECT_EQ(r.x.response.headers.get("kong-request-id").value_or("<absent>"), sent(r.x));
}

}  // namespace
}  // namespace portico::filters
