#include "dataplane/stats/request_stats.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

TEST(RequestStats, AlternatingAppsAndStatusesAreEachCountedOnce) {
  // The one-entry app/key cache must follow every change of app or status.
  WorkerStats w;
  const std::pair<const char*, int> seq[] = {{"a", 200}, {"a", 200}, {"b", 200}, {"a", 404},
                                             {"a", 200}, {"b", 404}, {"b", 404}, {"a", 200}};
  for (const auto& [app, status] : seq) w.RecordRequest(app, status, "GET", 0.001);
  for (int i = 0; i < 50; ++i) w.RecordRequest(absl::StrCat("many", i), 200, "GET", 0.001);  // rehashes
  w.RecordRequest("a", 200, "GET", 0.001);
  Counters c;
  w.MergeInto(&c);
  const std::string text = RenderPrometheus(c, "");
  EXPECT_TRUE(absl::StrContains(text, "er_requests_ok{app=\"a\",code=\"200\",method=\"GET\"} 5\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_requests_fail{app=\"a\",code=\"404\",method=\"GET\"} 1\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_requests_ok{app=\"b\",code=\"200\",method=\"GET\"} 1\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_requests_fail{app=\"b\",code=\"404\",method=\"GET\"} 2\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_requests_ok{app=\"_all\",code=\"200\",method=\"GET\"} 56\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_requests_fail{app=\"_all\",code=\"404\",method=\"GET\"} 3\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_request_duration_seconds_count{app=\"a\"} 6\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_request_duration_seconds_count{app=\"_all\"} 59\n")) << text;
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
