#include "dataplane/server/node_report.h"

#include <iostream>

#include "gtest/gtest.h"

namespace edgerouter::dataplane {
namespace {

stats::Counters Record(std::vector<std::tuple<std::string, int, double>> requests) {
  stats::WorkerStats worker;
  for (const auto& [app, status, seconds] : requests) worker.RecordRequest(app, status, "GET", seconds);
  stats::Counters out;
  worker.MergeInto(&out);
  return out;
}

TEST(NodeReportTest, IntervalNumbersAreTheDifferenceSinceThePreviousReport) {
  const stats::Counters before = Record({{"a", 200, 0.001}, {"a", 502, 0.001}});
  const stats::Counters now = Record({{"a", 200, 0.001}, {"a", 502, 0.001}, {"a", 200, 0.1},
                                      {"a", 503, 0.1}, {"a", 503, 0.1}, {"b", 200, 0.0001}});
  const discovery::v1::NodeReport r = BuildNodeReport(now, before, absl::Seconds(5), nullptr);
  EXPECT_EQ(r.interval_ms(), 5000);
  ASSERT_EQ(r.apps_size(), 3);  // _all, a, b
  EXPECT_EQ(r.apps(0).app(), "_all");
  const discovery::v1::AppTraffic& a = r.apps(1);
  EXPECT_EQ(a.app(), "a");
  EXPECT_EQ(a.requests(), 3u);
  EXPECT_EQ(a.errors(), 2u);
  EXPECT_EQ(a.requests_total(), 5u);
  EXPECT_EQ(a.errors_total(), 3u);
  EXPECT_DOUBLE_EQ(a.p50_seconds(), 0.128);  // the interval's requests all took 0.1 s
  EXPECT_EQ(r.apps(2).app(), "b");
  EXPECT_EQ(r.apps(2).requests(), 1u);
  EXPECT_DOUBLE_EQ(r.apps(2).p99_seconds(), 0.00025);
}

TEST(NodeReportTest, BoundedToTheBusiestApps) {
  std::vector<std::tuple<std::string, int, double>> requests;
  for (int i = 0; i < 10; ++i) {
    for (int n = 0; n <= i; ++n) requests.emplace_back("app" + std::to_string(i), 200, 0.001);
  }
  ReportLimits limits;
  limits.apps = 3;
  const discovery::v1::NodeReport r = BuildNodeReport(Record(requests), {}, absl::Seconds(1), nullptr, limits);
  ASSERT_EQ(r.apps_size(), 3);
  EXPECT_TRUE(r.truncated());
  EXPECT_EQ(r.apps(1).app(), "app9");
  EXPECT_EQ(r.apps(2).app(), "app8");
}

TEST(NodeReportTest, AThousandAppsAndOriginsStillMakeASmallReport) {
  stats::Counters now;
  for (int i = 0; i < 1000; ++i) {
    stats::AppCounters& app = now.apps["application-with-a-long-name-" + std::to_string(i)];
    app.requests[200 * stats::kMethods] = 1000 + i;
    app.buckets[3] = 1000 + i;
    now.origins["http://origin-" + std::to_string(i) + ".internal.example:8080"].connect_errors = i;
  }
  const discovery::v1::NodeReport r = BuildNodeReport(now, {}, absl::Seconds(5), nullptr);
  EXPECT_TRUE(r.truncated());
  EXPECT_EQ(r.apps_size(), 50);
  EXPECT_EQ(r.origins_size(), 50);
  EXPECT_EQ(r.apps(0).app(), "application-with-a-long-name-999");  // the busiest
  EXPECT_LT(r.ByteSizeLong(), 16u << 10);
  std::cout << "report bytes with 1000 apps and origins: " << r.ByteSizeLong() << "\n";
}

TEST(NodeReportTest, AnOriginFailingInTheIntervalIsUnhealthyAndListedFirst) {
  stats::Counters before, now;
  before.origins["http://ok"].status_5xx = 4;
  now.origins["http://ok"].status_5xx = 4;
  now.origins["http://down"].connect_errors = 2;
  now.origins["http://down"].ejections = 1;
  const discovery::v1::NodeReport r = BuildNodeReport(now, before, absl::Seconds(1), nullptr);
  ASSERT_EQ(r.origins_size(), 2);
  EXPECT_EQ(r.origins(0).origin(), "http://down");
  EXPECT_FALSE(r.origins(0).healthy());
  EXPECT_EQ(r.origins(0).failures(), 2u);
  EXPECT_EQ(r.origins(0).ejections_total(), 1u);
  EXPECT_TRUE(r.origins(1).healthy());
  EXPECT_EQ(r.origins(1).failures_total(), 4u);
}

TEST(NodeReportTest, QuantileOfAnEmptyHistogramIsZero) {
  std::array<uint64_t, stats::kBuckets + 1> buckets{};
  EXPECT_EQ(BucketQuantile(buckets, 0.5), 0);
  buckets[stats::kBuckets] = 1;  // +Inf
  EXPECT_EQ(BucketQuantile(buckets, 0.99), stats::kBucketBounds[stats::kBuckets - 1]);
}

}  // namespace
}  // namespace edgerouter::dataplane
