// JwksSource driven directly: a real control io_context on its own thread fetching from a real
// local HTTP(S) server that serves JWK Sets generated here with OpenSSL. Shows the first fetch,
// Cache-Control freshness and its clamping, failures (500, garbage, too large, refused, bad
// certificate) keeping the last good set with counters and back-off, recovery, key rotation via
// on_unknown_kid(), the unknown-kid rate limit under a flood, sharing per settings, and stop() with
// a fetch in flight. Intervals are 1-2 s; every wait polls with a deadline.

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/jwt_test_support.h"
#include "filters/jwt/jwks_source.h"
#include "harness/jwks_server.h"
#include "harness/test_pki.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;
using filters::JwksSettings;
using filters::JwksSource;
using filters::JwksStatus;
using Clock = std::chrono::steady_clock;

std::string jwks_of(const std::vector<std::string>& jwks) {
  std::string out = "{\"keys\":[";
  for (size_t i = 0; i < jwks.size(); ++i) out += (i ? "," : "") + jwks[i];
  return out + "]}";
}

std::string ec_jwk(const std::string& kid) { return auth::test::public_jwk(auth::test::ec_p256(), kid, "ES256"); }
std::string rsa_jwk(const std::string& kid) { return auth::test::public_jwk(auth::test::rsa2048(), kid, "RS256"); }

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

bool has_kid(const std::shared_ptr<JwksSource>& s, const std::string& kid, auth::JwsAlg alg) {
  auto keys = s->keys();
  return keys && keys->find(kid, alg) != nullptr;
}

std::optional<JwksStatus> status_of(const std::string& uri) {
  for (auto& s : JwksSource::all_status()) {
    if (s.uri == uri) return s;
  }
  return std::nullopt;
}

JwksSettings settings_for(const std::string& uri) {
  JwksSettings s;
  s.uri = uri;
  s.default_max_age = 3600s;
  s.min_refresh_interval = 1s;
  s.max_refresh_interval = 3600s;
  s.timeout = 2000ms;
  return s;
}

// The control thread: an io_context with JwksSource started on it.
class JwksSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {}
  void TearDown() override { stop_control(); }

  void start_control() {
    guard_.emplace(io_.get_executor());
    done_ = std::async(std::launch::async, [this] { io_.run(); });
    JwksSource::start(io_);
  }
  // stop() and let the io_context run out of work; false if it did not within `timeout`.
  bool stop_control(std::chrono::milliseconds timeout = 5000ms) {
    if (!guard_) return true;
    JwksSource::stop();
    guard_.reset();
    bool ended = done_.wait_for(timeout) == std::future_status::ready;
    if (!ended) {
      io_.stop();
      done_.wait();
    }
    return ended;
  }

  boost::asio::io_context io_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_;
  std::future<void> done_;
};

TEST_F(JwksSourceTest, FirstFetchFillsKeys) {
  JwksServer jwks;
  jwks.answer(200, jwks_of({ec_jwk("ec-1"), rsa_jwk("rsa-1")}));
  start_control();
  auto source = JwksSource::shared(settings_for(jwks.uri()));
  ASSERT_TRUE(wait_until([&] { return source->keys() != nullptr; }, 5s)) << "no key set after 5 s";
  EXPECT_EQ(source->keys()->size(), 2u);
  EXPECT_TRUE(has_kid(source, "ec-1", auth::JwsAlg::kES256));
  EXPECT_TRUE(has_kid(source, "rsa-1", auth::JwsAlg::kRS256));

  auto reqs = jwks.server->requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/.well-known/jwks.json");
  auto st = status_of(jwks.uri());
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->fetches_ok, 1u);
  EXPECT_EQ(st->fetches_failed, 0u);
  EXPECT_EQ(st->keys, 2u);
  EXPECT_GE(st->seconds_since_good_fetch, 0);
  EXPECT_LE(st->seconds_since_good_fetch, 5);
  EXPECT_TRUE(st->last_error.empty());
}

