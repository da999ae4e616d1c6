#include "dataplane/backends/reverse_proxy/retry.h"

#include "gtest/gtest.h"

namespace edgerouter::backends {
namespace {

AttemptFacts Facts(AttemptFailure failure, const RetryConfig* policy = nullptr) {
  AttemptFacts f;
  f.policy = policy;
  f.method = "GET";
  f.failure = failure;
  f.attempts = 1;
  f.origins = 2;
  return f;
}

TEST(ShouldRetry, BuiltInRulesWithoutAPolicy) {
  AttemptFacts f = Facts(AttemptFailure::kConnect);
  EXPECT_EQ(ShouldRetry(f), RetryDecision::kRetry);
  f.origins = 1;  // no other origin to try
  EXPECT_EQ(ShouldRetry(f), RetryDecision::kNo);
  f = Facts(AttemptFailure::kConnect);
  f.attempts = 2;
  EXPECT_EQ(ShouldRetry(f), RetryDecision::kNo);
  f = Facts(AttemptFailure::kClosedNoResponse);
  f.attempts = 2;
  EXPECT_EQ(ShouldRetry(f), RetryDecision::kRetry);
  f.attempts = 3;
  EXPECT_EQ(ShouldRetry(f), RetryDecision::kNo);
  EXPECT_EQ(ShouldRetry(Facts(AttemptFailure::kStatus5xx)), RetryDecision::kNo);
  EXPECT_EQ(ShouldRetry(Facts(AttemptFailure::kTimeout)), RetryDecision::kNo);
  f = Facts(AttemptFailure::kConnect);
  f.method = "POST";
  EXPECT_EQ(ShouldRetry(f), RetryDecision::kNo);
}

TEST(ShouldRetry, NeverAfterTheResponseStartedOrTheBodyWasSent) {
  RetryConfig policy;
  policy.attempts = 5;
  policy.retry_non_idempotent = true;
  for (AttemptFailure failure : {AttemptFailure::kConnect, AttemptFailure::kStalePooled, AttemptFailure::kClosedNoResponse,
                                 AttemptFailure::kTimeout, AttemptFailure::kStatus5xx}) {
    for (const RetryConfig* p : {static_cast<const RetryConfig*>(nullptr), static_cast<const RetryConfig*>(&policy)}) {
      AttemptFacts f = Facts(failure, p);
      f.response_started = true;
      EXPECT_EQ(ShouldRetry(f), RetryDecision::kNo);
      f = Facts(failure, p);
      f.body_sent = true;
      EXPECT_EQ(ShouldRetry(f), RetryDecision::kNo);
    }
  }
}

TEST(ShouldRetry, PolicyAttemptsMethodsAndStatuses) {
  RetryConfig policy;
  policy.attempts = 3;
  AttemptFacts f = Facts(AttemptFailure::kStatus5xx, &policy);
  EXPECT_EQ(ShouldRetry(f), RetryDecision::kRetry);
  f.attempts = 3;
  EXPECT_EQ(ShouldRetry(f), RetryDecision::kNo);
  f = Facts(AttemptFailure::kTimeout, &policy);
  f.method = "POST";
  EXPECT_EQ(ShouldRetry(f), RetryDecision::kNo);
  policy.retry_non_idempotent = true;
  EXPECT_EQ(ShouldRetry(f), RetryDecision::kRetry);
  policy.retry_non_idempotent = false;
  f = Facts(AttemptFailure::kConnect, &policy);  // nothing reached the origin: any method
  f.method = "POST";
  f.origins = 1;
  EXPECT_EQ(ShouldRetry(f), RetryDecision::kRetry);
  policy.attempts = 1;  // no retries at all, except a stale pooled connection's
  EXPECT_EQ(ShouldRetry(Facts(AttemptFailure::kStatus5xx, &policy)), RetryDecision::kNo);
  EXPECT_EQ(ShouldRetry(Facts(AttemptFailure::kStalePooled, &policy)), RetryDecision::kRetry);
  EXPECT_TRUE(IsRetriableStatus(503));
  EXPECT_FALSE(IsRetriableStatus(500));
}

TEST(ShouldRetry, BudgetIsAShareOfActiveRequestsWithAFloor) {
  RetryConfig policy;
  policy.attempts = 3;
  policy.budget_percent = 20;
  policy.min_retry_concurrency = 3;
  AttemptFacts f = Facts(AttemptFailure::kStatus5xx, &policy);
  f.active_requests = 5;  // 20 % = 1, the floor of 3 wins
  f.retries_in_flight = 2;
  EXPECT_EQ(ShouldRetry(f), RetryDecision::kRetry);
  f.retries_in_flight = 3;
  EXPECT_EQ(ShouldRetry(f), RetryDecision::kBudgetExhausted);
  f.active_requests = 100;  // 20 % = 20
  f.retries_in_flight = 19;
  EXPECT_EQ(ShouldRetry(f), RetryDecision::kRetry);
  f.retries_in_flight = 20;
  EXPECT_EQ(ShouldRetry(f), RetryDecision::kBudgetExhausted);
}

TEST(RetryBackoff, FullJitterUnderAnExponentialCeiling) {
  RetryConfig c;
  c.initial_interval_ms = 50;
  EXPECT_EQ(RetryBackoffMs(c, 1, 50), 50);
  EXPECT_EQ(RetryBackoffMs(c, 1, 51), 0);
  EXPECT_EQ(RetryBackoffMs(c, 2, 100), 100);
  EXPECT_EQ(RetryBackoffMs(c, 9, ~0ull) <= 500, true);
  for (uint64_t r = 0; r < 2000; r += 7) EXPECT_LE(RetryBackoffMs(c, 30, r), 500);
}

TEST(CompileRetry, DefaultsAndDurations) {
  config::v1::RetryPolicy p;
  p.set_attempts(3);
  p.set_per_try_timeout("1.5s");
  absl::StatusOr<RetryConfig> c = CompileRetry(p);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->attempts, 3);
  EXPECT_EQ(c->per_try_timeout_ms, 1500);
  EXPECT_EQ(c->initial_interval_ms, 50);
  EXPECT_EQ(c->budget_percent, 20u);
  EXPECT_EQ(c->min_retry_concurrency, 3u);
  p.set_initial_interval("soon");
  EXPECT_FALSE(CompileRetry(p).ok());
}

}  // namespace
}  // namespace edgerouter::backends
