#include "net/dns_resolver.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstdio>
#include <memory>
#include <optional>

#include "dns_test_support.h"

namespace portico::net {
namespace {

namespace asio = boost::asio;
using testing::FakeAnswer;
using testing::FakeDnsServer;
using testing::run_until;
using Kind = FakeAnswer::Kind;
using namespace std::chrono_literals;

constexpr uint16_t kA = 1;
constexpr uint16_t kAaaa = 28;

std::vector<std::string> strings(const std::vector<asio::ip::address>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.to_string());
  return out;
}

class DnsResolverTest : public ::testing::Test {
 protected:
  DnsResolverOptions options_for(std::vector<const FakeDnsServer*> servers) {
    DnsResolverOptions o;
    for (const FakeDnsServer* s : servers) o.nameservers.push_back(s->endpoint());
    o.timeout = 150ms;
    o.attempts = 1;
    o.hosts_path = "";
    o.watch_backoff_initial = 50ms;
    o.watch_backoff_max = 200ms;
    return o;
  }

  // Resolves and runs the loop until the answer arrives.
  DnsResult resolve_now(DnsResolver& r, const std::string& name, DnsFamily family = DnsFamily::kV4) {
    std::optional<DnsResult> out;
    r.resolve(name, family, [&](DnsResult res) { out = std::move(res); });
    EXPECT_TRUE(run_until(io_, [&] { return out.has_value(); })) << "no answer for " << name;
    if (out) return *out;
    DnsResult missing;
    missing.error = DnsError::kCancelled;
    return missing;
  }

