// A route's `timeout` and Envoy-style `retry_policy` through the real gateway: status retries,
// exhaustion, per-try timeouts moving to another target, the route deadline, resets, request bodies
// that can or cannot be replayed, no retry once the response started, Retry-After, and the
// examples/retries.yaml translation of the seed's Envoy route.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <thread>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

// One service on `up` (Kong `retries: 0`, so only the route's policy retries) with one route on
// /r whose extra fields are `route_fields` (eight-space indentation).
std::string one_service(const Upstream& up, std::string_view route_fields) {
  return config_prelude() + render(R"(
services:
  - name: s
    url: http://127.0.0.1:{{PORT}}
    retries: 0
    routes:
      - name: r
        paths: ["/r"]
)",
                                   {{"PORT", std::to_string(up.port())}}) +
         std::string(route_fields);
}

// A handler that answers from `script` by request number (0-based), the last entry repeating.
UpstreamHandler scripted(std::vector<UpstreamResponse> script) {
  auto calls = std::make_shared<std::atomic<size_t>>(0);
  return [calls, script = std::move(script)](const RecordedRequest&) {
    size_t n = (*calls)++;
    return script[std::min(n, script.size() - 1)];
  };
}

UpstreamResponse status(int code, std::string body = {}) {
  UpstreamResponse r;
  r.status = code;
  r.body = std::move(body);
  return r;
}

TEST(RetryTest, A503ThenA200GivesThe200) {
  Upstream up;
  up.set_handler(scripted({status(503, "busy"), status(200, "fine")}));
  Gateway gw(one_service(up, R"(        retry_policy:
          retry_on: 5xx
          num_retries: 2
          retry_back_off: {base_interval: 10ms}
)"));
  Response r = fetch(gw.port(), http_request("GET", "/r"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.text(), "fine");
  EXPECT_EQ(up.request_count(), 2u);
  // The retry is counted in the admin API's counters.
  Response status_page = fetch(gw.admin_port(), http_request("GET", "/status"));
  auto doc = parse_json(status_page.text());
  ASSERT_TRUE(doc && doc->is_object()) << status_page.describe();
  EXPECT_EQ(doc->as_object().at("counters").as_object().at("upstream_retries").to_number<std::uint64_t>(), 1u);
}

TEST(RetryTest, ExhaustedRetriesReturnTheLast5xx) {
  Upstream up;
  auto calls = std::make_shared<std::atomic<int>>(0);
  up.set_handler([calls](const RecordedRequest&) {
    return status(502, "attempt " + std::to_string(++*calls));
  });
  Gateway gw(one_service(up, R"(        retry_policy:
          retry_on: [gateway-error]
          num_retries: 2
          retry_back_off: {base_interval: 5ms}
)"));
  Response r = fetch(gw.port(), http_request("GET", "/r"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_EQ(r.text(), "attempt 3");
  EXPECT_EQ(up.request_count(), 3u);

  // A status retry_on does not name is returned at once.
  up.set_handler([](const RecordedRequest&) { return status(500, "plain 500"); });
  Response plain = fetch(gw.port(), http_request("GET", "/r"));
  EXPECT_EQ(plain.status, 500);
  EXPECT_EQ(up.request_count(), 4u);
}

TEST(RetryTest, RetriableStatusCodesAndRetriable4xx) {
  Upstream up;
  up.set_handler(scripted({status(409), status(418), status(200, "ok")}));
  Gateway gw(one_service(up, R"(        retry_policy:
          retry_on: retriable-4xx,retriable-status-codes
          retriable_status_codes: [418]
          num_retries: 3
          retry_back_off: {base_interval: 5ms}
)"));
  Response r = fetch(gw.port(), http_request("GET", "/r"));
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(up.request_count(), 3u);
}

TEST(RetryTest, PerTryTimeoutMovesToTheOtherTarget) {
  Upstream a, b;
  // Whichever target gets the first request holds it for 3 s; every later request is answered.
  auto first = std::make_shared<std::atomic<bool>>(true);
  auto handler = [first](std::string name) {
    return [first, name](const RecordedRequest&) {
      UpstreamResponse r;
      r.body = name;
      if (first->exchange(false)) r.delay = Millis{3000};
      return r;
    };
  };
  a.set_handler(handler("a"));
  b.set_handler(handler("b"));
  Gateway gw(config_prelude() + render(R"(
upstreams:
  - name: pair
    targets:
      - {target: "127.0.0.1:{{A}}"}
      - {target: "127.0.0.1:{{B}}"}
services:
  - name: s
    host: pair
    retries: 0
    routes:
      - name: r
        paths: ["/r"]
        retry_policy:
          retry_on: 5xx
          num_retries: 1
          per_try_timeout: 300ms
          retry_back_off: {base_interval: 5ms}
)",
                                       {{"A", std::to_string(a.port())}, {"B", std::to_string(b.port())}}));
  auto t0 = Clock::now();
  Response r = fetch(gw.port(), http_request("GET", "/r"));
  long long elapsed = ms_since(t0);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_GE(elapsed, 280);
  EXPECT_LT(elapsed, 2500) << "the answer should come soon after per_try_timeout, not after the 3 s delay";
  // The retry went to the target that did not get the first attempt.
  EXPECT_EQ(a.request_count(), 1u);
  EXPECT_EQ(b.request_count(), 1u);
}

TEST(RetryTest, RouteTimeoutAnswers504) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse r;
    r.delay = Millis{3000};
    return r;
  });
  Gateway gw(one_service(up, R"(        timeout: 500ms
        retry_policy:
          retry_on: 5xx
          num_retries: 5
          per_try_timeout: 300ms
          retry_back_off: {base_interval: 5ms}
)"));
  auto t0 = Clock::now();
  Response r = fetch(gw.port(), http_request("GET", "/r"));
  long long elapsed = ms_since(t0);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 504) << r.describe();
  EXPECT_EQ(json_message(r.text()), "The upstream server is timed out");
  EXPECT_GE(elapsed, 450);
  EXPECT_LT(elapsed, 2500);
  // One attempt timed out at 300 ms; the retry was cut by the route's deadline at 500 ms.
  EXPECT_EQ(up.request_count(), 2u);
}

TEST(RetryTest, RouteTimeoutAloneBoundsTheServiceReadTimeout) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse r;
    r.delay = Millis{3000};
    return r;
  });
  Gateway gw(one_service(up, "        timeout: 400\n"));
  auto t0 = Clock::now();
  Response r = fetch(gw.port(), http_request("GET", "/r"));
  EXPECT_EQ(r.status, 504) << r.describe();
  EXPECT_LT(ms_since(t0), 2500);
  EXPECT_EQ(up.request_count(), 1u);
}

