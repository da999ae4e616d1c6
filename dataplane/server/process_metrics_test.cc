#include "dataplane/server/process_metrics.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace edgerouter::dataplane {
namespace {

ProcessState Sample() {
  ProcessState s;
  s.xds.connected = true;
  s.xds.failovers = 2;
  s.xds.full_states = 3;
  s.xds.applies = 4;
  s.xds.nacks = 5;
  s.xds.controlplane = "127.0.0.1:5000";
  s.xds.replica_id = "cp-a";
  s.certificates = 7;
  s.certificates_expired = 1;
  s.version = "v9";
  s.applied_unix = 1700000000;
  s.unhealthy = {{"api", 1}, {"web", 0}};
  s.aws.calls = 11;
  s.aws.entries = 12;
  s.log_dropped = 13;
  s.log_suppressed = 14;
  return s;
}

TEST(ProcessMetrics, EveryFamilyOnceWithHelpTypeAndItsLabels) {
  const std::string text = RenderProcessMetrics(Sample());
  std::set<std::string> names;
  for (const ProcessMetricDef& row : ProcessMetricTable()) {
    SCOPED_TRACE(row.name);
    EXPECT_TRUE(names.insert(std::string(row.name)).second) << "defined twice";
    EXPECT_FALSE(row.help.empty());
    EXPECT_EQ((row.value != nullptr) + (row.samples != nullptr), 1);
    if (row.value != nullptr) EXPECT_TRUE(row.label_names.empty());
    const std::string header = absl::StrCat("# HELP ", row.name, " ", row.help, "\n# TYPE ", row.name, " ",
                                            stats::MetricTypeName(row.type), "\n");
    EXPECT_TRUE(absl::StrContains(text, header)) << text;
    if (row.type == stats::MetricType::kCounter) EXPECT_TRUE(absl::EndsWith(row.name, "_total"));
    int samples = 0;
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      if (line.substr(0, line.find_first_of("{ ")) != row.name) continue;
      ++samples;
      std::vector<std::string> labels;
      if (const size_t open = line.find('{'); open != absl::string_view::npos) {
        const absl::string_view inside = line.substr(open + 1, line.find('}') - open - 1);
        for (absl::string_view pair : absl::StrSplit(inside, ',')) labels.emplace_back(pair.substr(0, pair.find('=')));
      }
      EXPECT_EQ(absl::StrJoin(labels, ","), row.label_names) << line;
    }
    EXPECT_GE(samples, 1);
  }
  // No family shares a name with one of the worker counters' table either.
  for (const stats::CounterDef& row : stats::CounterTable()) {
    if (!row.help.empty()) EXPECT_TRUE(names.insert(std::string(row.name)).second) << row.name;
  }
}

TEST(ProcessMetrics, ReadsTheCapturedState) {
  const std::string text = RenderProcessMetrics(Sample());
  for (const char* want : {"edgerouter_certificates{state=\"valid\"} 6\n", "edgerouter_certificates{state=\"expired\"} 1\n",
                           "er_dp_controlplane_connected 1\n", "er_dp_controlplane_failovers_total 2\n",
                           "er_dp_controlplane_info{address=\"127.0.0.1:5000\",replica=\"cp-a\"} 1\n",
                           "er_dp_snapshot_info{version=\"v9\"} 1\n",
                           "er_dp_snapshot_last_apply_timestamp_seconds 1700000000\n",
                           "er_dp_origins_unhealthy{app=\"api\"} 1\n", "er_dp_origins_unhealthy{app=\"web\"} 0\n",
                           "er_dp_snapshot_applies_total 4\n", "er_dp_snapshot_nacks_total 5\n",
                           "er_dp_aws_calls_total 11\n", "er_dp_s3_cache_entries 12\n",
                           "er_dp_log_dropped_lines_total 13\n", "er_dp_log_suppressed_lines_total 14\n"}) {
    EXPECT_TRUE(absl::StrContains(text, want)) << want << "\n" << text;
  }
}

}  // namespace
}  // namespace edgerouter::dataplane
