// Overload protection through the real gateway: `portico.limits.max_connections` pauses a worker's
// accept loop (a connection beyond it waits in the backlog and is served once another closes, or
// once a reload lifts the limit), `portico.limits.max_concurrent_requests` answers 503 at once
// instead of queueing, and an upstream circuit breaker at its connection limit answers 503 at once
// instead of stalling; the counters in /status.

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using Clock = std::chrono::steady_clock;

// One worker (the limits are per worker) with `limits` as the `portico.limits` map, and one route
// on /r to `up` (Kong `retries: 0`).
std::string limited_config(const Upstream& up, std::string_view limits) {
  return render(R"(_format_version: "3.0"
portico:
  listen: ["127.0.0.1:0"]
  admin_listen: "127.0.0.1:0"
  workers: 1
  access_log: stdout
  limits: {{LIMITS}}
services:
  - name: s
    url: http://127.0.0.1:{{PORT}}
    retries: 0
    routes:
      - name: r
        paths: ["/r"]
)",
                {{"PORT", std::to_string(up.port())}, {"LIMITS", std::string(limits)}});
}

UpstreamResponse slow(int delay_ms) {
  UpstreamResponse r;
  r.status = 200;
  r.body = "slow";
  r.delay = Millis(delay_ms);
  return r;
}

// A keep-alive connection that has been served once (so the worker has surely accepted it).
Client served_connection(std::uint16_t port) {
  Client c(port);
  Response r = c.request(http_request("GET", "/r"));
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_TRUE(c.idle_and_open());
  return c;
}

TEST(OverloadTest, MaxConnectionsPausesAcceptingUntilAConnectionCloses) {
  Upstream up;
  Gateway gw(limited_config(up, "{max_connections: 2}"));
  Client a = served_connection(gw.port());
  Client b = served_connection(gw.port());
  EXPECT_EQ(status_counter(gw, "accept_paused"), 1u);

  // The third connection completes in the kernel's backlog, but nobody reads its request ...
  Client c(gw.port());
  ASSERT_TRUE(c.send(http_request("GET", "/r")));
  Response waiting = c.read_response({.timeout = Millis(500)});
  EXPECT_FALSE(waiting.ok()) << "served beyond max_connections: " << waiting.describe();
  EXPECT_EQ(up.request_count(), 2u);

  // ... until one of the two closes: then it is accepted and served, in far less than a keep-alive
  // timeout.
  auto closed_at = Clock::now();
  a.close();
  Response served = c.read_response({.timeout = Millis(5000)});
  EXPECT_EQ(served.status, 200) << served.describe();
  EXPECT_LT(Clock::now() - closed_at, std::chrono::seconds(3));

  // The worker is full again (b and c): a fourth waits in turn, and none was dropped meanwhile.
  Response on_b = b.request(http_request("GET", "/r"));
  EXPECT_EQ(on_b.status, 200) << on_b.describe();
  Client d(gw.port());
  ASSERT_TRUE(d.send(http_request("GET", "/r")));
  EXPECT_FALSE(d.read_response({.timeout = Millis(300)}).ok());
  c.close();
  EXPECT_EQ(d.read_response({.timeout = Millis(5000)}).status, 200);
  EXPECT_EQ(status_counter(gw, "accept_paused"), 3u);
  EXPECT_EQ(status_counter(gw, "overload_rejected"), 0u);
}

TEST(OverloadTest, ReloadLiftingMaxConnectionsResumesAccepting) {
  Upstream up;
  Gateway gw(limited_config(up, "{max_connections: 1}"));
  Client a = served_connection(gw.port());
  Client c(gw.port());
  ASSERT_TRUE(c.send(http_request("GET", "/r")));
  EXPECT_FALSE(c.read_response({.timeout = Millis(300)}).ok());

  Headers h{{"Content-Type", "application/yaml"}};
  Response posted = fetch(gw.admin_port(), http_request("POST", "/config", h, limited_config(up, "{max_connections: 0}")),
                          {.timeout = Millis(15000)});
  ASSERT_EQ(posted.status, 201) << posted.describe();
  // The waiting connection is accepted without any connection closing.
  Response served = c.read_response({.timeout = Millis(5000)});
  EXPECT_EQ(served.status, 200) << served.describe();
  EXPECT_TRUE(a.idle_and_open());
  Response again = a.request(http_request("GET", "/r"));
  EXPECT_EQ(again.status, 200) << again.describe();
}

