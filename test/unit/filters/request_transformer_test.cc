#include "filters/request_transformer/request_transformer_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_support.h"

namespace portico::filters {
namespace {

using testing::fill_request;
using testing::load_plugin;

std::string dump(const http::HeaderMap& headers) {
  std::string out;
  for (const auto& f : headers) {
    out += f.name;
    out += ": ";
    out += f.value;
    out += '\n';
  }
  return out;
}

// Loads request-transformer with `config_body` (already indented by four spaces).
testing::Loaded load(const std::string& config_body) {
  return load_plugin("plugins:\n- name: request-transformer\n  config:\n" + config_body);
}

TEST(RequestTransformerConfig, NoConfigIsValidAndDoesNothing) {
  auto loaded = load_plugin("plugins:\n- name: request-transformer\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  EXPECT_EQ(loaded.priority, 801);
  EXPECT_EQ(loaded.filter->phases(), filter::kOnRequest);
  EXPECT_TRUE(static_cast<const RequestTransformerFilter&>(*loaded.filter).ops().empty());
}

TEST(RequestTransformerConfig, DeckDumpDefaultsLoad) {
  auto loaded = load(R"(    http_method: null
    remove: {body: [], headers: [x-a], querystring: []}
    rename: {body: [], headers: [], querystring: []}
    replace: {body: [], headers: [], querystring: [], uri: null}
    add: {body: [], headers: ["x-b:1"], querystring: []}
    append: {body: [], headers: [], querystring: []}
)");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  const auto& ops = static_cast<const RequestTransformerFilter&>(*loaded.filter).ops();
  ASSERT_EQ(ops.removes().size(), 1u);
  EXPECT_EQ(ops.removes()[0], "x-a");
  ASSERT_EQ(ops.adds().size(), 1u);
  EXPECT_EQ(ops.adds()[0].name, "x-b");
  EXPECT_EQ(ops.adds()[0].value, "1");
}

TEST(RequestTransformerConfig, PairParsingFollowsKong) {
  auto loaded = load(R"(    add:
      headers:
        - "x-url:http://example.com:80/a"
        - "x-colons:::v"
        - "x-space: padded "
)");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  const auto& adds = static_cast<const RequestTransformerFilter&>(*loaded.filter).ops().adds();
  ASSERT_EQ(adds.size(), 3u);
  EXPECT_EQ(adds[0].value, "http://example.com:80/a");
  EXPECT_EQ(adds[1].value, "v");
  EXPECT_EQ(adds[2].value, "padded");
}

struct ErrorCase {
  const char* name;
  const char* config;
  const char* error;
};

class RequestTransformerConfigError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(RequestTransformerConfigError, IsReportedWithPosition) {
  auto loaded = load(GetParam().config);
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    All, RequestTransformerConfigError,
    ::testing::Values(
        ErrorCase{"MissingColon", "    add: {headers: [x-foo]}\n",
                  "kong.yaml:4:21: plugins[0].config.add.headers[0]: 'x-foo' is not a "
                  "'name:value' pair"},
        ErrorCase{"RenameMissingColon", "    rename: {headers: [x-foo]}\n",
                  "kong.yaml:4:24: plugins[0].config.rename.headers[0]: 'x-foo' is not an "
                  "'old-name:new-name' pair"},
        ErrorCase{"RenameWithoutNewName", "    rename: {headers: [\"x-foo:\"]}\n",
                  "kong.yaml:4:24: plugins[0].config.rename.headers[0]: 'x-foo:' has no new name"},
        ErrorCase{"BadName", "    replace: {headers: [\"x foo:1\"]}\n",
                  "kong.yaml:4:25: plugins[0].config.replace.headers[0]: 'x foo' is not a valid "
                  "header name (letters, digits and !#$%&'*+-.^_`|~ only)"},
        ErrorCase{"BadNewName", "    rename: {headers: [\"x-a:x(b)\"]}\n",
                  "kong.yaml:4:24: plugins[0].config.rename.headers[0]: 'x(b)' is not a valid "
                  "header name (letters, digits and !#$%&'*+-.^_`|~ only)"},
        ErrorCase{"BadRemoveName", "    remove: {headers: [\"x-a:b\"]}\n",
                  "kong.yaml:4:24: plugins[0].config.remove.headers[0]: 'x-a:b' is not a valid "
                  "header name (letters, digits and !#$%&'*+-.^_`|~ only)"},
        ErrorCase{"EmptyValue", "    append: {headers: [\"x-a:\"]}\n",
                  "kong.yaml:4:24: plugins[0].config.append.headers[0]: 'x-a:' has an empty value "
                  "(Kong skips such entries); give a value or remove the entry"},
        ErrorCase{"ControlCharacter", "    add: {headers: [\"x-a:1\\r\\nx-b: 2\"]}\n",
                  "kong.yaml:4:21: plugins[0].config.add.headers[0]: the value of header 'x-a' "
                  "contains a control character (only visible characters, spaces and tabs are "
                  "allowed)"},
        ErrorCase{"Template", "    add: {headers: [\"x-user:$(headers.user)\"]}\n",
                  "kong.yaml:4:21: plugins[0].config.add.headers[0]: the value of header 'x-user' "
                  "uses a template $(...), which is not supported yet"},
        ErrorCase{"HostInAdd", "    add: {headers: [\"Host:a.example\"]}\n",
                  "kong.yaml:4:21: plugins[0].config.add.headers[0]: the Host header cannot be "
                  "used in add.headers (Kong ignores it there); change it with replace.headers"},
        ErrorCase{"HostInRemove", "    remove: {headers: [host]}\n",
                  "kong.yaml:4:24: plugins[0].config.remove.headers[0]: the Host header cannot be "
                  "used in remove.headers (Kong ignores it there); change it with replace.headers"},
        ErrorCase{"HeadersNotAList", "    add: {headers: \"x-a:1\"}\n",
                  "kong.yaml:4:20: plugins[0].config.add.headers: expected a list of strings, got "
                  "a string (\"x-a:1\"); write it as a list: [x-a:1]"},
        ErrorCase{"Querystring", "    add: {querystring: [\"a:1\"]}\n",
                  "kong.yaml:4:24: plugins[0].config.add.querystring: querystring transformations "
                  "are not supported yet (only headers are)"},
        ErrorCase{"Body", "    remove: {body: [password]}\n",
                  "kong.yaml:4:20: plugins[0].config.remove.body: body transformations are not "
                  "supported yet (only headers are)"},
        ErrorCase{"Uri", "    replace: {uri: /v2}\n",
                  "kong.yaml:4:20: plugins[0].config.replace.uri: uri replacement is not "
                  "supported yet (only headers are)"},
        ErrorCase{"HttpMethod", "    http_method: POST\n",
                  "kong.yaml:4:18: plugins[0].config.http_method: http_method is not supported yet "
                  "(only headers are)"},
        ErrorCase{"Allow", "    allow: {body: [a]}\n",
                  "kong.yaml:4:19: plugins[0].config.allow.body: allow.body is not supported yet "
                  "(only headers are)"},
        ErrorCase{"UnknownOperationField", "    add: {header: [\"x-a:1\"]}\n",
                  "kong.yaml:4:11: plugins[0].config.add.header: unknown field 'header' (did you "
                  "mean 'headers'?); expected one of: headers, querystring, body"},
        ErrorCase{"UnknownTopLevelField", "    delete: {headers: [x-a]}\n",
                  "kong.yaml:4:5: plugins[0].config.delete: unknown field 'delete'; expected one "
                  "of: remove, rename, replace, add, append, http_method, allow"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

TEST(RequestTransformerConfig, ReportsEveryBadEntry) {
  auto loaded = load("    add: {headers: [\"a:1\", bad, \"c:\"]}\n");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.errors.count(), 2u) << loaded.error_text();
}

class RequestTransformerRun : public ::testing::Test {
 protected:
  void run(const std::string& config_body) {
    loaded_ = load(config_body);
    ASSERT_TRUE(loaded_.filter) << loaded_.error_text();
    filter::Step step = loaded_.filter->on_request(x_);
    ASSERT_TRUE(step.ready());
    EXPECT_EQ(step.verdict().kind, filter::Verdict::Kind::kContinue);
  }
  testing::Loaded loaded_;
  boost::asio::io_context io_;
  filter::Exchange x_{io_.get_executor()};
};

TEST_F(RequestTransformerRun, AppliesKongsOrder) {
  fill_request(x_);
  x_.request.headers.add("X-Remove", "1");
  x_.request.headers.add("X-Old", "a");
  x_.request.headers.add("X-Old", "b");
  x_.request.headers.add("X-Present", "old");
  // rename runs after remove, replace after rename (so it sees the new name), add after replace
  // (so it sees what replace did not create), append last.
  run(R"(    remove: {headers: [x-remove]}
    rename: {headers: ["x-old:X-New"]}
    replace: {headers: ["x-new:replaced", "x-present:new", "x-absent:never"]}
    add: {headers: ["x-present:not-added", "x-added:yes"]}
    append: {headers: ["x-added:again", "x-present:more"]}
)");
  EXPECT_EQ(dump(x_.request.headers),
            "Host: Example.COM:8000\n"
            "User-Agent: test/1.0\n"
            "x-new: replaced\n"
            "x-present: new\n"
            "x-added: yes\n"
            "x-added: again\n"
            "x-present: more\n");
}

TEST_F(RequestTransformerRun, RenameKeepsEveryValueAndReplacesTheTarget) {
  x_.request.headers.add("A", "1");
  x_.request.headers.add("B", "old");
  x_.request.headers.add("a", "2");
  run("    rename: {headers: [\"a:b\"]}\n");
  EXPECT_EQ(dump(x_.request.headers), "b: 1\nb: 2\n");
}

TEST_F(RequestTransformerRun, RenameOfAnAbsentHeaderDoesNothing) {
  x_.request.headers.add("B", "kept");
  run("    rename: {headers: [\"a:b\"]}\n");
  EXPECT_EQ(dump(x_.request.headers), "B: kept\n");
}

TEST_F(RequestTransformerRun, ReplaceChangesEveryValueOnce) {
  x_.request.headers.add("X-A", "1");
  x_.request.headers.add("x-a", "2");
  run("    replace: {headers: [\"X-a:3\"]}\n");
  EXPECT_EQ(dump(x_.request.headers), "X-a: 3\n");
}

TEST_F(RequestTransformerRun, ReplaceHostAlsoChangesTheRequestHost) {
  fill_request(x_);
  run("    replace: {headers: [\"host:upstream.internal\"]}\n");
  EXPECT_EQ(x_.request.host, "upstream.internal");
  EXPECT_EQ(x_.request.headers.count("host"), 1u);
  EXPECT_EQ(x_.request.headers.get("host").value_or(""), "upstream.internal");
}

TEST_F(RequestTransformerRun, ReplaceHostWhenTheRequestHadNone) {
  x_.request.version_minor = 0;
  run("    replace: {headers: [\"host:upstream.internal\"]}\n");
  EXPECT_EQ(x_.request.host, "upstream.internal");
  EXPECT_EQ(x_.request.headers.get("Host").value_or(""), "upstream.internal");
}

TEST_F(RequestTransformerRun, RenameToHostUpdatesTheRequestHost) {
  fill_request(x_);
  x_.request.headers.add("X-Target-Host", "b.example");
  run("    rename: {headers: [\"x-target-host:host\"]}\n");
  EXPECT_EQ(x_.request.host, "b.example");
  EXPECT_EQ(x_.request.headers.count("host"), 1u);
}

TEST_F(RequestTransformerRun, SameFilterServesManyRequests) {
  run("    add: {headers: [\"x-a:1\"]}\n");
  for (int i = 0; i < 3; ++i) {
    x_.clear();
    loaded_.filter->on_request(x_);
    EXPECT_EQ(dump(x_.request.headers), "x-a: 1\n");
  }
}

}  // namespace
}  // namespace portico::filters