TEST(RetryTest, ResetBeforeTheHeadIsRetried) {
  Upstream up;
  UpstreamResponse reset;
  reset.reset_without_answer = true;
  up.set_handler(scripted({reset, status(200, "after reset")}));
  Gateway gw(one_service(up, R"(        retry_policy:
          retry_on: reset
          retry_back_off: {base_interval: 5ms}
)"));
  Response r = fetch(gw.port(), http_request("GET", "/r"));
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.text(), "after reset");
  EXPECT_EQ(up.request_count(), 2u);
}

TEST(RetryTest, ResetIsNotRetriedUnderConnectFailureOnly) {
  Upstream up;
  UpstreamResponse reset;
  reset.reset_without_answer = true;
  up.set_handler(scripted({reset, status(200)}));
  Gateway gw(one_service(up, R"(        retry_policy:
          retry_on: connect-failure
)"));
  Response r = fetch(gw.port(), http_request("GET", "/r"));
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_EQ(up.request_count(), 1u);
}

TEST(RetryTest, ConnectFailureMovesToTheLiveTarget) {
  Upstream live;
  live.set_handler([](const RecordedRequest&) { return status(200, "live"); });
  Gateway gw(config_prelude() + render(R"(
upstreams:
  - name: pair
    targets:
      - {target: "127.0.0.1:{{DEAD}}"}
      - {target: "127.0.0.1:{{LIVE}}"}
services:
  - name: s
    host: pair
    retries: 0
    routes:
      - name: r
        paths: ["/r"]
        retry_policy: {retry_on: connect-failure, retry_back_off: {base_interval: 5ms}}
)",
                                       {{"DEAD", std::to_string(closed_port())},
                                        {"LIVE", std::to_string(live.port())}}));
  for (int i = 0; i < 6; ++i) {
    Response r = fetch(gw.port(), http_request("GET", "/r"));
    EXPECT_EQ(r.status, 200) << i << ": " << r.describe();
  }
  EXPECT_EQ(live.request_count(), 6u);
}