TEST_F(JwksSourceTest, SourceBeforeStartWaitsThenFetches) {
  JwksServer jwks;
  jwks.answer(200, jwks_of({ec_jwk("ec-1")}));
  // What `portico check` does: compile, never start. Nothing is fetched, on_unknown_kid is inert.
  auto source = JwksSource::shared(settings_for(jwks.uri()));
  source->on_unknown_kid();
  EXPECT_FALSE(jwks.server->wait_for_requests(1, 300ms));
  EXPECT_EQ(source->keys(), nullptr);
  auto st = status_of(jwks.uri());
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->seconds_since_good_fetch, -1);
  EXPECT_EQ(st->unknown_kid_refreshes, 0u);

  start_control();
  ASSERT_TRUE(wait_until([&] { return source->keys() != nullptr; }, 5s));
  EXPECT_EQ(jwks.count(), 1u);
}

TEST_F(JwksSourceTest, MaxAgeDecidesTheNextFetch) {
  JwksServer jwks;
  jwks.answer(200, jwks_of({ec_jwk("ec-1")}), "public, max-age=1");
  start_control();
  auto settings = settings_for(jwks.uri());
  settings.default_max_age = 3600s;
  auto source = JwksSource::shared(settings);
  ASSERT_TRUE(jwks.wait_for_requests(3, 6s)) << "max-age=1 should refetch every second";
  auto t = jwks.request_times();
  for (size_t i = 1; i < t.size(); ++i) {
    EXPECT_GE(t[i] - t[i - 1], 900ms) << "fetch " << i << " came too early";
  }
  EXPECT_LT(t[2] - t[0], 4s);
}

TEST_F(JwksSourceTest, FreshnessIsClampedToTheIntervals) {
  // no-store (0 s) is raised to min_refresh_interval (1 s); max-age=3600 is lowered to
  // max_refresh_interval (2 s).
  JwksServer fast, slow;
  fast.answer(200, jwks_of({ec_jwk("ec-1")}), "no-store");
  slow.answer(200, jwks_of({ec_jwk("ec-1")}), "max-age=3600");
  start_control();
  auto fs = settings_for(fast.uri());
  auto ss = settings_for(slow.uri());
  ss.max_refresh_interval = 2s;
  auto a = JwksSource::shared(fs);
  auto b = JwksSource::shared(ss);
  ASSERT_TRUE(fast.wait_for_requests(3, 6s));
  ASSERT_TRUE(slow.wait_for_requests(2, 6s));
  auto tf = fast.request_times();
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_GE(tf[i] - tf[i - 1], 900ms);
    EXPECT_LT(tf[i] - tf[i - 1], 2500ms);
  }
  auto ts = slow.request_times();
  EXPECT_GE(ts[1] - ts[0], 1900ms);
  EXPECT_LT(ts[1] - ts[0], 3500ms);
}

TEST_F(JwksSourceTest, NoCacheControlUsesDefaultMaxAge) {
  JwksServer jwks;
  jwks.answer(200, jwks_of({ec_jwk("ec-1")}));
  start_control();
  auto settings = settings_for(jwks.uri());
  settings.default_max_age = 2s;
  auto source = JwksSource::shared(settings);
  ASSERT_TRUE(jwks.wait_for_requests(2, 5s));
  auto t = jwks.request_times();
  EXPECT_GE(t[1] - t[0], 1900ms);
  EXPECT_LT(t[1] - t[0], 3500ms);
}

