#include "dataplane/stats/counter_table.h"

#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "dataplane/stats/request_stats.h"
#include "gtest/gtest.h"

namespace edgerouter::stats {
namespace {

// Every counter non-zero and distinct, over two workers, so a field read or merged in the wrong
// place changes the text.
Counters Rich() {
  WorkerStats a, b;
  a.RecordRequest("site", 200, "GET", 0.0003);
  a.RecordRequest("site", 502, "BREW", 0.02);
  a.RecordRequest("api", 429, "POST", 3);
  b.RecordRequest("appNotFound", 404, "GET", 0.0001);
  b.RecordRequest("we\"ird\\app", 301, "HEAD", 20);
  a.CountRetry("site", false);
  a.CountRetry("site", false);
  b.CountRetry("api", true);
  a.CountRateLimited("api");
  b.CountRateLimited("api");
  a.origin("http://o:1").connect_errors = 1;
  a.origin("http://o:1").timeouts = 2;
  b.origin("http://o:1").protocol_errors = 3;
  b.origin("http://o:2").status_5xx = 4;
  b.origin("http://o:2").ejections = 5;
  a.connections_accepted = 11;
  b.connections_accepted = 12;
  a.connections_active = 3;
  a.requests_in_flight = 2;
  b.parse_errors = 7;
  a.health_fail_open = 8;
  a.tls_handshakes = 20;
  a.tls_resumed = 6;
  b.tls_handshakes = 1;
  for (int i = 0; i < kTlsErrorKinds; ++i) a.tls_handshake_errors[i] = 30 + i;
  a.requests_h1 = 40;
  b.requests_h2 = 41;
  b.h2_connections = 42;
  a.h2_abuse = 43;
  a.tls_buffers_released = 44;
  b.tls_buffers_released = 1;
  Counters merged;
  a.MergeInto(&merged);
  b.MergeInto(&merged);
  merged.ejected_origins = 9;  // set by CollectCounters from the pools
  return merged;
}

std::string Golden() {
  const char* dir = getenv("TEST_SRCDIR");
  const char* ws = getenv("TEST_WORKSPACE");
  std::ifstream in(absl::StrCat(dir ? dir : ".", "/", ws ? ws : "", "/dataplane/stats/testdata/metrics_golden.txt"));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The exposition of the worker counters is byte-identical to what it was before the table
// (names, labels, HELP, order, which zero samples are left out).
TEST(CounterTable, RenderIsByteIdenticalToTheGolden) {
  const std::string text = RenderPrometheus(Rich(), "extra 1\n");
  if (getenv("WRITE_GOLDEN") != nullptr) {
    std::ofstream(getenv("WRITE_GOLDEN")) << text;
    GTEST_SKIP();
  }
  const std::string golden = Golden();
  ASSERT_FALSE(golden.empty());
  EXPECT_EQ(text, golden);
}

// The label names of a sample line ("a,b"), "" without labels.
std::string LabelNames(absl::string_view line) {
  const size_t open = line.find('{');
  if (open == absl::string_view::npos) return "";
  std::vector<std::string> names;
  bool in_value = false;
  size_t start = open + 1;
  for (size_t i = open + 1; i < line.size(); ++i) {
    if (in_value) {
      if (line[i] == '\\') ++i;
      else if (line[i] == '"') in_value = false;
    } else if (line[i] == '=') {
      names.emplace_back(line.substr(start, i - start));
      in_value = true;
      ++i;  // the opening quote
    } else if (line[i] == ',') {
      start = i + 1;
    } else if (line[i] == '}') {
      break;
    }
  }
  return absl::StrJoin(names, ",");
}

TEST(CounterTable, EveryFamilyIsRenderedOnceWithHelpTypeAndItsLabels) {
  const std::string text = RenderPrometheus(Rich(), "");
  std::set<std::string> families;
  absl::string_view previous;
  for (const CounterDef& row : CounterTable()) {
    SCOPED_TRACE(row.name);
    if (row.name == previous) {  // a further row of the family above
      EXPECT_TRUE(row.help.empty() && row.label_names.empty());
      EXPECT_EQ(row.render, nullptr);
      continue;
    }
    previous = row.name;
    EXPECT_TRUE(families.insert(std::string(row.name)).second) << "family split or defined twice";
    EXPECT_FALSE(row.help.empty());
    const std::string help = absl::StrCat("# HELP ", row.name, " ", row.help, "\n");
    const std::string type = absl::StrCat("# TYPE ", row.name, " ", MetricTypeName(row.type), "\n");
    EXPECT_TRUE(absl::StrContains(text, absl::StrCat(help, type))) << text;
    EXPECT_EQ(text.find(help), text.rfind(help));
    // Counters end in _total, except edgerouter's own names (kept for its dashboards).
    if (row.type == MetricType::kCounter && !absl::StartsWith(row.name, "er_requests_")) {
      EXPECT_TRUE(absl::EndsWith(row.name, "_total"));
    }
    // Each read by exactly one means: a field for its scope, or a render function.
    const int reads = (row.node != nullptr) + (row.app != nullptr) + (row.origin != nullptr) + (row.render != nullptr);
    EXPECT_EQ(reads, 1);
  }
  // Every sample belongs to a family of the table and carries that family's label names.
  std::map<std::string, std::string> label_names;
  for (const CounterDef& row : CounterTable()) {
    if (!row.help.empty()) label_names[std::string(row.name)] = std::string(row.label_names);
  }
  int samples = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "#")) continue;
    ++samples;
    std::string name(line.substr(0, line.find_first_of("{ ")));
    std::string want;
    if (label_names.count(name)) {
      want = label_names[name];
    } else {  // a histogram's series: _bucket has le, _sum and _count do not
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (!absl::EndsWith(name, suffix)) continue;
        name.resize(name.size() - strlen(suffix));
        ASSERT_TRUE(label_names.count(name)) << line;
        want = label_names[name];
        if (strcmp(suffix, "_bucket") != 0) want = want.substr(0, want.rfind(",le"));
        break;
      }
      ASSERT_TRUE(label_names.count(name)) << line;
    }
    EXPECT_EQ(LabelNames(line), want) << line;
  }
  EXPECT_GT(samples, 50);
}

