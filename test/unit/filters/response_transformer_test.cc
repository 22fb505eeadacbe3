#include "filters/response_transformer/response_transformer_filter.h"

#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace portico::filters {
namespace {

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

testing::Loaded load(const std::string& config_body) {
  return load_plugin("plugins:\n- name: response-transformer\n  config:\n" + config_body);
}

TEST(ResponseTransformerConfig, NoConfigIsValid) {
  auto loaded = load_plugin("plugins:\n- name: response-transformer\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  EXPECT_EQ(loaded.priority, 800);
  EXPECT_EQ(loaded.filter->phases(), filter::kOnResponse);
}

TEST(ResponseTransformerConfig, DeckDumpDefaultsLoad) {
  auto loaded = load(R"(    remove: {headers: [], json: []}
    rename: {headers: []}
    replace: {headers: [], json: [], json_types: []}
    add: {headers: ["x-a:1"], json: [], json_types: []}
    append: {headers: [], json: [], json_types: []}
)");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
}

TEST(ResponseTransformerConfig, JsonIsNotSupportedYet) {
  auto loaded = load("    add: {json: [\"a:1\"]}\n");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:4:17: plugins[0].config.add.json: JSON body transformations are not "
            "supported yet (only headers are)");
}

TEST(ResponseTransformerConfig, JsonTypesAreNotSupportedYet) {
  auto loaded = load("    append: {json_types: [number]}\n");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:4:26: plugins[0].config.append.json_types: JSON body transformations are "
            "not supported yet (only headers are)");
}

TEST(ResponseTransformerConfig, RenameHasNoJsonInKong) {
  auto loaded = load("    rename: {json: [\"a:b\"]}\n");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:4:14: plugins[0].config.rename.json: unknown field 'json'; expected one "
            "of: headers");
}

TEST(ResponseTransformerConfig, RequestOnlyFieldsAreUnknown) {
  auto loaded = load("    add: {querystring: [\"a:1\"]}\n");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:4:11: plugins[0].config.add.querystring: unknown field 'querystring'; "
            "expected one of: headers, json, json_types");
}

TEST(ResponseTransformerConfig, HeaderEntriesAreValidated) {
  auto loaded = load("    replace: {headers: [\"x-a\", \"b c:1\"]}\n");
  EXPECT_FALSE(loaded.filter);
  EXPECT_EQ(loaded.error_text(),
            "kong.yaml:4:25: plugins[0].config.replace.headers[0]: 'x-a' is not a 'name:value' pair\n"
            "kong.yaml:4:32: plugins[0].config.replace.headers[1]: 'b c' is not a valid header "
            "name (letters, digits and !#$%&'*+-.^_`|~ only)");
}

TEST(ResponseTransformerConfig, TemplatesAndHostAreLiteralHere) {
  // Kong's response-transformer has neither templates nor a Host rule: values are plain text.
  auto loaded = load("    add: {headers: [\"x-t:$(not-a-template)\", \"host:x\"]}\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
}

TEST(ResponseTransformer, ChangesTheResponseHeadersInKongsOrder) {
  auto loaded = load(R"(    remove: {headers: [server, x-powered-by]}
    rename: {headers: ["x-upstream-id:x-request-origin"]}
    replace: {headers: ["cache-control:no-store", "x-absent:1"]}
    add: {headers: ["x-frame-options:DENY", "content-type:text/plain"]}
    append: {headers: ["vary:Origin"]}
)");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  x.response.status = 200;
  auto& h = x.response.headers;
  h.add("Server", "upstream");
  h.add("Content-Type", "application/json");
  h.add("Cache-Control", "max-age=60");
  h.add("X-Upstream-Id", "7");
  h.add("Vary", "Accept");
  h.add("X-Powered-By", "php");

  // The request side is untouched: this filter only has a response hook.
  EXPECT_TRUE(loaded.filter->on_request(x).ready());
  filter::Step step = loaded.filter->on_response(x);
  ASSERT_TRUE(step.ready());
  EXPECT_EQ(step.verdict().kind, filter::Verdict::Kind::kContinue);
  // rename keeps the field where it was; replace (like Kong's set_header) re-adds it at the end.
  EXPECT_EQ(dump(h),
            "Content-Type: application/json\n"
            "x-request-origin: 7\n"
            "Vary: Accept\n"
            "cache-control: no-store\n"
            "x-frame-options: DENY\n"
            "vary: Origin\n");
  EXPECT_TRUE(x.request.headers.empty());
}

}  // namespace
}  // namespace portico::filters
