#include "dataplane/stats/request_stats.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace edgerouter::stats {
namespace {

TEST(RequestStats, RecordsEachRequestForItsAppAndAll) {
  WorkerStats a, b;
  a.RecordRequest("site", 200, "GET", 0.0003);
  a.RecordRequest("site", 502, "BREW", 0.02);
  b.RecordRequest("appNotFound", 404, "GET", 0.0001);
  b.origin("http://o:1").connect_errors++;
  Counters one, two;
  a.MergeInto(&one);
  b.MergeInto(&two);
  one.Merge(two);
  const std::string text = RenderPrometheus(one, "extra 1\n");
  EXPECT_TRUE(absl::StrContains(text, "er_requests_ok{app=\"site\",code=\"200\",method=\"GET\"} 1\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_requests_fail{app=\"site\",code=\"502\",method=\"OTHER\"} 1\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_requests_ok{app=\"_all\",code=\"200\",method=\"GET\"} 1\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_requests_fail{app=\"_all\",code=\"404\",method=\"GET\"} 1\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_requests_fail{app=\"appNotFound\",code=\"404\",method=\"GET\"} 1\n")) << text;
  // edgerouter's buckets, printed as Go prints them; cumulative.
  EXPECT_TRUE(absl::StrContains(text, "er_request_duration_seconds_bucket{app=\"site\",le=\"0.00025\"} 0\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_request_duration_seconds_bucket{app=\"site\",le=\"0.0005\"} 1\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_request_duration_seconds_bucket{app=\"site\",le=\"0.032\"} 2\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_request_duration_seconds_count{app=\"_all\"} 3\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_dp_upstream_errors_total{origin=\"http://o:1\",kind=\"connect\"} 1\n")) << text;
  EXPECT_TRUE(absl::EndsWith(text, "extra 1\n"));
}

TEST(RequestStats, RateLimitedCountsMergeAcrossWorkersPerApp) {
  WorkerStats a, b;
  a.CountRateLimited("api");
  a.CountRateLimited("api");
  b.CountRateLimited("api");
  b.RecordRequest("site", 200, "GET", 0.001);
  Counters merged;
  a.MergeInto(&merged);
  b.MergeInto(&merged);
  const std::string text = RenderPrometheus(merged, "");
  EXPECT_TRUE(absl::StrContains(text, "# TYPE er_dp_rate_limited_total counter\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_dp_rate_limited_total{app=\"api\"} 3\n")) << text;
  EXPECT_FALSE(absl::StrContains(text, "er_dp_rate_limited_total{app=\"site\"}")) << text;
}

}  // namespace
}  // namespace edgerouter::stats