TEST(CounterTable, MergeAddsEveryTableField) {
  // Two workers with the same numbers merge to twice one worker, field by field, through the
  // rendered text (so a field left out of the merge shows).
  WorkerStats w;
  w.RecordRequest("a", 200, "GET", 0.01);
  w.CountRetry("a", false);
  w.CountRetry("a", true);
  w.CountRateLimited("a");
  w.origin("http://o").ejections = 1;
  for (const CounterDef& row : CounterTable()) {
    if (row.node != nullptr) w.*row.node = 10;
    if (row.origin != nullptr) w.origin("http://o").*row.origin = 3;
  }
  w.tls_resumed = 4;
  Counters one, two;
  w.MergeInto(&one);
  w.MergeInto(&two);
  w.MergeInto(&two);
  for (const CounterDef& row : CounterTable()) {
    SCOPED_TRACE(row.name);
    if (row.node != nullptr) {
      EXPECT_EQ(two.*row.node, 2 * (one.*row.node));
      EXPECT_NE(one.*row.node, 0u);
    }
    if (row.origin != nullptr) EXPECT_EQ(two.origins["http://o"].*row.origin, 6u);
    if (row.app != nullptr) {
      EXPECT_EQ(two.apps["a"].*row.app, 2u);
      EXPECT_EQ(one.apps["a"].*row.app, 1u);
    }
  }
}

TEST(CounterTable, NodeReportFieldsAreReadThroughTheTable) {
  Counters c;
  c.connections_active = 5;
  c.requests_in_flight = 2;
  c.ejected_origins = 1;
  OriginCounters o;
  o.connect_errors = 1;
  o.timeouts = 2;
  o.protocol_errors = 4;
  o.status_5xx = 8;
  o.ejections = 16;
  EXPECT_EQ(ReportValue(c, ReportField::kConnectionsOpen), 5u);
  EXPECT_EQ(ReportValue(c, ReportField::kRequestsInFlight), 2u);
  EXPECT_EQ(ReportValue(c, ReportField::kOriginsEjected), 1u);
  EXPECT_EQ(ReportValue(o, ReportField::kOriginFailures), 15u);
  EXPECT_EQ(ReportValue(o, ReportField::kOriginEjections), 16u);
}

}  // namespace
}  // namespace edgerouter::stats
