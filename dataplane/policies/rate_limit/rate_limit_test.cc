// Token-bucket arithmetic and the stage's per-worker, per-client behaviour on a fake clock.
#include "dataplane/policies/rate_limit/rate_limit.h"

#include "dataplane/pipeline/fake_exchange.h"
#include "gtest/gtest.h"

namespace edgerouter::policies {
namespace {

std::unique_ptr<RateLimitStage> Make(uint64_t average, uint64_t burst, const std::string& period,
                                     const std::string& per, int workers) {
  config::v1::RateLimitPolicy p;
  p.set_average(average);
  p.set_burst(burst);
  p.set_period(period);
  p.set_per(per);
  absl::StatusOr<std::unique_ptr<RateLimitStage>> s = RateLimitStage::Create(p, workers);
  EXPECT_TRUE(s.ok()) << s.status();
  return *std::move(s);
}

// Runs requests; counts how many passed.
int Pass(const RateLimitStage& stage, pipeline::FakeExchange& ex, int n) {
  int passed = 0;
  for (int i = 0; i < n; ++i) {
    ex.status = 0;
    if (stage.OnRequest(ex) == pipeline::Verdict::kContinue) ++passed;
  }
  return passed;
}

TEST(RateLimit, BurstThenAverageRateAnd429WithRetryAfter) {
  auto stage = Make(10, 5, "1s", "app", 1);
  pipeline::FakeExchange ex;
  ex.clock_ms = 1000;
  EXPECT_EQ(Pass(*stage, ex, 20), 5);  // the burst
  EXPECT_EQ(ex.status, 429);
  EXPECT_EQ(ex.extra_headers, "Retry-After: 1\r\n");
  EXPECT_EQ(ex.rate_limited, 15);
  ex.clock_ms += 1000;  // 10 tokens accrue, capped at the burst of 5
  EXPECT_EQ(Pass(*stage, ex, 20), 5);
  ex.clock_ms += 100;  // one token per 100 ms
  EXPECT_EQ(Pass(*stage, ex, 3), 1);
}

TEST(RateLimit, RetryAfterIsTheWholeSecondsUntilTheNextToken) {
  auto stage = Make(1, 1, "1m", "app", 1);  // one a minute
  pipeline::FakeExchange ex;
  ex.clock_ms = 5000;
  EXPECT_EQ(Pass(*stage, ex, 1), 1);
  ex.clock_ms += 15000;
  EXPECT_EQ(Pass(*stage, ex, 1), 0);
  EXPECT_EQ(ex.extra_headers, "Retry-After: 45\r\n");
}

TEST(RateLimit, WorkersShareTheBudgetFairly) {
  auto stage = Make(100, 100, "1s", "app", 2);
  EXPECT_DOUBLE_EQ(stage->params().burst, 50);
  EXPECT_DOUBLE_EQ(stage->params().rate_per_ms, 0.05);
  pipeline::FakeExchange w0, w1;
  w1.worker = 1;
  EXPECT_EQ(Pass(*stage, w0, 200), 50);
  EXPECT_EQ(Pass(*stage, w1, 200), 50);
  w0.clock_ms = w1.clock_ms = 1000;  // one second: 50 more each
  EXPECT_EQ(Pass(*stage, w0, 200) + Pass(*stage, w1, 200), 100);
}

TEST(RateLimit, ClientsHaveTheirOwnBuckets) {
  auto stage = Make(2, 2, "1s", "", 1);  // default: per client_ip
  pipeline::FakeExchange a, b;
  a.client = "192.0.2.1";
  b.client = "2001:db8::1";
  EXPECT_EQ(Pass(*stage, a, 5), 2);
  EXPECT_EQ(Pass(*stage, b, 5), 2);
  EXPECT_EQ(stage->client_buckets(0), 2u);
}

TEST(RateLimit, ClientBucketsStayBoundedIdleOnesEvictedFirst) {
  auto stage = Make(1, 1, "1h", "client_ip", 1);
  pipeline::FakeExchange ex;
  ex.client = "busy";
  EXPECT_EQ(Pass(*stage, ex, 1), 1);
  for (size_t i = 0; i < RateLimitStage::kMaxClientsPerWorker + 10; ++i) {
    ex.client = "c" + std::to_string(i);
    Pass(*stage, ex, 1);
  }
  EXPECT_LE(stage->client_buckets(0), RateLimitStage::kMaxClientsPerWorker);
  EXPECT_GT(stage->client_buckets(0), 0u);
}

TEST(RateLimit, IdleClientBucketsAreDroppedWhenTheTableIsFull) {
  auto stage = Make(1000, 1, "1s", "client_ip", 1);  // refills within a millisecond
  pipeline::FakeExchange ex;
  for (size_t i = 0; i < RateLimitStage::kMaxClientsPerWorker; ++i) {
    ex.client = "c" + std::to_string(i);
    Pass(*stage, ex, 1);
  }
  EXPECT_EQ(stage->client_buckets(0), RateLimitStage::kMaxClientsPerWorker);
  ex.clock_ms = 10;  // all full again
  ex.client = "new";
  EXPECT_EQ(Pass(*stage, ex, 1), 1);
  EXPECT_EQ(stage->client_buckets(0), 1u);
}

TEST(RateLimit, BadPeriodIsAnError) {
  config::v1::RateLimitPolicy p;
  p.set_average(1);
  p.set_period("soon");
  absl::StatusOr<std::unique_ptr<RateLimitStage>> s = RateLimitStage::Create(p, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "\"soon\" is not a duration");
}

}  // namespace
}  // namespace edgerouter::policies
