// Built-in plugins through the real gateway: request-termination (status, message, echo),
// request-transformer and response-transformer (Kong semantics), fault-injection (delay, abort),
// plugin order within a chain, and precedence: route over service over global.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// obj[key] where obj is an object, with a case-insensitive key (Kong lowercases header names).
const boost::json::value* member(const boost::json::value& v, std::string_view key) {
  const auto* obj = v.if_object();
  if (!obj) return nullptr;
  for (const auto& kv : *obj)
    if (iequals(kv.key(), key)) return &kv.value();
  return nullptr;
}

std::string as_text(const boost::json::value* v) {
  if (!v) return "<missing>";
  if (v->is_string()) return std::string(v->as_string());
  return boost::json::serialize(*v);
}

class PluginsTest : public ::testing::Test {
 protected:
  void start(std::string_view yaml_body) {
    gw_ = std::make_unique<Gateway>(config_prelude() +
                                    render(yaml_body, {{"UP", std::to_string(up_.port())}}));
  }
  Response get(std::string_view target, Headers headers = {}) {
    return fetch(gw_->port(), http_request("GET", target, headers));
  }

  Upstream up_;
  std::unique_ptr<Gateway> gw_;
};

TEST_F(PluginsTest, RequestTerminationEchoesTheRequest) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: echo-route
        paths: ["/term"]
        plugins:
          - name: request-termination
            config: {status_code: 200, echo: true}
)");
  Response r = get("/term/x?a=1&b=two", {{"X-Custom", "hi"}});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  std::string err;
  auto doc = parse_json(r.text(), &err);
  ASSERT_TRUE(doc.has_value()) << err << ": " << r.text();
  const auto* request = member(*doc, "request");
  ASSERT_NE(request, nullptr) << r.text();
  EXPECT_EQ(as_text(member(*request, "method")), "GET") << r.text();
  EXPECT_EQ(as_text(member(*request, "path")), "/term/x") << r.text();
  const auto* headers = member(*request, "headers");
  ASSERT_NE(headers, nullptr) << r.text();
  EXPECT_EQ(as_text(member(*headers, "x-custom")), "hi") << r.text();
  const auto* query = member(*request, "query");
  ASSERT_NE(query, nullptr) << r.text();
  EXPECT_EQ(as_text(member(*query, "a")), "1") << r.text();
  EXPECT_EQ(as_text(member(*query, "b")), "two") << r.text();
  const auto* route = member(*doc, "matched_route");
  ASSERT_NE(route, nullptr) << r.text();
  EXPECT_EQ(as_text(member(*route, "name")), "echo-route") << r.text();
  EXPECT_EQ(up_.request_count(), 0u) << "a terminated request reached the upstream";
}

TEST_F(PluginsTest, RequestTerminationStatusAndMessage) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    plugins:
      - name: request-termination
        config: {status_code: 403, message: "go away"}
    routes:
      - name: r
        paths: ["/"]
)");
  Response r = get("/anything");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(json_message(r.text()), "go away") << r.text();
  EXPECT_EQ(up_.request_count(), 0u);
}

TEST_F(PluginsTest, RequestTransformerChangesWhatTheUpstreamSees) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: r
        paths: ["/"]
        plugins:
          - name: request-transformer
            config:
              remove: {headers: ["X-Remove"]}
              rename: {headers: ["X-Old:X-New"]}
              replace: {headers: ["X-Replace:replaced"]}
              add: {headers: ["X-Added:yes", "X-Existing:from-plugin"]}
              append: {headers: ["X-Append:two"]}
)");
  Response r = get("/rt", {{"X-Remove", "gone"},
                           {"X-Old", "renamed-value"},
                           {"X-Replace", "original"},
                           {"X-Existing", "from-client"},
                           {"X-Append", "one"},
                           {"X-Untouched", "same"}});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(up_.wait_for_requests(1, 2s));
  RecordedRequest req = up_.requests()[0];
  EXPECT_FALSE(req.header("X-Remove").has_value()) << req.raw_head;
  EXPECT_FALSE(req.header("X-Old").has_value()) << req.raw_head;
  EXPECT_EQ(req.header("X-New"), "renamed-value") << req.raw_head;
  EXPECT_EQ(find_headers(req.headers, "X-Replace"), std::vector<std::string>{"replaced"}) << req.raw_head;
  EXPECT_EQ(req.header("X-Added"), "yes") << req.raw_head;
  // Kong: `add` never overwrites a header the request already has.
  EXPECT_EQ(find_headers(req.headers, "X-Existing"), std::vector<std::string>{"from-client"}) << req.raw_head;
  auto appended = find_headers(req.headers, "X-Append");
  std::string joined;
  for (const auto& v : appended) joined += (joined.empty() ? "" : ", ") + v;
  EXPECT_EQ(joined, "one, two") << req.raw_head;
  EXPECT_EQ(req.header("X-Untouched"), "same");
}