TEST(RetryTest, PostBodyIsReplayedOnlyWhenHeld) {
  Upstream up;
  auto calls = std::make_shared<std::atomic<int>>(0);
  // Odd requests fail, even ones succeed: each client request meets a 503 first.
  up.set_handler([calls](const RecordedRequest&) {
    return (++*calls) % 2 == 1 ? status(503, "busy") : status(200, "stored");
  });
  Gateway gw(one_service(up, R"(        retry_policy:
          retry_on: 5xx
          retry_back_off: {base_interval: 5ms}
)"));
  // A small Content-Length body is held and sent again in full.
  const std::string body = pattern(0, 3000);
  Response r = fetch(gw.port(), http_request("POST", "/r", {{"Content-Type", "text/plain"}}, body));
  EXPECT_EQ(r.status, 200) << r.describe();
  ASSERT_EQ(up.request_count(), 2u);
  for (const auto& req : up.requests()) {
    EXPECT_TRUE(req.complete);
    EXPECT_EQ(req.body.size, body.size());
    EXPECT_EQ(req.body.data, body);
  }

  // A chunked body streams and is not replayed: the 503 is the answer.
  Response c = fetch(gw.port(), http_request("POST", "/r", {{"Transfer-Encoding", "chunked"}},
                                             chunked(body, 1000)));
  EXPECT_EQ(c.status, 503) << c.describe();
  EXPECT_EQ(up.request_count(), 3u);

  // A body larger than what is held (64 KiB) is not replayed either.
  *calls = 0;
  const std::string big = pattern(0, 100 * 1024);
  Response b = fetch(gw.port(), http_request("PUT", "/r", {}, big));
  EXPECT_EQ(b.status, 503) << b.describe();
  ASSERT_EQ(up.request_count(), 4u);
  EXPECT_EQ(up.requests().back().body.size, big.size());
}

TEST(RetryTest, ReplayBufferLimitIsConfigurable) {
  Upstream up;
  auto calls = std::make_shared<std::atomic<int>>(0);
  up.set_handler([calls](const RecordedRequest&) {
    return (++*calls) % 2 == 1 ? status(503, "busy") : status(200, "stored");
  });
  Gateway gw(one_service(up, R"(        retry_policy:
          retry_on: 5xx
          replay_buffer_limit: 1024
          retry_back_off: {base_interval: 5ms}
)"));
  // Within the limit: held and replayed.
  Response small = fetch(gw.port(), http_request("POST", "/r", {}, pattern(0, 1000)));
  EXPECT_EQ(small.status, 200) << small.describe();
  EXPECT_EQ(up.request_count(), 2u);
  // Over it: streamed, so the 503 is the answer.
  *calls = 0;
  Response big = fetch(gw.port(), http_request("POST", "/r", {}, pattern(0, 2000)));
  EXPECT_EQ(big.status, 503) << big.describe();
  EXPECT_EQ(up.request_count(), 3u);
}

TEST(RetryTest, NoRetryOnceTheResponseStarted) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse r;
    r.generated_body_size = 200000;
    r.reset_after_body_bytes = 1000;
    return r;
  });
  Gateway gw(one_service(up, R"(        retry_policy:
          retry_on: 5xx,reset
          num_retries: 3
          retry_back_off: {base_interval: 5ms}
)"));
  Response r = fetch(gw.port(), http_request("GET", "/r"));
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_FALSE(r.body.complete);
  std::this_thread::sleep_for(Millis{200});
  EXPECT_EQ(up.request_count(), 1u);
}

