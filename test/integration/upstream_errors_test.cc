// What the client sees when the upstream fails: refused (502), too slow (504), connection
// failures and Kong's `retries`, garbage instead of HTTP, and a reset in the middle of a body
// (the client connection must be closed, never left hanging).

#include <gtest/gtest.h>

#include <atomic>
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

constexpr const char* kBadGateway = "An invalid response was received from the upstream server";
constexpr const char* kTimedOut = "The upstream server is timed out";

std::string service_config(std::uint16_t port, std::string_view service_extra) {
  return config_prelude() + render(R"(
services:
  - name: svc
    url: http://127.0.0.1:{{PORT}}
{{EXTRA}}    routes:
      - name: all
        paths: ["/"]
        strip_path: false
)",
                                   {{"PORT", std::to_string(port)}, {"EXTRA", std::string(service_extra)}});
}

void expect_json_error(const Response& r, int status, const char* message) {
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, status) << r.describe();
  auto ct = r.header("Content-Type");
  EXPECT_TRUE(ct && ct->find("application/json") != std::string::npos) << r.raw_head;
  EXPECT_EQ(json_message(r.text()), message) << r.text();
}

TEST(UpstreamErrorsTest, RefusedConnectionIs502Json) {
  Gateway gw(service_config(closed_port(), "    retries: 0\n"));
  Response r = fetch(gw.port(), http_request("GET", "/refused"));
  expect_json_error(r, 502, kBadGateway);
}

TEST(UpstreamErrorsTest, UnresolvableServiceHostIs503Json) {
  // Kong answers 503 "name resolution failed" when a service's host has no address; the rest of
  // the gateway keeps working.
  Gateway gw(config_prelude() + R"(
services:
  - name: nowhere
    url: http://nonexistent.invalid:9000
    routes:
      - name: r
        paths: ["/"]
)");
  Response r = fetch(gw.port(), http_request("GET", "/x"));
  expect_json_error(r, 503, "name resolution failed");
  Response again = fetch(gw.port(), http_request("GET", "/y"));
  expect_json_error(again, 503, "name resolution failed");
}

TEST(UpstreamErrorsTest, RefusedWithRetriesStillEndsIn502Quickly) {
  Gateway gw(service_config(closed_port(), "    retries: 5\n    connect_timeout: 1000\n"));
  auto start = Clock::now();
  Response r = fetch(gw.port(), http_request("GET", "/refused"));
  expect_json_error(r, 502, kBadGateway);
  EXPECT_LT(Clock::now() - start, 3s);
}

TEST(UpstreamErrorsTest, SlowUpstreamTimesOutWith504) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse resp;
    resp.delay = 10s;
    return resp;
  });
  Gateway gw(service_config(up.port(), "    read_timeout: 300\n    retries: 0\n"));
  auto start = Clock::now();
  Response r = fetch(gw.port(), http_request("GET", "/slow"), {.timeout = 5s});
  auto elapsed = Clock::now() - start;
  expect_json_error(r, 504, kTimedOut);
  EXPECT_GE(elapsed, 250ms) << "timed out before read_timeout";
  EXPECT_LT(elapsed, 2s) << "504 took "
                         << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms";
}

TEST(UpstreamErrorsTest, AnswersWithinReadTimeoutOnAPooledConnectionAreNotTimedOut) {
  // The timer is per request: three answers 200 ms late each stay under a 500 ms read_timeout
  // even though together they exceed it.
  Upstream up;
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse resp;
    resp.delay = 200ms;
    resp.body = "late but steady";
    return resp;
  });
  Gateway gw(service_config(up.port(), "    read_timeout: 500\n    retries: 0\n"));
  Client c(gw.port());
  for (int i = 0; i < 3; ++i) {
    Response r = c.request(http_request("GET", "/steady"));
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, 200) << r.describe();
  }
}

