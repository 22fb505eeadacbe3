// Basic proxying through the real gateway: methods and bodies pass through, routing by path,
// host and method, strip_path/preserve_host, the headers a proxy adds (X-Forwarded-*, X-Real-IP,
// Via, X-Request-Id) and the hop-by-hop headers it must drop, and Kong's 404 for no route.

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <chrono>
#include <memory>
#include <thread>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/temp_dir.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kServices = R"(
services:
  - name: echo
    url: http://127.0.0.1:{{UP}}/base
    routes:
      - name: strip
        paths: ["/api"]
        strip_path: true
      - name: nostrip
        paths: ["/keep"]
        strip_path: false
      - name: hosted
        paths: ["/h"]
        hosts: ["example.com", "*.example.org"]
      - name: getonly
        paths: ["/getonly"]
        methods: ["GET"]
      - name: preserve
        paths: ["/preserve"]
        preserve_host: true
  - name: rootsvc
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: root-strip
        paths: ["/root"]
        strip_path: true
  - name: slashsvc
    url: http://127.0.0.1:{{UP}}/slash/
    routes:
      - name: slash-strip
        paths: ["/sl"]
        strip_path: true
)";

class ProxyBasicTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gw_ = std::make_unique<Gateway>(
        config_prelude() + render(kServices, {{"UP", std::to_string(up_.port())}}));
  }

  Response get(std::string_view target, Headers headers = {}, std::string_view host = "localhost") {
    return fetch(gw_->port(), http_request("GET", target, headers, {}, host));
  }

  // The single request the upstream saw (fails the test if it saw a different number).
  RecordedRequest only_request() {
    EXPECT_TRUE(up_.wait_for_requests(1, 2s)) << "upstream saw no request";
    auto reqs = up_.requests();
    EXPECT_EQ(reqs.size(), 1u) << "upstream saw " << reqs.size() << " requests";
    return reqs.empty() ? RecordedRequest{} : reqs.back();
  }

  Upstream up_;
  std::unique_ptr<Gateway> gw_;
};

TEST_F(ProxyBasicTest, GetIsProxiedAndResponsePassesThrough) {
  up_.set_handler([](const RecordedRequest&) {
    UpstreamResponse r;
    r.status = 201;
    r.headers = {{"X-Up", "1"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}, {"Content-Type", "text/plain"}};
    r.body = "hello from upstream";
    return r;
  });
  Response r = get("/api/x");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.text(), "hello from upstream");
  EXPECT_EQ(r.header("X-Up"), "1");
  EXPECT_EQ(r.header("Content-Type"), "text/plain");
  EXPECT_EQ(find_headers(r.headers, "Set-Cookie"), (std::vector<std::string>{"a=1", "b=2"}));
  RecordedRequest req = only_request();
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/base/x");
  EXPECT_EQ(req.version, "HTTP/1.1");
}