TEST(OverloadTest, MaxConcurrentRequestsAnswers503AtOnce) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) { return slow(2000); });
  Gateway gw(limited_config(up, "{max_concurrent_requests: 2}"));
  struct Outcome {
    Response response;
    Clock::duration took{};
    bool closed = false;
  };
  std::vector<Outcome> out(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < out.size(); ++i) {
    threads.emplace_back([&out, i, &gw] {
      Client client(gw.port());
      auto start = Clock::now();
      out[i].response = client.request(http_request("GET", "/r"), {.timeout = Millis(10000)});
      out[i].took = Clock::now() - start;
      out[i].closed = client.wait_closed(Millis(2000));
    });
  }
  for (auto& t : threads) t.join();

  size_t proxied = 0;
  size_t rejected = 0;
  for (const Outcome& o : out) {
    ASSERT_TRUE(o.response.ok()) << o.response.error;
    if (o.response.status == 200) {
      ++proxied;
      continue;
    }
    ++rejected;
    EXPECT_EQ(o.response.status, 503) << o.response.describe();
    // At once, not after the upstream's two seconds (coarse: loaded CI machines).
    EXPECT_LT(o.took, std::chrono::milliseconds(1000));
    EXPECT_EQ(o.response.header("X-Portico-Overloaded").value_or(""), "max_concurrent_requests");
    EXPECT_EQ(o.response.header("Connection").value_or(""), "close");
    EXPECT_TRUE(o.closed);
    auto doc = parse_json(o.response.text());
    ASSERT_TRUE(doc && doc->is_object()) << o.response.describe();
    EXPECT_EQ(doc->as_object().at("message").as_string(), "gateway overloaded: max_concurrent_requests");
  }
  EXPECT_EQ(proxied, 2u);
  EXPECT_EQ(rejected, 2u);
  EXPECT_EQ(up.request_count(), 2u);
  EXPECT_EQ(status_counter(gw, "overload_rejected"), 2u);
  EXPECT_EQ(status_counter(gw, "accept_paused"), 0u);

  // The places were given back.
  up.set_handler([](const RecordedRequest&) { return slow(0); });
  for (int i = 0; i < 3; ++i) {
    Response r = fetch(gw.port(), http_request("GET", "/r"));
    EXPECT_EQ(r.status, 200) << r.describe();
  }
}

// An upstream whose circuit breaker allows one connection, held by a slow request: a second
// request cannot open another and is answered 503 at once rather than waiting for the first.
TEST(OverloadTest, UpstreamConnectionLimitAnswers503AtOnce) {
  Upstream up;
  up.set_handler([](const RecordedRequest& req) { return slow(req.target.find("slow") != std::string::npos ? 2000 : 0); });
  Gateway gw(render(R"(_format_version: "3.0"
portico:
  listen: ["127.0.0.1:0"]
  admin_listen: "127.0.0.1:0"
  workers: 1
upstreams:
  - name: up
    circuit_breakers: {max_connections: 1}
    targets: [{target: "127.0.0.1:{{PORT}}"}]
services:
  - name: s
    host: up
    retries: 0
    routes:
      - name: r
        paths: ["/r"]
)",
                    {{"PORT", std::to_string(up.port())}}));
  std::thread held([&] {
    Response r = fetch(gw.port(), http_request("GET", "/r/slow"), {.timeout = Millis(10000)});
    EXPECT_EQ(r.status, 200) << r.describe();
  });
  ASSERT_TRUE(up.wait_for_requests(1, Millis(5000)));
  auto start = Clock::now();
  Response r = fetch(gw.port(), http_request("GET", "/r"), {.timeout = Millis(10000)});
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1000));
  EXPECT_EQ(r.status, 503) << r.describe();
  EXPECT_EQ(r.header("X-Portico-Overloaded").value_or(""), "max_connections") << r.describe();
  held.join();
  EXPECT_EQ(up.request_count(), 1u);
}

}  // namespace
}  // namespace portico::integration