TEST_F(PluginsTest, ResponseTransformerChangesWhatTheClientSees) {
  up_.set_handler([](const RecordedRequest&) {
    UpstreamResponse resp;
    resp.headers = {{"X-Upstream-Secret", "s3cr3t"}, {"X-Old-Resp", "value"}, {"X-Keep", "k"}};
    resp.body = "upstream body";
    return resp;
  });
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: r
        paths: ["/"]
    plugins:
      - name: response-transformer
        config:
          remove: {headers: ["X-Upstream-Secret"]}
          rename: {headers: ["X-Old-Resp:X-New-Resp"]}
          add: {headers: ["X-Resp-Added:1"]}
)");
  Response r = get("/resp");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.text(), "upstream body");
  EXPECT_FALSE(r.has_header("X-Upstream-Secret")) << r.raw_head;
  EXPECT_FALSE(r.has_header("X-Old-Resp")) << r.raw_head;
  EXPECT_EQ(r.header("X-New-Resp"), "value") << r.raw_head;
  EXPECT_EQ(r.header("X-Resp-Added"), "1") << r.raw_head;
  EXPECT_EQ(r.header("X-Keep"), "k") << r.raw_head;
  // The upstream request itself is untouched by a response plugin.
  ASSERT_TRUE(up_.wait_for_requests(1, 2s));
  EXPECT_FALSE(up_.requests()[0].header("X-Resp-Added").has_value());
}

TEST_F(PluginsTest, FaultInjectionDelayHoldsTheRequest) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: slow
        paths: ["/slow"]
        plugins:
          - name: fault-injection
            config: {delay: {fixed_delay: 300, percentage: 100}}
      - name: fast
        paths: ["/fast"]
)");
  auto t0 = Clock::now();
  Response slow = get("/slow");
  auto slow_time = Clock::now() - t0;
  ASSERT_TRUE(slow.ok()) << slow.error;
  EXPECT_EQ(slow.status, 200);
  EXPECT_EQ(slow.text(), "ok");
  EXPECT_GE(slow_time, 300ms);
  EXPECT_LT(slow_time, 3s);
  t0 = Clock::now();
  Response fast = get("/fast");
  ASSERT_TRUE(fast.ok()) << fast.error;
  EXPECT_LT(Clock::now() - t0, 300ms) << "the delay leaked onto another route";
  EXPECT_EQ(up_.request_count(), 2u);
}

TEST_F(PluginsTest, FaultInjectionAbortAnswersLocally) {
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: r
        paths: ["/"]
        plugins:
          - name: fault-injection
            config: {abort: {http_status: 503, percentage: 100}}
)");
  Response r = get("/x");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 503);
  auto message = json_message(r.text());
  EXPECT_TRUE(message && !message->empty()) << r.text();
  EXPECT_EQ(up_.request_count(), 0u);
}

TEST_F(PluginsTest, PluginsRunInKongPriorityOrder) {
  // request-transformer (priority 801) runs before request-termination (2), whatever the
  // order in the file: the echo shows the added header.
  start(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: r
        paths: ["/"]
        plugins:
          - name: request-termination
            config: {status_code: 200, echo: true}
          - name: request-transformer
            config: {add: {headers: ["X-From-Transformer:1"]}}
)");
  Response r = get("/order");
  ASSERT_TRUE(r.ok()) << r.error;
  auto doc = parse_json(r.text());
  ASSERT_TRUE(doc.has_value()) << r.text();
  const auto* request = member(*doc, "request");
  ASSERT_NE(request, nullptr) << r.text();
  const auto* headers = member(*request, "headers");
  ASSERT_NE(headers, nullptr) << r.text();
  EXPECT_EQ(as_text(member(*headers, "x-from-transformer")), "1") << r.text();
}

TEST_F(PluginsTest, RouteOverridesServiceOverridesGlobal) {
  start(R"(
plugins:
  - name: request-termination
    config: {status_code: 451, message: global}
  - name: request-termination
    route: b-special
    config: {status_code: 409, message: top-level-route}
services:
  - name: svc-a
    url: http://127.0.0.1:{{UP}}
    plugins:
      - name: request-termination
        config: {status_code: 403, message: service}
    routes:
      - name: a-route
        paths: ["/a/route"]
        plugins:
          - name: request-termination
            config: {status_code: 418, message: route}
      - name: a-plain
        paths: ["/a/plain"]
  - name: svc-b
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: b-plain
        paths: ["/b/plain"]
      - name: b-special
        paths: ["/b/special"]
)");
  struct Case {
    const char* path;
    int status;
    const char* message;
  };
  const Case cases[] = {
      {"/a/route", 418, "route"},
      {"/a/plain", 403, "service"},
      {"/b/plain", 451, "global"},
      {"/b/special", 409, "top-level-route"},
  };
  for (const auto& c : cases) {
    Response r = get(c.path);
    ASSERT_TRUE(r.ok()) << c.path << ": " << r.error;
    EXPECT_EQ(r.status, c.status) << c.path << " -> " << r.describe();
    EXPECT_EQ(json_message(r.text()), c.message) << c.path << " -> " << r.text();
  }
  EXPECT_EQ(up_.request_count(), 0u);
}

}  // namespace
}  // namespace portico::integration
