// Host names in services and upstream targets, resolved by the gateway's own resolver against a
// DNS server started by the test (real UDP, real wire format): resolution before the first
// request, TTL-driven re-resolution that moves traffic to new addresses while requests are in
// flight (none fails, none is cut), a name that does not resolve (503, then recovery), names
// in upstream targets with their weights, and a reload that introduces a new name.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "harness/client.h"
#include "harness/fake_dns.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;

// `portico.dns` pointing at the fake server, without the machine's hosts file.
std::string dns_block(const FakeDns& dns, std::string_view extra = {}) {
  return "  dns:\n    resolvers: [\"" + dns.address() + "\"]\n    hosts_file: \"\"\n    timeout: 500\n" +
         std::string(extra);
}

std::string get(Gateway& gw, std::string_view path, int* status = nullptr) {
  Response r = fetch(gw.port(), http_request("GET", path));
  if (status) *status = r.ok() ? r.status : -1;
  return r.ok() ? r.text() : "<" + r.error + ">";
}

TEST(Dns, ServiceHostResolvesThroughTheConfiguredResolverBeforeTheFirstRequest) {
  FakeDns dns;
  Upstream up;
  up.set_handler(answer_with("backend"));
  dns.set("backend.test", {"127.0.0.1"}, 60);
  Gateway gw(config_prelude(dns_block(dns)) + render(R"(
services:
  - name: s
    url: http://backend.test:{{P}}
    routes:
      - paths: ["/"]
)",
                                                       {{"P", std::to_string(up.port())}}));
  // Resolution happened before the ready line: the very first request is served.
  int status = 0;
  EXPECT_EQ(get(gw, "/x", &status), "backend");
  EXPECT_EQ(status, 200);
  EXPECT_GE(dns.queries("backend.test"), 1);
  // The Host header names the service, not the address.
  ASSERT_EQ(up.requests().size(), 1u);
  EXPECT_EQ(up.requests()[0].header("host").value_or(""), "backend.test:" + std::to_string(up.port()));
}

// The headline case: the name moves from one address to another under continuous load on new
// and keep-alive connections, with slow requests in flight at the moment of the switch.
TEST(Dns, AddressChangeMovesTrafficWithoutFailingARequest) {
  FakeDns dns;
  Upstream before("127.0.0.1", 0);
  Upstream after("127.0.0.2", before.port());  // same port: only the address changes
  before.set_handler([](const RecordedRequest& r) {
    UpstreamResponse resp;
    resp.body = "before";
    if (r.target == "/slow") resp.delay = Millis{1500};
    return resp;
  });
  after.set_handler(answer_with("after"));
  dns.set("svc.test", {"127.0.0.1"}, 1);
  Gateway gw(config_prelude(dns_block(dns, "    min_ttl: 1\n")) + render(R"(
services:
  - name: s
    url: http://svc.test:{{P}}
    routes:
      - paths: ["/"]
)",
                                                                          {{"P", std::to_string(before.port())}}));
  ASSERT_EQ(get(gw, "/warm"), "before");

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0}, saw_after{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&, t] {
      std::optional<Client> keepalive;
      while (!stop) {
        Response r;
        if (t == 0) {
          r = fetch(gw.port(), http_request("GET", "/new-connection"));
        } else {
          if (!keepalive) keepalive.emplace(gw.port());
          r = keepalive->request(http_request("GET", "/keep-alive"));
          if (!r.ok()) keepalive.reset();
        }
        if (r.ok() && r.status == 200 && (r.text() == "before" || r.text() == "after")) {
          ++ok;
          if (r.text() == "after") ++saw_after;
        } else {
          ++failed;
          ADD_FAILURE() << "request failed during the change: " << r.describe();
        }
      }
    });
  }
  // Slow requests start on the old address just before the switch and must complete there.
  std::atomic<int> slow_ok{0};
  std::vector<std::thread> slow;
  for (int i = 0; i < 3; ++i) {
    slow.emplace_back([&] {
      Response r = fetch(gw.port(), http_request("GET", "/slow"), ReadOptions{.timeout = Millis{10000}});
      if (r.ok() && r.status == 200 && r.text() == "before") ++slow_ok;
    });
  }
  // Switch only once all three slow requests are on the old address.
  auto slow_on_before = [&] {
    int n = 0;
    for (const auto& r : before.requests()) n += r.target == "/slow";
    return n;
  };
  ASSERT_TRUE(eventually([&] { return slow_on_before() == 3; }, 5000ms));
  dns.set("svc.test", {"127.0.0.2"}, 1);
  const auto switched = std::chrono::steady_clock::now();

  // The new address takes over within the TTL plus one refresh.
  EXPECT_TRUE(eventually([&] { return after.request_count() > 0; }, 5000ms));
  const auto took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - switched);
  // Once switched, new requests keep going to the new address.
  std::this_thread::sleep_for(500ms);
  const size_t before_count = before.request_count();
  std::this_thread::sleep_for(700ms);
  stop = true;
  for (auto& c : clients) c.join();
  for (auto& s : slow) s.join();

  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 20);
  EXPECT_GT(saw_after.load(), 0);
  EXPECT_EQ(slow_ok.load(), 3) << "in-flight requests on the old address must finish there";
  EXPECT_LT(took.count(), 5000);
  // Old keep-alive connections may carry a request or two that had already picked the old
  // endpoint; after that the old address gets nothing.
  EXPECT_LE(before.request_count(), before_count + 3);

  Response status = fetch(gw.admin_port(), http_request("GET", "/status"));
  auto doc = parse_json(status.text());
  ASSERT_TRUE(doc.has_value()) << status.text();
  const auto& counters = doc->as_object().at("counters").as_object();
  EXPECT_GE(counters.at("endpoints_generation").as_int64(), 1);
  EXPECT_GE(counters.at("dns").as_object().at("changes").as_int64(), 2);
  EXPECT_NE(gw.logs().find("dns: svc.test -> 127.0.0.2"), std::string::npos) << gw.logs();
}