TEST_F(ProxyBasicTest, PostBodyIsForwarded) {
  Response r = fetch(gw_->port(), http_request("POST", "/api/submit",
                                               {{"Content-Type", "application/x-www-form-urlencoded"}},
                                               "hello=world&x=1"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  RecordedRequest req = only_request();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.body.data, "hello=world&x=1");
  EXPECT_EQ(req.header("Content-Length"), "15");
  EXPECT_EQ(req.header("Content-Type"), "application/x-www-form-urlencoded");
}

TEST_F(ProxyBasicTest, CurlThroughTheGateway) {
  RunResult r = run_curl({"-s", "-S", "-o", "-", "-w", " %{http_code}",
                          "http://127.0.0.1:" + std::to_string(gw_->port()) + "/api/curl"});
  EXPECT_EQ(r.exit_code(), 0) << r.err;
  EXPECT_EQ(r.out, "ok 200");
  EXPECT_EQ(only_request().target, "/base/curl");
}

struct PathCase {
  const char* request;
  const char* upstream;
};

TEST_F(ProxyBasicTest, StripPathVariants) {
  const PathCase cases[] = {
      {"/api/x", "/base/x"},          // strip_path: route prefix removed, service path prepended
      {"/api/x/y/", "/base/x/y/"},
      {"/api", "/base"},              // nothing left after the prefix
      {"/api/", "/base/"},
      {"/keep/x", "/base/keep/x"},    // strip_path: false keeps the route prefix
      {"/root/x", "/x"},              // service without a path
      {"/root", "/"},
      {"/sl/x", "/slash/x"},          // service path ending in '/': no double slash
  };
  for (const auto& c : cases) {
    std::size_t before = up_.request_count();
    Response r = get(c.request);
    ASSERT_TRUE(r.ok()) << c.request << ": " << r.error;
    EXPECT_EQ(r.status, 200) << c.request;
    ASSERT_TRUE(up_.wait_for_requests(before + 1, 2s)) << c.request;
    EXPECT_EQ(up_.requests().back().target, c.upstream) << "request " << c.request;
  }
}

TEST_F(ProxyBasicTest, QueryStringPassesThroughUnchanged) {
  const PathCase cases[] = {
      {"/api/x?a=1&b=%20c&a=2", "/base/x?a=1&b=%20c&a=2"},
      {"/api?q=1", "/base?q=1"},
      {"/root/s?x=%2F%3F&empty=&flag", "/s?x=%2F%3F&empty=&flag"},
  };
  for (const auto& c : cases) {
    std::size_t before = up_.request_count();
    Response r = get(c.request);
    ASSERT_TRUE(r.ok()) << c.request << ": " << r.error;
    ASSERT_TRUE(up_.wait_for_requests(before + 1, 2s)) << c.request;
    EXPECT_EQ(up_.requests().back().target, c.upstream) << "request " << c.request;
  }
}

TEST_F(ProxyBasicTest, EndToEndRequestHeadersAreForwardedInOrder) {
  Response r = get("/api/h", {{"X-Custom", "value 1"},
                              {"X-Multi", "first"},
                              {"User-Agent", "portico-it/1"},
                              {"X-Multi", "second"},
                              {"Accept", "*/*"}});
  ASSERT_TRUE(r.ok()) << r.error;
  RecordedRequest req = only_request();
  EXPECT_EQ(req.header("X-Custom"), "value 1");
  EXPECT_EQ(req.header("User-Agent"), "portico-it/1");
  EXPECT_EQ(req.header("Accept"), "*/*");
  // Repeated fields may be kept apart or combined with ", " (RFC 9110 5.3), in order.
  auto multi = find_headers(req.headers, "X-Multi");
  std::string joined;
  for (const auto& v : multi) joined += (joined.empty() ? "" : ", ") + v;
  EXPECT_EQ(joined, "first, second");
}

TEST_F(ProxyBasicTest, HopByHopRequestHeadersNeverReachTheUpstream) {
  Response r = get("/api/hop", {{"Connection", "keep-alive, X-Secret-Hop"},
                                {"X-Secret-Hop", "must not pass"},
                                {"Keep-Alive", "timeout=5, max=100"},
                                {"Proxy-Connection", "keep-alive"},
                                {"TE", "trailers"},
                                {"Trailer", "X-Never"},
                                {"Upgrade", "h2c"},
                                {"X-End-To-End", "kept"}});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  RecordedRequest req = only_request();
  for (const char* name : {"X-Secret-Hop", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade"})
    EXPECT_FALSE(req.header(name).has_value()) << name << " reached the upstream:\n" << req.raw_head;
  EXPECT_FALSE(header_has_token(req.headers, "Connection", "X-Secret-Hop")) << req.raw_head;
  EXPECT_EQ(req.header("X-End-To-End"), "kept");
}

TEST_F(ProxyBasicTest, HopByHopResponseHeadersNeverReachTheClient) {
  up_.set_handler([](const RecordedRequest&) {
    UpstreamResponse r;
    r.headers = {{"Connection", "X-Resp-Hop"},
                 {"X-Resp-Hop", "secret"},
                 {"Keep-Alive", "timeout=5, max=7"},
                 {"Proxy-Connection", "keep-alive"},
                 {"Upgrade", "h2c"},
                 {"X-End-To-End", "kept"}};
    r.body = "body";
    return r;
  });
  Response r = get("/api/hop");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.text(), "body");
  EXPECT_FALSE(r.has_header("X-Resp-Hop")) << r.raw_head;
  EXPECT_FALSE(r.has_header("Proxy-Connection")) << r.raw_head;
  EXPECT_FALSE(r.has_header("Upgrade")) << r.raw_head;
  EXPECT_NE(r.header("Keep-Alive"), "timeout=5, max=7") << r.raw_head;
  EXPECT_FALSE(header_has_token(r.headers, "Connection", "X-Resp-Hop")) << r.raw_head;
  EXPECT_EQ(r.header("X-End-To-End"), "kept");
}

TEST_F(ProxyBasicTest, ForwardedHeadersDescribeTheClient) {
  Response r = get("/api/fwd", {}, "example.com");
  ASSERT_TRUE(r.ok()) << r.error;
  RecordedRequest req = only_request();
  EXPECT_EQ(req.header("X-Forwarded-For"), "127.0.0.1") << req.raw_head;
  EXPECT_EQ(req.header("X-Forwarded-Proto"), "http") << req.raw_head;
  EXPECT_EQ(req.header("X-Forwarded-Host"), "example.com") << req.raw_head;
  EXPECT_EQ(req.header("X-Forwarded-Port"), std::to_string(gw_->port())) << req.raw_head;
  EXPECT_EQ(req.header("X-Real-IP"), "127.0.0.1") << req.raw_head;
}

TEST_F(ProxyBasicTest, XForwardedForAppendsTheClientToTheIncomingValue) {
  Response r = get("/api/fwd", {{"X-Forwarded-For", "10.0.0.1, 10.0.0.2"}});
  ASSERT_TRUE(r.ok()) << r.error;
  RecordedRequest req = only_request();
  EXPECT_EQ(req.header_count("X-Forwarded-For"), 1u) << req.raw_head;
  EXPECT_EQ(req.header("X-Forwarded-For"), "10.0.0.1, 10.0.0.2, 127.0.0.1") << req.raw_head;
}

TEST_F(ProxyBasicTest, SpoofedForwardedHeadersFromAnUntrustedClientAreReplaced) {
  // Kong's default trusted_ips is empty: what the client claims about scheme, host, port and
  // real IP is overwritten (only X-Forwarded-For is appended to).
  Response r = get("/api/fwd", {{"X-Forwarded-Proto", "https"},
                                {"X-Forwarded-Host", "evil.example"},
                                {"X-Forwarded-Port", "1"},
                                {"X-Real-IP", "6.6.6.6"}},
                   "example.com");
  ASSERT_TRUE(r.ok()) << r.error;
  RecordedRequest req = only_request();
  EXPECT_EQ(find_headers(req.headers, "X-Forwarded-Proto"), std::vector<std::string>{"http"}) << req.raw_head;
  EXPECT_EQ(find_headers(req.headers, "X-Forwarded-Host"), std::vector<std::string>{"example.com"}) << req.raw_head;
  EXPECT_EQ(find_headers(req.headers, "X-Forwarded-Port"),
            std::vector<std::string>{std::to_string(gw_->port())}) << req.raw_head;
  EXPECT_EQ(find_headers(req.headers, "X-Real-IP"), std::vector<std::string>{"127.0.0.1"}) << req.raw_head;
}

TEST_F(ProxyBasicTest, ViaNamesPortico) {
  Response r = get("/api/via");
  ASSERT_TRUE(r.ok()) << r.error;
  RecordedRequest req = only_request();
  auto via = req.header("Via");
  ASSERT_TRUE(via.has_value()) << req.raw_head;
  EXPECT_NE(to_lower(*via).find("portico"), std::string::npos) << *via;
}

TEST_F(ProxyBasicTest, RequestIdIsGeneratedWhenAbsent) {
  ASSERT_TRUE(get("/api/1").ok());
  ASSERT_TRUE(get("/api/2").ok());
  ASSERT_TRUE(up_.wait_for_requests(2, 2s));
  auto reqs = up_.requests();
  static const RE2 kUuid("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
  std::string ids[2];
  for (int i = 0; i < 2; ++i) {
    auto id = reqs[i].header("X-Request-Id");
    ASSERT_TRUE(id.has_value()) << reqs[i].raw_head;
    EXPECT_TRUE(RE2::FullMatch(*id, kUuid)) << "not a UUID: " << *id;
    ids[i] = *id;
  }
  EXPECT_NE(ids[0], ids[1]);
}

TEST_F(ProxyBasicTest, RequestIdIsKeptWhenPresent) {
  ASSERT_TRUE(get("/api/1", {{"X-Request-Id", "client-chosen-42"}}).ok());
  RecordedRequest req = only_request();
  EXPECT_EQ(find_headers(req.headers, "X-Request-Id"), std::vector<std::string>{"client-chosen-42"})
      << req.raw_head;
}

TEST_F(ProxyBasicTest, HostIsTheServiceHostUnlessPreserveHost) {
  ASSERT_TRUE(get("/api/host", {}, "client.example").ok());
  ASSERT_TRUE(get("/preserve/host", {}, "client.example").ok());
  ASSERT_TRUE(up_.wait_for_requests(2, 2s));
  auto reqs = up_.requests();
  EXPECT_EQ(find_headers(reqs[0].headers, "Host"),
            std::vector<std::string>{"127.0.0.1:" + std::to_string(up_.port())}) << reqs[0].raw_head;
  EXPECT_EQ(find_headers(reqs[1].headers, "Host"), std::vector<std::string>{"client.example"})
      << reqs[1].raw_head;
}

TEST_F(ProxyBasicTest, NoRouteIsKong404Json) {
  Response r = get("/nothing/here");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 404);
  auto ct = r.header("Content-Type");
  ASSERT_TRUE(ct.has_value());
  EXPECT_NE(ct->find("application/json"), std::string::npos) << *ct;
  EXPECT_EQ(json_message(r.text()), "no Route matched with those values") << r.text();
  EXPECT_EQ(up_.request_count(), 0u);
}

TEST_F(ProxyBasicTest, HostsMatching) {
  struct HostCase {
    const char* host;
    int status;
  };
  const HostCase cases[] = {
      {"example.com", 200},
      {"EXAMPLE.com", 200},        // host names are case-insensitive
      {"example.com:8000", 200},   // the port is not part of the match
      {"a.example.org", 200},      // wildcard
      {"example.org", 404},        // the wildcard needs a label in its place
      {"other.com", 404},
  };
  for (const auto& c : cases) {
    Response r = get("/h/x", {}, c.host);
    ASSERT_TRUE(r.ok()) << c.host << ": " << r.error;
    EXPECT_EQ(r.status, c.status) << "Host: " << c.host << " -> " << r.describe();
  }
}

TEST_F(ProxyBasicTest, MethodsMatching) {
  Response g = get("/getonly/x");
  ASSERT_TRUE(g.ok()) << g.error;
  EXPECT_EQ(g.status, 200);
  Response p = fetch(gw_->port(), http_request("POST", "/getonly/x", {}, "body"));
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.status, 404);
  EXPECT_EQ(json_message(p.text()), "no Route matched with those values") << p.text();
  EXPECT_EQ(up_.request_count(), 1u);
}

TEST_F(ProxyBasicTest, AccessLogHasOneJsonLinePerRequest) {
  TempDir dir;
  std::string log_path = dir.file("access.log");
  Gateway gw(render(R"(_format_version: "3.0"
portico:
  listen: ["127.0.0.1:0"]
  admin_listen: "127.0.0.1:0"
  workers: 2
  access_log: {{LOG}}
)",
                    {{"LOG", log_path}}) +
             render(kServices, {{"UP", std::to_string(up_.port())}}));
  Response r = fetch(gw.port(), http_request("POST", "/api/logged?q=1", {}, "12345"));
  ASSERT_TRUE(r.ok()) << r.error;
  RecordedRequest req = only_request();
  // The line is written after the response; poll for it with a deadline.
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while ((text = read_file(log_path)).find('\n') == std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no access log line in " << log_path;
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(text.find('\n'), text.size() - 1) << "expected exactly one line:\n" << text;
  std::string err;
  auto line = parse_json(text, &err);
  ASSERT_TRUE(line && line->is_object()) << err << ": " << text;
  const auto& o = line->as_object();
  for (const char* key : {"time", "client", "method", "path", "status", "bytes_sent", "bytes_received",
                          "route", "service", "upstream", "latency_ms", "gateway_ms", "upstream_ms",
                          "request_id"})
    EXPECT_TRUE(o.contains(key)) << key << " missing: " << text;
  EXPECT_EQ(json_string(*line, "client"), "127.0.0.1") << text;
  EXPECT_EQ(json_string(*line, "method"), "POST") << text;
  EXPECT_NE(json_string(*line, "path").value_or("").find("/api/logged"), std::string::npos) << text;
  EXPECT_EQ(json_string(*line, "route"), "strip") << text;
  EXPECT_EQ(json_string(*line, "service"), "echo") << text;
  EXPECT_EQ(json_string(*line, "upstream"), "127.0.0.1:" + std::to_string(up_.port())) << text;
  EXPECT_EQ(json_string(*line, "request_id"), req.header("X-Request-Id")) << text;
  if (o.contains("status")) {
    EXPECT_EQ(o.at("status").to_number<int>(), 200) << text;
  }
  if (o.contains("bytes_sent")) {
    EXPECT_GE(o.at("bytes_sent").to_number<double>(), r.raw_head.size() + 2) << text;
  }
  if (o.contains("bytes_received")) {
    EXPECT_GT(o.at("bytes_received").to_number<double>(), 5) << text;
  }
  if (o.contains("latency_ms")) {
    EXPECT_GE(o.at("latency_ms").to_number<double>(), 0) << text;
  }
}

}  // namespace
}  // namespace portico::integration