TEST(RetryTest, RetryAfterSecondsSetsTheWait) {
  Upstream up;
  UpstreamResponse busy = status(503, "busy");
  busy.headers = {{"Retry-After", "1"}};
  up.set_handler(scripted({busy, status(200, "rested")}));
  Gateway gw(one_service(up, R"(        retry_policy:
          retry_on: 5xx
          retry_back_off: {base_interval: 5ms, max_interval: 3s}
)"));
  auto t0 = Clock::now();
  Response r = fetch(gw.port(), http_request("GET", "/r"));
  long long elapsed = ms_since(t0);
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(up.request_count(), 2u);
  EXPECT_GE(elapsed, 950) << "Retry-After: 1 should hold the retry for a second";
  EXPECT_LT(elapsed, 4000);
}

TEST(RetryTest, RetryAfterHttpDateSetsTheWait) {
  Upstream up;
  up.set_handler([calls = std::make_shared<std::atomic<int>>(0)](const RecordedRequest&) {
    if ((*calls)++ > 0) return status(200, "rested");
    UpstreamResponse busy = status(503);
    std::time_t at = std::time(nullptr) + 2;
    char date[40];
    std::tm tm{};
    gmtime_r(&at, &tm);
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    busy.headers = {{"Retry-After", date}};
    return busy;
  });
  Gateway gw(one_service(up, R"(        retry_policy:
          retry_on: 5xx
          retry_back_off: {base_interval: 5ms, max_interval: 5s}
)"));
  auto t0 = Clock::now();
  Response r = fetch(gw.port(), http_request("GET", "/r"));
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(up.request_count(), 2u);
  // Two seconds ahead at one-second resolution: at least one second of waiting.
  EXPECT_GE(ms_since(t0), 900);
}

TEST(RetryTest, RetryAfterBeyondMaxIntervalIsNotRetried) {
  Upstream up;
  UpstreamResponse busy = status(503, "come back later");
  busy.headers = {{"Retry-After", "30"}};
  up.set_handler(scripted({busy, status(200)}));
  Gateway gw(one_service(up, R"(        retry_policy:
          retry_on: 5xx
          num_retries: 2
          retry_back_off: {base_interval: 5ms, max_interval: 1s}
)"));
  auto t0 = Clock::now();
  Response r = fetch(gw.port(), http_request("GET", "/r"));
  EXPECT_EQ(r.status, 503) << r.describe();
  EXPECT_EQ(r.header("Retry-After").value_or(""), "30");
  EXPECT_EQ(up.request_count(), 1u);
  EXPECT_LT(ms_since(t0), 1500);
}

// examples/retries.yaml: the seed's Envoy route (timeout 5s, retry_on 5xx,reset,connect-failure,
// num_retries 2, per_try_timeout 1s) in Portico's configuration, pointed at two local targets.
class RetriesExample : public ::testing::Test {
 protected:
  std::unique_ptr<Gateway> start(std::uint16_t first, std::uint16_t second) {
    std::string yaml = read_example("retries.yaml");
    for (auto [from, to] : {std::pair{"127.0.0.1:9001", first}, std::pair{"127.0.0.1:9002", second}}) {
      auto at = yaml.find(std::string("target: ") + from);
      EXPECT_NE(at, std::string::npos) << from;
      if (at != std::string::npos) yaml.replace(at + 8, std::string(from).size(), "127.0.0.1:" + std::to_string(to));
    }
    GatewayOptions o;
    o.extra_args = {"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--workers", "1"};
    return std::make_unique<Gateway>(yaml, o);
  }
  Response get() {
    return fetch(gw_->port(), http_request("GET", "/v1/orders/7", {}, {}, "api.example.com"));
  }
  std::unique_ptr<Gateway> gw_;
};

TEST_F(RetriesExample, A5xxTargetIsRetriedOnTheOther) {
  Upstream bad, good;
  bad.set_handler([](const RecordedRequest&) { return status(500, "bad"); });
  good.set_handler([](const RecordedRequest&) { return status(200, "good"); });
  gw_ = start(bad.port(), good.port());
  for (int i = 0; i < 4; ++i) {
    Response r = get();
    EXPECT_EQ(r.status, 200) << i << ": " << r.describe();
    EXPECT_EQ(r.text(), "good");
  }
  EXPECT_EQ(good.request_count(), 4u);
  EXPECT_EQ(good.requests().front().target, "/v1/orders/7");
  EXPECT_GE(bad.request_count(), 1u);
}

TEST_F(RetriesExample, ConnectFailureAndSilentTargetAreRetried) {
  Upstream good;
  good.set_handler([](const RecordedRequest&) { return status(200, "good"); });
  gw_ = start(closed_port(), good.port());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(get().status, 200) << i;

  // A target silent for longer than per_try_timeout (1s): answered by the other within ~1 s.
  Upstream silent;
  silent.set_handler([](const RecordedRequest&) {
    UpstreamResponse r;
    r.delay = Millis{4000};
    return r;
  });
  gw_ = start(silent.port(), good.port());
  auto t0 = Clock::now();
  for (int i = 0; i < 2; ++i) EXPECT_EQ(get().status, 200) << i;
  long long elapsed = ms_since(t0);
  EXPECT_GE(silent.request_count(), 1u);
  EXPECT_LT(elapsed, 3800) << "per_try_timeout should cut the silent attempt at 1 s";
}

TEST_F(RetriesExample, AllAttemptsFailingGiveTheLast5xxWithinTheRouteTimeout) {
  Upstream a, b;
  a.set_handler([](const RecordedRequest&) { return status(503, "a"); });
  b.set_handler([](const RecordedRequest&) { return status(503, "b"); });
  gw_ = start(a.port(), b.port());
  Response r = get();
  EXPECT_EQ(r.status, 503) << r.describe();
  EXPECT_EQ(a.request_count() + b.request_count(), 3u);  // num_retries: 2
}

}  // namespace
}  // namespace portico::integration
