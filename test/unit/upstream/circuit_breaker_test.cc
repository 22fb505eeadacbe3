// CircuitBreaker: limits, slots given back, retry budgets, unenforced counting.
#include "upstream/circuit_breaker.h"
#include "upstream/cluster.h"

#include <gtest/gtest.h>

#include <vector>

namespace portico::upstream {
namespace {

TEST(CircuitBreakerTest, RefusesBeyondTheLimitAndFreesOnRelease) {
  CircuitBreakerLimits limits;
  limits.max_requests = 2;
  CircuitBreaker b(&limits);
  EXPECT_TRUE(b.enforced());
  CircuitBreaker::Slot s1 = b.try_acquire(CircuitBreaker::kRequests);
  CircuitBreaker::Slot s2 = b.try_acquire(CircuitBreaker::kRequests);
  EXPECT_TRUE(s1);
  EXPECT_TRUE(s2);
  CircuitBreaker::Slot s3 = b.try_acquire(CircuitBreaker::kRequests);
  EXPECT_FALSE(s3);
  EXPECT_EQ(b.active(CircuitBreaker::kRequests), 2u);  // the refused one took nothing
  s1.release();
  EXPECT_EQ(b.active(CircuitBreaker::kRequests), 1u);
  CircuitBreaker::Slot s4 = b.try_acquire(CircuitBreaker::kRequests);
  EXPECT_TRUE(s4);
  // Other resources are counted on their own.
  EXPECT_TRUE(b.try_acquire(CircuitBreaker::kConnections));
}

TEST(CircuitBreakerTest, SlotsGiveBackWhenDestroyedOrMoved) {
  CircuitBreakerLimits limits;
  limits.max_connections = 1;
  CircuitBreaker b(&limits);
  {
    CircuitBreaker::Slot s = b.try_acquire(CircuitBreaker::kConnections);
    CircuitBreaker::Slot moved = std::move(s);
    EXPECT_FALSE(s);
    EXPECT_TRUE(moved);
    EXPECT_EQ(b.active(CircuitBreaker::kConnections), 1u);
  }
  EXPECT_EQ(b.active(CircuitBreaker::kConnections), 0u);
  CircuitBreaker::Slot a = b.try_acquire(CircuitBreaker::kConnections);
  CircuitBreaker::Slot c;
  c = std::move(a);
  c = CircuitBreaker::Slot();  // assigning over a held slot gives it back
  EXPECT_EQ(b.active(CircuitBreaker::kConnections), 0u);
}

TEST(CircuitBreakerTest, ZeroRefusesEverything) {
  CircuitBreakerLimits limits;
  limits.max_pending_requests = 0;
  CircuitBreaker b(&limits);
  EXPECT_FALSE(b.try_acquire(CircuitBreaker::kPendingRequests));
}

TEST(CircuitBreakerTest, UnenforcedCountsButNeverRefuses) {
  CircuitBreaker b(nullptr);
  EXPECT_FALSE(b.enforced());
  std::vector<CircuitBreaker::Slot> slots;
  for (int i = 0; i < 5000; ++i) slots.push_back(b.try_acquire(CircuitBreaker::kRequests));
  for (auto& s : slots) EXPECT_TRUE(s);
  EXPECT_EQ(b.active(CircuitBreaker::kRequests), 5000u);
  for (int i = 0; i < 100; ++i) slots.push_back(b.try_acquire_retry(nullptr));
  EXPECT_EQ(b.active(CircuitBreaker::kRetries), 100u);
}

TEST(CircuitBreakerTest, MaxRetriesLimitsRetriesInFlight) {
  CircuitBreakerLimits limits;  // Envoy's defaults: 3 retries
  CircuitBreaker b(&limits);
  std::vector<CircuitBreaker::Slot> slots;
  for (int i = 0; i < 3; ++i) slots.push_back(b.try_acquire_retry(nullptr));
  EXPECT_FALSE(b.try_acquire_retry(nullptr));
  slots.pop_back();
  EXPECT_TRUE(b.try_acquire_retry(nullptr));
}

TEST(CircuitBreakerTest, BudgetLimitIsAShareOfActiveRequestsWithAFloor) {
  RetryBudget budget;  // 20%, at least 3
  EXPECT_EQ(CircuitBreaker::budget_limit(budget, 0), 3u);
  EXPECT_EQ(CircuitBreaker::budget_limit(budget, 10), 3u);
  EXPECT_EQ(CircuitBreaker::budget_limit(budget, 20), 4u);
  EXPECT_EQ(CircuitBreaker::budget_limit(budget, 24), 4u);  // rounded down
  EXPECT_EQ(CircuitBreaker::budget_limit(budget, 100), 20u);
  budget.budget_percent = 100.0;
  budget.min_retry_concurrency = 0;
  EXPECT_EQ(CircuitBreaker::budget_limit(budget, 7), 7u);
  budget.budget_percent = 0.0;
  EXPECT_EQ(CircuitBreaker::budget_limit(budget, 1000), 0u);
}

TEST(CircuitBreakerTest, BudgetReplacesMaxRetries) {
  CircuitBreakerLimits limits;
  limits.max_retries = 1;
  CircuitBreaker b(&limits);
  std::vector<CircuitBreaker::Slot> requests;
  for (int i = 0; i < 50; ++i) requests.push_back(b.try_acquire(CircuitBreaker::kRequests));
  RetryBudget budget;  // 20% of 50 = 10
  std::vector<CircuitBreaker::Slot> retries;
  for (int i = 0; i < 10; ++i) {
    retries.push_back(b.try_acquire_retry(&budget));
    EXPECT_TRUE(retries.back()) << i;
  }
  EXPECT_FALSE(b.try_acquire_retry(&budget));
  EXPECT_FALSE(b.try_acquire_retry(nullptr));  // max_retries 1 for routes without a budget
}

TEST(CircuitBreakerTest, LimitNamesAndMessages) {
  EXPECT_EQ(CircuitBreaker::limit_name(CircuitBreaker::kPendingRequests), "max_pending_requests");
  EXPECT_EQ(CircuitBreaker::overload_message(CircuitBreaker::kRequests), "upstream overloaded: max_requests");
  EXPECT_EQ(CircuitBreaker::overload_message(CircuitBreaker::kConnections), "upstream overloaded: max_connections");
}

std::shared_ptr<const Cluster> cluster_with_breaker(std::string name, std::string upstream_name, uint32_t max_requests) {
  auto c = std::make_shared<Cluster>();
  c->name = std::move(name);
  c->upstream_name = std::move(upstream_name);
  CircuitBreakerLimits limits;
  limits.max_requests = max_requests;
  c->breaker = std::make_shared<CircuitBreaker>(&limits);
  return c;
}

TEST(CircuitBreakerTest, ReloadedBreakersAdoptTheRunningCountsByUpstreamOrServiceName) {
  std::vector<std::shared_ptr<const Cluster>> running = {cluster_with_breaker("s1", "up", 2),
                                                         cluster_with_breaker("plain", "", 2)};
  auto held = running[0]->breaker->try_acquire(CircuitBreaker::kRequests);
  auto held_plain = running[1]->breaker->try_acquire(CircuitBreaker::kRequests);
  // The next snapshot: same upstream under another service name, the plain service, a new one,
  // and a service named like the upstream (a different breaker).
  std::vector<std::shared_ptr<const Cluster>> next = {
      cluster_with_breaker("s2", "up", 1), cluster_with_breaker("plain", "", 5), cluster_with_breaker("fresh", "", 1),
      cluster_with_breaker("up", "", 1)};
  carry_breaker_counts(running, next);
  EXPECT_TRUE(next[0]->breaker->shares_counts_with(*running[0]->breaker));
  EXPECT_TRUE(next[1]->breaker->shares_counts_with(*running[1]->breaker));
  EXPECT_FALSE(next[2]->breaker->shares_counts_with(*running[0]->breaker));
  EXPECT_FALSE(next[3]->breaker->shares_counts_with(*running[0]->breaker));
  // The new limit (1) applies to the carried count (1 held): refused.
  EXPECT_EQ(next[0]->breaker->active(CircuitBreaker::kRequests), 1u);
  EXPECT_FALSE(next[0]->breaker->try_acquire(CircuitBreaker::kRequests));
  EXPECT_TRUE(next[2]->breaker->try_acquire(CircuitBreaker::kRequests));
  // A slot of the old breaker given back frees the new one's count.
  held.release();
  EXPECT_EQ(next[0]->breaker->active(CircuitBreaker::kRequests), 0u);
  EXPECT_TRUE(next[0]->breaker->try_acquire(CircuitBreaker::kRequests));
  EXPECT_EQ(next[1]->breaker->active(CircuitBreaker::kRequests), 1u);
  held_plain.release();
  EXPECT_EQ(next[1]->breaker->active(CircuitBreaker::kRequests), 0u);
  // Carrying again (a DNS rebuild shares the same breaker objects) changes nothing.
  carry_breaker_counts(next, next);
  EXPECT_TRUE(next[0]->breaker->shares_counts_with(*running[0]->breaker));
}

}  // namespace
}  // namespace portico::upstream
