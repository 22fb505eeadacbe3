// CircuitBreaker: limits, slots given back, retry budgets, unenforced counting.
#include "upstream/circuit_breaker.h"

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

}  // namespace
}  // namespace portico::upstream