TEST_F(JwksSourceTest, FailuresKeepTheLastGoodSetThenRecover) {
  JwksServer jwks;
  jwks.answer(200, jwks_of({ec_jwk("old")}), "max-age=1");
  start_control();
  auto settings = settings_for(jwks.uri());
  settings.max_refresh_interval = 2s;  // back-off 1 s, 2 s, 2 s ...
  auto source = JwksSource::shared(settings);
  ASSERT_TRUE(wait_until([&] { return source->keys() != nullptr; }, 5s));
  const auto good = source->keys();

  jwks.answer(500, "{\"message\":\"down\"}");
  ASSERT_TRUE(wait_until([&] { return status_of(jwks.uri())->fetches_failed >= 1; }, 5s));
  EXPECT_EQ(source->keys(), good) << "a 500 must not replace the key set";
  EXPECT_NE(status_of(jwks.uri())->last_error.find("500"), std::string::npos) << status_of(jwks.uri())->last_error;

  jwks.answer(200, "<html>not a key set</html>");
  ASSERT_TRUE(wait_until([&] { return status_of(jwks.uri())->last_error.find("invalid JWKS") != std::string::npos; },
                         6s))
      << status_of(jwks.uri())->last_error;
  EXPECT_EQ(source->keys(), good);

  // A document parse_jwks rejects as a whole (a usable key with private members).
  std::string with_private = ec_jwk("bad");
  with_private.insert(with_private.size() - 1, ",\"d\":\"AAAA\"");
  jwks.answer(200, jwks_of({with_private}));
  const auto failed_before = status_of(jwks.uri())->fetches_failed;
  ASSERT_TRUE(wait_until([&] { return status_of(jwks.uri())->fetches_failed > failed_before; }, 6s));
  EXPECT_EQ(source->keys(), good);
  EXPECT_NE(status_of(jwks.uri())->last_error.find("invalid JWKS"), std::string::npos);

  // Retries back off: the gaps between failed fetches never shrink below the min interval.
  auto t = jwks.request_times();
  ASSERT_GE(t.size(), 4u);
  for (size_t i = 2; i < t.size(); ++i) EXPECT_GE(t[i] - t[i - 1], 900ms);

  jwks.answer(200, jwks_of({ec_jwk("new")}), "max-age=60");
  ASSERT_TRUE(wait_until([&] { return has_kid(source, "new", auth::JwsAlg::kES256); }, 6s)) << "recovery not adopted";
  EXPECT_FALSE(has_kid(source, "old", auth::JwsAlg::kES256));
  auto st = status_of(jwks.uri());
  EXPECT_TRUE(st->last_error.empty());
  EXPECT_EQ(st->fetches_ok, 2u);
  EXPECT_GE(st->fetches_failed, 3u);
  EXPECT_EQ(st->keys, 1u);
}

TEST_F(JwksSourceTest, OversizedDocumentIsAFailure) {
  JwksServer jwks;
  jwks.answer(200, jwks_of({ec_jwk("ec-1")}), "max-age=1");
  start_control();
  auto source = JwksSource::shared(settings_for(jwks.uri()));
  ASSERT_TRUE(wait_until([&] { return source->keys() != nullptr; }, 5s));
  const auto good = source->keys();
  // 600 KiB: a valid-looking document padded with whitespace.
  std::string big = jwks_of({ec_jwk("big")});
  big.insert(1, std::string(600 * 1024, ' '));
  jwks.answer(200, big);
  ASSERT_TRUE(wait_until([&] { return status_of(jwks.uri())->fetches_failed >= 1; }, 5s));
  EXPECT_EQ(source->keys(), good);
  EXPECT_FALSE(has_kid(source, "big", auth::JwsAlg::kES256));
}

TEST_F(JwksSourceTest, ConnectionRefusedKeepsKeysAndSameAddressRecovers) {
  auto first = std::make_unique<JwksServer>();
  first->answer(200, jwks_of({ec_jwk("ec-1")}), "max-age=1");
  const uint16_t port = first->server->port();
  const std::string uri = first->uri();
  start_control();
  auto settings = settings_for(uri);
  settings.max_refresh_interval = 2s;
  auto source = JwksSource::shared(settings);
  ASSERT_TRUE(wait_until([&] { return source->keys() != nullptr; }, 5s));
  const auto good = source->keys();
  first.reset();  // nothing listens on the port any more

  ASSERT_TRUE(wait_until([&] { return status_of(uri)->fetches_failed >= 2; }, 8s));
  EXPECT_EQ(source->keys(), good);
  EXPECT_FALSE(status_of(uri)->last_error.empty());

  JwksServer again(std::make_unique<Upstream>("127.0.0.1", port));
  again.answer(200, jwks_of({ec_jwk("ec-2")}), "max-age=60");
  ASSERT_TRUE(wait_until([&] { return has_kid(source, "ec-2", auth::JwsAlg::kES256); }, 8s));
  EXPECT_TRUE(status_of(uri)->last_error.empty());
}