  asio::io_context io_;
  FakeDnsServer server_{io_};
  FakeDnsServer backup_{io_};
};

TEST_F(DnsResolverTest, ResolvesAAndCachesForTheTtl) {
  server_.set("svc.test", kA, {Kind::kAnswer, {"10.0.0.2", "10.0.0.1"}, 30});
  DnsResolver r(io_, options_for({&server_}));
  DnsResult first = resolve_now(r, "Svc.Test.");
  ASSERT_TRUE(first.ok()) << to_string(first.error);
  EXPECT_EQ(strings(first.addresses), (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(first.ttl, 30s);
  EXPECT_EQ(first.source, DnsSource::kNetwork);

  DnsResult second = resolve_now(r, "svc.test");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.source, DnsSource::kCache);
  EXPECT_EQ(second.addresses, first.addresses);
  EXPECT_EQ(server_.queries("svc.test", kA), 1);
  EXPECT_EQ(r.stats().cache_hits.value(), 1u);
}

TEST_F(DnsResolverTest, MergesAAndAaaaWithMinimumTtl) {
  server_.set("dual.test", kA, {Kind::kAnswer, {"192.0.2.1"}, 300});
  server_.set("dual.test", kAaaa, {Kind::kAnswer, {"2001:db8::1"}, 45});
  DnsResolver r(io_, options_for({&server_}));
  DnsResult res = resolve_now(r, "dual.test", DnsFamily::kAny);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(strings(res.addresses), (std::vector<std::string>{"192.0.2.1", "2001:db8::1"}));
  EXPECT_EQ(res.ttl, 45s);
  EXPECT_EQ(server_.queries("dual.test", kA), 1);
  EXPECT_EQ(server_.queries("dual.test", kAaaa), 1);
}

TEST_F(DnsResolverTest, AnyWithOnlyAddressesOfOneFamily) {
  server_.set("v4only.test", kA, {Kind::kAnswer, {"192.0.2.7"}, 60});  // AAAA → NODATA
  DnsResolver r(io_, options_for({&server_}));
  DnsResult res = resolve_now(r, "v4only.test", DnsFamily::kAny);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(strings(res.addresses), (std::vector<std::string>{"192.0.2.7"}));
  DnsResult v6 = resolve_now(r, "v4only.test", DnsFamily::kV6);
  EXPECT_EQ(v6.error, DnsError::kNoData);
}

TEST_F(DnsResolverTest, FollowsCnameOverTheWire) {
  server_.set("www.test", kA, {Kind::kAnswer, {"198.51.100.4"}, 200, "edge.cdn.test"});
  DnsResolver r(io_, options_for({&server_}));
  DnsResult res = resolve_now(r, "www.test");
  ASSERT_TRUE(res.ok()) << to_string(res.error);
  EXPECT_EQ(strings(res.addresses), (std::vector<std::string>{"198.51.100.4"}));
}

TEST_F(DnsResolverTest, NxDomainIsNegativelyCachedAndNotAskedOfOtherServers) {
  DnsResolver r(io_, options_for({&server_, &backup_}));
  DnsResult res = resolve_now(r, "missing.test");
  EXPECT_EQ(res.error, DnsError::kNxDomain);
  EXPECT_EQ(res.ttl, 5s);
  EXPECT_TRUE(res.addresses.empty());
  EXPECT_EQ(resolve_now(r, "missing.test").error, DnsError::kNxDomain);
  EXPECT_EQ(server_.queries("missing.test", kA), 1);
  EXPECT_EQ(backup_.total_queries(), 0);
}

TEST_F(DnsResolverTest, ServFailMovesToTheNextServerAndIsNotCached) {
  server_.set("svc.test", kA, {Kind::kServFail});
  backup_.set("svc.test", kA, {Kind::kAnswer, {"10.9.9.9"}, 60});
  DnsResolver r(io_, options_for({&server_, &backup_}));
  DnsResult res = resolve_now(r, "svc.test");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(strings(res.addresses), (std::vector<std::string>{"10.9.9.9"}));
  EXPECT_EQ(server_.queries("svc.test", kA), 1);
  EXPECT_EQ(r.stats().server_failures.value(), 1u);

  // Every server failing is a SERVFAIL result, which is not cached.
  backup_.set("bad.test", kA, {Kind::kServFail});
  server_.set("bad.test", kA, {Kind::kServFail});
  EXPECT_EQ(resolve_now(r, "bad.test").error, DnsError::kServFail);
  EXPECT_EQ(resolve_now(r, "bad.test").error, DnsError::kServFail);
  EXPECT_EQ(server_.queries("bad.test", kA), 2);
}

TEST_F(DnsResolverTest, DroppedQueryTimesOutThenNextServerAnswers) {
  server_.set("svc.test", kA, {Kind::kDrop});
  backup_.set("svc.test", kA, {Kind::kAnswer, {"10.1.1.1"}, 60});
  DnsResolver r(io_, options_for({&server_, &backup_}));
  const auto start = std::chrono::steady_clock::now();
  DnsResult res = resolve_now(r, "svc.test");
  ASSERT_TRUE(res.ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
  EXPECT_EQ(r.stats().timeouts.value(), 1u);
}

TEST_F(DnsResolverTest, AllServersSilentIsATimeoutAfterEveryAttempt) {
  server_.set_all(Kind::kDrop);
  backup_.set_all(Kind::kDrop);
  auto o = options_for({&server_, &backup_});
  o.attempts = 2;
  o.timeout = 50ms;
  DnsResolver r(io_, o);
  DnsResult res = resolve_now(r, "svc.test");
  EXPECT_EQ(res.error, DnsError::kTimeout);
  EXPECT_EQ(server_.queries("svc.test", kA), 2);
  EXPECT_EQ(backup_.queries("svc.test", kA), 2);
  EXPECT_EQ(r.stats().timeouts.value(), 4u);
}

TEST_F(DnsResolverTest, WrongIdIsIgnoredAndTheRealAnswerAccepted) {
  server_.set("svc.test", kA, {Kind::kWrongIdThenAnswer, {"10.2.2.2"}, 60});
  DnsResolver r(io_, options_for({&server_}));
  DnsResult res = resolve_now(r, "svc.test");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(strings(res.addresses), (std::vector<std::string>{"10.2.2.2"}));
  EXPECT_EQ(r.stats().responses_ignored.value(), 1u);
}

TEST_F(DnsResolverTest, OnlyWrongIdsMeanTimeout) {
  server_.set("svc.test", kA, {Kind::kWrongIdOnly, {"6.6.6.6"}, 60});
  backup_.set("svc.test", kA, {Kind::kAnswer, {"10.3.3.3"}, 60});
  DnsResolver r(io_, options_for({&server_, &backup_}));
  DnsResult res = resolve_now(r, "svc.test");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(strings(res.addresses), (std::vector<std::string>{"10.3.3.3"}));
  EXPECT_EQ(r.stats().responses_ignored.value(), 1u);
  EXPECT_EQ(r.stats().timeouts.value(), 1u);
}

TEST_F(DnsResolverTest, TruncatedAnswerFailsOverToTheNextServer) {
  server_.set("big.test", kA, {Kind::kTruncated});
  backup_.set("big.test", kA, {Kind::kAnswer, {"10.4.4.4"}, 60});
  DnsResolver r(io_, options_for({&server_, &backup_}));
  EXPECT_TRUE(resolve_now(r, "big.test").ok());

  server_.set("only.test", kA, {Kind::kTruncated});
  backup_.set("only.test", kA, {Kind::kTruncated});
  EXPECT_EQ(resolve_now(r, "only.test").error, DnsError::kTruncated);
}

TEST_F(DnsResolverTest, UnreachableServerIsSkipped) {
  asio::ip::udp::endpoint dead;
  {
    asio::ip::udp::socket s(io_, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    dead = s.local_endpoint();
  }  // closed: queries to it draw ICMP port unreachable (or time out)
  backup_.set("svc.test", kA, {Kind::kAnswer, {"10.5.5.5"}, 60});
  auto o = options_for({&backup_});
  o.nameservers.insert(o.nameservers.begin(), dead);
  DnsResolver r(io_, o);
  EXPECT_TRUE(resolve_now(r, "svc.test").ok());
}

TEST_F(DnsResolverTest, ConcurrentResolvesShareOneQuery) {
  server_.set("svc.test", kA, {Kind::kAnswer, {"10.6.6.6"}, 60});
  server_.set("svc.test", kAaaa, {Kind::kAnswer, {"2001:db8::6"}, 60});
  DnsResolver r(io_, options_for({&server_}));
  int answered = 0;
  for (int i = 0; i < 5; ++i) {
    r.resolve("svc.test", DnsFamily::kAny, [&](DnsResult res) {
      EXPECT_TRUE(res.ok());
      EXPECT_EQ(res.addresses.size(), 2u);
      ++answered;
    });
  }
  ASSERT_TRUE(run_until(io_, [&] { return answered == 5; }));
  EXPECT_EQ(server_.queries("svc.test", kA), 1);
  EXPECT_EQ(server_.queries("svc.test", kAaaa), 1);
  EXPECT_EQ(r.stats().shared_lookups.value(), 4u);
}

TEST_F(DnsResolverTest, TtlIsClampedAndExpiryCausesANewQuery) {
  server_.set("short.test", kA, {Kind::kAnswer, {"10.7.7.7"}, 0});
  server_.set("long.test", kA, {Kind::kAnswer, {"10.7.7.8"}, 864000});
  DnsResolver r(io_, options_for({&server_}));
  DnsResult res = resolve_now(r, "short.test");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res.ttl, 1s);  // min_ttl
  EXPECT_EQ(resolve_now(r, "long.test").ttl, 3600s);  // max_ttl

  EXPECT_EQ(resolve_now(r, "short.test").source, DnsSource::kCache);
  EXPECT_EQ(server_.queries("short.test", kA), 1);
  ASSERT_TRUE(run_until(io_, [&] { return core::MonoClock::now() >= res.expires_at; }, 3s));
  DnsResult again = resolve_now(r, "short.test");
  EXPECT_EQ(again.source, DnsSource::kNetwork);
  EXPECT_EQ(server_.queries("short.test", kA), 2);
}

TEST_F(DnsResolverTest, LiteralsHostsFileAndInvalidNamesNeedNoQuery) {
  char path[] = "/tmp/portico_resolver_hosts_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = "192.0.2.50 static.test\n2001:db8::50 static.test\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  auto o = options_for({&server_});
  o.hosts_path = path;
  DnsResolver r(io_, o);

  DnsResult lit = resolve_now(r, "10.11.12.13", DnsFamily::kAny);
  ASSERT_TRUE(lit.ok());
  EXPECT_EQ(lit.source, DnsSource::kLiteral);
  EXPECT_EQ(strings(resolve_now(r, "[::1]", DnsFamily::kAny).addresses), (std::vector<std::string>{"::1"}));
  EXPECT_EQ(resolve_now(r, "::1", DnsFamily::kV4).error, DnsError::kNoData);

  DnsResult hosts = resolve_now(r, "STATIC.test", DnsFamily::kAny);
  ASSERT_TRUE(hosts.ok());
  EXPECT_EQ(hosts.source, DnsSource::kHostsFile);
  EXPECT_EQ(hosts.addresses.size(), 2u);
  EXPECT_EQ(hosts.ttl, 60s);
  EXPECT_EQ(strings(resolve_now(r, "static.test", DnsFamily::kV6).addresses),
            (std::vector<std::string>{"2001:db8::50"}));

  EXPECT_EQ(resolve_now(r, "bad..name").error, DnsError::kInvalidName);
  EXPECT_EQ(resolve_now(r, "").error, DnsError::kInvalidName);
  EXPECT_EQ(server_.total_queries(), 0);
  std::remove(path);
}

TEST_F(DnsResolverTest, NoNameserversIsAnError) {
  auto o = options_for({});
  DnsResolver r(io_, o);
  EXPECT_EQ(resolve_now(r, "svc.test").error, DnsError::kNoNameservers);
}

TEST_F(DnsResolverTest, CoroutineResolve) {
  server_.set("co.test", kA, {Kind::kAnswer, {"10.8.8.8"}, 60});
  DnsResolver r(io_, options_for({&server_}));
  std::optional<DnsResult> out;
  asio::co_spawn(
      io_,
      [&]() -> runtime::Task<void> { out = co_await r.resolve("co.test", DnsFamily::kV4); },
      asio::detached);
  ASSERT_TRUE(run_until(io_, [&] { return out.has_value(); }));
  ASSERT_TRUE(out->ok());
  EXPECT_EQ(strings(out->addresses), (std::vector<std::string>{"10.8.8.8"}));
}

TEST_F(DnsResolverTest, DestroyingTheResolverCancelsPendingResolves) {
  server_.set("slow.test", kA, {Kind::kDrop});
  auto r = std::make_unique<DnsResolver>(io_, options_for({&server_}));
  std::optional<DnsResult> out;
  r->resolve("slow.test", DnsFamily::kV4, [&](DnsResult res) { out = std::move(res); });
  ASSERT_TRUE(run_until(io_, [&] { return server_.total_queries() == 1; }));
  r.reset();
  ASSERT_TRUE(run_until(io_, [&] { return out.has_value(); }));
  EXPECT_EQ(out->error, DnsError::kCancelled);
  // Let the cancelled coroutine unwind before the io_context goes away.
  io_.restart();
  io_.run_for(20ms);
}

TEST_F(DnsResolverTest, WatchFiresOnChangeOnlyAndKeepsLastGoodSetOnFailure) {
  server_.set("w.test", kA, {Kind::kAnswer, {"10.0.1.1"}, 1});
  DnsResolver r(io_, options_for({&server_}));
  std::vector<std::vector<std::string>> changes;
  r.watch("w.test", DnsFamily::kV4, [&](const std::vector<asio::ip::address>& a) { changes.push_back(strings(a)); });

  ASSERT_TRUE(run_until(io_, [&] { return changes.size() == 1; }));
  EXPECT_EQ(changes[0], (std::vector<std::string>{"10.0.1.1"}));

  // Same answer after the TTL: re-queried, no call.
  ASSERT_TRUE(run_until(io_, [&] { return server_.queries("w.test", kA) >= 2; }, 3s));
  io_.restart();
  io_.run_for(50ms);
  EXPECT_EQ(changes.size(), 1u);

  // Failures keep the last good set and retry with backoff (faster than the 1 s TTL).
  server_.set("w.test", kA, {Kind::kServFail});
  ASSERT_TRUE(run_until(io_, [&] { return r.stats().watch_refresh_failures.value() >= 3; }, 4s));
  EXPECT_EQ(changes.size(), 1u);

  // Recovery with a new set: exactly one call.
  server_.set("w.test", kA, {Kind::kAnswer, {"10.0.1.2", "10.0.1.1"}, 1});
  ASSERT_TRUE(run_until(io_, [&] { return changes.size() == 2; }, 3s));
  EXPECT_EQ(changes[1], (std::vector<std::string>{"10.0.1.1", "10.0.1.2"}));
  EXPECT_EQ(r.stats().watch_changes.value(), 2u);
}

TEST_F(DnsResolverTest, UnwatchFromInsideTheCallbackStopsRefreshes) {
  server_.set("u.test", kA, {Kind::kAnswer, {"10.0.2.1"}, 1});
  DnsResolver r(io_, options_for({&server_}));
  int calls = 0;
  DnsResolver::WatchId id = 0;
  id = r.watch("u.test", DnsFamily::kV4, [&](const std::vector<asio::ip::address>&) {
    ++calls;
    r.unwatch(id);
  });
  ASSERT_TRUE(run_until(io_, [&] { return calls == 1; }));
  // Past the 1 s TTL nothing more is asked.
  const auto until = std::chrono::steady_clock::now() + 1300ms;
  run_until(io_, [&] { return std::chrono::steady_clock::now() >= until; }, 2s);
  EXPECT_EQ(server_.queries("u.test", kA), 1);
  EXPECT_EQ(calls, 1);
}

TEST_F(DnsResolverTest, WatchSeesHostsFileEdits) {
  char path[] = "/tmp/portico_watch_hosts_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = "192.0.2.60 edit.test\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  auto o = options_for({&server_});
  o.hosts_path = path;
  o.hosts_ttl = 1s;
  DnsResolver r(io_, o);
  std::vector<std::vector<std::string>> changes;
  r.watch("edit.test", DnsFamily::kAny, [&](const std::vector<asio::ip::address>& a) { changes.push_back(strings(a)); });
  ASSERT_TRUE(run_until(io_, [&] { return changes.size() == 1; }));
  std::FILE* f = std::fopen(path, "w");
  ASSERT_NE(f, nullptr);
  std::fputs("192.0.2.61 edit.test\n", f);
  std::fclose(f);
  ASSERT_TRUE(run_until(io_, [&] { return changes.size() == 2; }, 3s));
  EXPECT_EQ(changes[1], (std::vector<std::string>{"192.0.2.61"}));
  EXPECT_EQ(server_.total_queries(), 0);
  std::remove(path);
}

TEST(DnsResolverOptionsTest, FromResolvConf) {
  ResolvConf c = ResolvConf::parse("nameserver 10.0.0.53\nnameserver ::1\noptions timeout:2 attempts:3\n");
  DnsResolverOptions o = DnsResolverOptions::from_resolv_conf(c);
  ASSERT_EQ(o.nameservers.size(), 2u);
  EXPECT_EQ(o.nameservers[0].address().to_string(), "10.0.0.53");
  EXPECT_EQ(o.nameservers[0].port(), 53);
  EXPECT_TRUE(o.nameservers[1].address().is_v6());
  EXPECT_EQ(o.timeout, 2000ms);
  EXPECT_EQ(o.attempts, 3);
}

}  // namespace
}  // namespace portico::net
