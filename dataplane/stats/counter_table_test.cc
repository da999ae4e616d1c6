#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

}  // namespace
}  // namespace edgerouter::stats