TEST(Dns, UnresolvableNameAnswers503AndRecoversWhenTheNameAppears) {
  FakeDns dns;
  Upstream up;
  up.set_handler(answer_with("late"));
  Gateway gw(config_prelude(dns_block(dns, "    not_found_ttl: 1\n")) + render(R"(
services:
  - name: s
    url: http://late.test:{{P}}
    routes:
      - paths: ["/"]
)",
                                                                           {{"P", std::to_string(up.port())}}));
  Response r = fetch(gw.port(), http_request("GET", "/"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 503);
  auto body = parse_json(r.text());
  ASSERT_TRUE(body.has_value()) << r.text();
  EXPECT_TRUE(json_string(*body, "message").has_value());
  EXPECT_NE(gw.logs().find("late.test"), std::string::npos);

  dns.set("late.test", {"127.0.0.1"}, 60);
  // The failed name is retried with backoff (1 s, 2 s, 4 s, ...), so it appears within seconds.
  EXPECT_TRUE(eventually([&] { return get(gw, "/") == "late"; }, 20000ms));
}

TEST(Dns, UpstreamTargetNamesBalanceWithTheirWeights) {
  FakeDns dns;
  Upstream a, b;
  a.set_handler(answer_with("a"));
  b.set_handler(answer_with("b"));
  dns.set("a.test", {"127.0.0.1"}, 60);
  Gateway gw(config_prelude(dns_block(dns)) + render(R"(
upstreams:
  - name: pool
    targets:
      - {target: "a.test:{{PA}}", weight: 300}
      - {target: "127.0.0.1:{{PB}}", weight: 100}
services:
  - name: s
    host: pool
    routes:
      - paths: ["/"]
)",
                                                       {{"PA", std::to_string(a.port())}, {"PB", std::to_string(b.port())}}),
             GatewayOptions{.extra_args = {"--workers", "1"}});
  std::map<std::string, int> seen;
  for (int i = 0; i < 40; ++i) ++seen[get(gw, "/")];
  EXPECT_EQ(seen["a"], 30);
  EXPECT_EQ(seen["b"], 10);
}

TEST(Dns, ReloadWithANewNameGoesLiveOnceItResolves) {
  FakeDns dns;
  Upstream one, two;
  one.set_handler(answer_with("one"));
  two.set_handler(answer_with("two"));
  dns.set("one.test", {"127.0.0.1"}, 60);
  dns.set("two.test", {"127.0.0.1"}, 60);
  const std::string prelude = config_prelude(dns_block(dns));
  auto config_for = [&](const std::string& name, uint16_t port) {
    return prelude + render(R"(
services:
  - name: s
    url: http://{{NAME}}:{{P}}
    routes:
      - paths: ["/"]
)",
                            {{"NAME", name}, {"P", std::to_string(port)}});
  };
  Gateway gw(config_for("one.test", one.port()));
  ASSERT_EQ(get(gw, "/"), "one");
  // The new name answers only on the second try (the first is lost, 500 ms timeout): until
  // then the running config keeps serving, and no request sees a half-applied one.
  dns.drop_next("two.test", 2);  // the A and AAAA queries of the first try
  {
    std::ofstream f(gw.config_path(), std::ios::trunc);
    f << config_for("two.test", two.port());
  }
  ASSERT_EQ(::kill(gw.pid(), SIGHUP), 0);
  int served_one = 0;
  bool switched = eventually(
      [&] {
        int status = 0;
        std::string body = get(gw, "/", &status);
        if (body == "one") ++served_one;
        EXPECT_TRUE(status == 200 && (body == "one" || body == "two")) << status << " " << body;
        return body == "two";
      },
      10000ms);
  EXPECT_TRUE(switched);
  EXPECT_GT(served_one, 0) << "the old config should serve while the new name resolves";
  EXPECT_GE(dns.queries("two.test"), 2);
  EXPECT_EQ(get(gw, "/"), "two");
}

}  // namespace
}  // namespace portico::integration