TEST(UpstreamErrorsTest, UpstreamClosingWithoutAnswerIs502) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse resp;
    resp.close_without_answer = true;
    return resp;
  });
  Gateway gw(service_config(up.port(), "    retries: 0\n"));
  Response r = fetch(gw.port(), http_request("GET", "/silent"));
  expect_json_error(r, 502, kBadGateway);
  EXPECT_EQ(up.request_count(), 1u);
}

TEST(UpstreamErrorsTest, GarbageInsteadOfHttpIs502) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse resp;
    resp.raw = "THIS IS NOT HTTP\r\n\r\n";
    resp.close_after = true;
    return resp;
  });
  Gateway gw(service_config(up.port(), "    retries: 0\n"));
  Response r = fetch(gw.port(), http_request("GET", "/garbage"));
  expect_json_error(r, 502, kBadGateway);
}

TEST(UpstreamErrorsTest, ConnectionFailuresAreRetriedUpToRetries) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse resp;
    resp.reset_without_answer = true;
    return resp;
  });
  Gateway gw(service_config(up.port(), "    retries: 3\n"));
  Response r = fetch(gw.port(), http_request("GET", "/flaky"));
  expect_json_error(r, 502, kBadGateway);
  EXPECT_EQ(up.request_count(), 4u) << "retries: 3 means 1 try + 3 retries of an idempotent GET";
}

TEST(UpstreamErrorsTest, ARetryCanSucceed) {
  Upstream up;
  auto calls = std::make_shared<std::atomic<int>>(0);
  up.set_handler([calls](const RecordedRequest&) {
    UpstreamResponse resp;
    if ((*calls)++ == 0) resp.reset_without_answer = true;
    resp.body = "second time lucky";
    return resp;
  });
  Gateway gw(service_config(up.port(), "    retries: 2\n"));
  Response r = fetch(gw.port(), http_request("GET", "/flaky"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.text(), "second time lucky");
  EXPECT_EQ(up.request_count(), 2u);
}

TEST(UpstreamErrorsTest, NoRetriesMeansOneAttempt) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse resp;
    resp.reset_without_answer = true;
    return resp;
  });
  Gateway gw(service_config(up.port(), "    retries: 0\n"));
  Response r = fetch(gw.port(), http_request("GET", "/flaky"));
  expect_json_error(r, 502, kBadGateway);
  EXPECT_EQ(up.request_count(), 1u);
}

// The upstream sends the head and part of the body, then resets. The status line may already be
// with the client, so the only honest signal left is closing the client connection early.
void expect_truncated_and_closed(Framing framing) {
  Upstream up;
  up.set_handler([framing](const RecordedRequest&) {
    UpstreamResponse resp;
    resp.generated_body_size = 1 << 20;
    resp.framing = framing;
    resp.reset_after_body_bytes = 5000;
    return resp;
  });
  Gateway gw(service_config(up.port(), "    retries: 0\n"));
  Client c(gw.port());
  auto start = Clock::now();
  Response r = c.request(http_request("GET", "/reset"), {.timeout = 5s, .store_limit = 0});
  if (r.ok()) {
    // Only acceptable if the gateway had not started the response yet.
    EXPECT_EQ(r.status, 502) << "a truncated upstream body was delivered as complete: " << r.describe();
  } else {
    EXPECT_EQ(r.error.find("timeout"), std::string::npos)
        << "client left hanging after the upstream reset: " << r.error;
    EXPECT_LT(r.body.size, std::uint64_t{1} << 20);
  }
  EXPECT_TRUE(c.wait_closed(2s)) << "client connection still open after a truncated response";
  EXPECT_LT(Clock::now() - start, 4s);
}

TEST(UpstreamErrorsTest, ResetMidContentLengthBodyClosesTheClientConnection) {
  expect_truncated_and_closed(Framing::kContentLength);
}

TEST(UpstreamErrorsTest, ResetMidChunkedBodyClosesTheClientConnection) {
  expect_truncated_and_closed(Framing::kChunked);
}

}  // namespace
}  // namespace portico::integration