TEST_F(JwksSourceTest, UnknownKidPicksUpRotationAtOnce) {
  JwksServer jwks;
  jwks.answer(200, jwks_of({ec_jwk("k1")}), "max-age=3600");
  start_control();
  auto source = JwksSource::shared(settings_for(jwks.uri()));
  ASSERT_TRUE(wait_until([&] { return source->keys() != nullptr; }, 5s));

  jwks.answer(200, jwks_of({ec_jwk("k1"), rsa_jwk("k2")}), "max-age=3600");
  const auto asked = Clock::now();
  source->on_unknown_kid();
  ASSERT_TRUE(wait_until([&] { return has_kid(source, "k2", auth::JwsAlg::kRS256); }, 3s));
  EXPECT_LT(Clock::now() - asked, 900ms) << "the refresh should not wait for the min interval";
  EXPECT_EQ(jwks.count(), 2u);
  auto st = status_of(jwks.uri());
  EXPECT_EQ(st->unknown_kid_refreshes, 1u);
  EXPECT_EQ(st->unknown_kid_suppressed, 0u);
  EXPECT_EQ(st->keys, 2u);
}

TEST_F(JwksSourceTest, UnknownKidFloodCostsOneFetchPerInterval) {
  JwksServer jwks;
  jwks.answer(200, jwks_of({ec_jwk("k1")}), "max-age=3600");
  start_control();
  auto settings = settings_for(jwks.uri());
  settings.min_refresh_interval = 2s;
  auto source = JwksSource::shared(settings);
  ASSERT_TRUE(wait_until([&] { return source->keys() != nullptr; }, 5s));

  // Four "workers" send made-up kids as fast as they can for 1 s (shorter than the interval).
  std::atomic<uint64_t> calls{0};
  std::vector<std::thread> flood;
  const auto until = Clock::now() + 1s;
  for (int i = 0; i < 4; ++i) {
    flood.emplace_back([&] {
      while (Clock::now() < until) {
        source->on_unknown_kid();
        calls.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& t : flood) t.join();
  ASSERT_TRUE(jwks.wait_for_requests(2, 3s));
  EXPECT_EQ(jwks.count(), 2u) << "initial fetch + one refresh";
  auto st = status_of(jwks.uri());
  EXPECT_EQ(st->unknown_kid_refreshes, 1u);
  EXPECT_EQ(st->unknown_kid_suppressed, calls.load() - 1);
  EXPECT_GT(calls.load(), 1000u);

  // Once the interval has passed, the next unknown kid is honoured again.
  ASSERT_TRUE(wait_until(
      [&] {
        source->on_unknown_kid();
        return status_of(jwks.uri())->unknown_kid_refreshes == 2;
      },
      4s));
  ASSERT_TRUE(jwks.wait_for_requests(3, 3s));
  auto t = jwks.request_times();
  EXPECT_GE(t[2] - t[1], 1900ms);
  EXPECT_EQ(jwks.count(), 3u);
}

TEST_F(JwksSourceTest, SharedPerSettings) {
  JwksServer jwks;
  jwks.answer(200, jwks_of({ec_jwk("k1")}));
  auto settings = settings_for(jwks.uri());
  auto a = JwksSource::shared(settings);
  auto b = JwksSource::shared(settings);
  EXPECT_EQ(a, b);
  auto other = settings;
  other.timeout = 1234ms;
  auto c = JwksSource::shared(other);
  EXPECT_NE(a, c);
  EXPECT_EQ(c->settings().timeout, 1234ms);

  // Two equal settings, one source, one fetch.
  start_control();
  ASSERT_TRUE(wait_until([&] { return a->keys() != nullptr && c->keys() != nullptr; }, 5s));
  EXPECT_EQ(b->keys(), a->keys());
  EXPECT_EQ(jwks.count(), 2u) << "one fetch per distinct settings";

  // A source nobody holds any more is dropped; the next request for those settings starts afresh.
  JwksSource* old = a.get();
  a.reset();
  b.reset();
  size_t listed = 0;
  for (auto& s : JwksSource::all_status()) listed += s.uri == jwks.uri();
  EXPECT_EQ(listed, 1u) << "only the source of `other` is left";
  auto d = JwksSource::shared(settings);
  EXPECT_NE(d.get(), nullptr);
  (void)old;
  ASSERT_TRUE(wait_until([&] { return d->keys() != nullptr; }, 5s)) << "a source made after start fetches at once";
  EXPECT_EQ(jwks.count(), 3u);
}

TEST_F(JwksSourceTest, StopEndsCleanlyWithAFetchInFlight) {
  JwksServer jwks;
  UpstreamResponse slow;
  slow.body = jwks_of({ec_jwk("k1")});
  slow.delay = Millis{20000};
  jwks.answer(slow);
  start_control();
  auto settings = settings_for(jwks.uri());
  settings.timeout = 2000ms;
  auto source = JwksSource::shared(settings);
  ASSERT_TRUE(jwks.server->wait_for_requests(1, 5s));
  // The refresh loop leaves at once; the abandoned request ends by its own timeout (2 s), long
  // before the server would answer (20 s), and its outcome is not recorded.
  const auto before = Clock::now();
  EXPECT_TRUE(stop_control(5000ms)) << "the control io_context still had work 5 s after stop()";
  EXPECT_LT(Clock::now() - before, 4s);
  EXPECT_EQ(source->keys(), nullptr);
  auto st = status_of(jwks.uri());
  EXPECT_EQ(st->fetches_ok, 0u);
  EXPECT_EQ(st->fetches_failed, 0u);
  EXPECT_TRUE(st->last_error.empty());
  // After stop, unknown kids are inert.
  source->on_unknown_kid();
  EXPECT_EQ(status_of(jwks.uri())->unknown_kid_refreshes, 0u);
}

TEST_F(JwksSourceTest, StartAfterStopResumes) {
  JwksServer jwks;
  jwks.answer(200, jwks_of({ec_jwk("k1")}), "max-age=3600");
  start_control();
  auto source = JwksSource::shared(settings_for(jwks.uri()));
  ASSERT_TRUE(wait_until([&] { return source->keys() != nullptr; }, 5s));
  ASSERT_TRUE(stop_control());
  // Stopped: keys stay readable, nothing is fetched.
  EXPECT_TRUE(has_kid(source, "k1", auth::JwsAlg::kES256));
  jwks.answer(200, jwks_of({ec_jwk("k2")}), "max-age=3600");
  io_.restart();
  start_control();
  ASSERT_TRUE(wait_until([&] { return has_kid(source, "k2", auth::JwsAlg::kES256); }, 5s));
  EXPECT_EQ(jwks.count(), 2u);
}

TEST_F(JwksSourceTest, HttpsWithConfiguredCa) {
  const Pem ca = make_ca("JWKS test CA");
  const Pem leaf = make_localhost_server(ca);
  JwksServer jwks(std::make_unique<Upstream>(UpstreamTls{leaf.cert, leaf.key}));
  jwks.answer(200, jwks_of({ec_jwk("tls-1")}));
  const std::string uri = "https://127.0.0.1:" + std::to_string(jwks.server->port()) + "/keys";
  start_control();

  auto settings = settings_for(uri);
  settings.ca_pems = {ca.cert};
  auto good = JwksSource::shared(settings);
  ASSERT_TRUE(wait_until([&] { return good->keys() != nullptr; }, 5s)) << status_of(uri)->last_error;
  EXPECT_TRUE(has_kid(good, "tls-1", auth::JwsAlg::kES256));

  // Another CA: the chain does not verify, nothing is adopted.
  const Pem other_ca = make_ca("Other CA");
  auto wrong = settings;
  wrong.ca_pems = {other_ca.cert};
  auto bad = JwksSource::shared(wrong);
  ASSERT_NE(bad, good);
  ASSERT_TRUE(wait_until(
      [&] {
        for (auto& s : JwksSource::all_status())
          if (s.uri == uri && s.fetches_failed > 0) return true;
        return false;
      },
      5s));
  EXPECT_EQ(bad->keys(), nullptr);

  // tls_verify: false accepts it.
  auto lax = wrong;
  lax.tls_verify = false;
  auto unverified = JwksSource::shared(lax);
  ASSERT_TRUE(wait_until([&] { return unverified->keys() != nullptr; }, 5s));
}

}  // namespace
}  // namespace portico::integration
