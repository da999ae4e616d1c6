// Per-worker request statistics, merged at scrape time (no shared atomics on the hot path).
// Metric names and labels follow edgerouter: er_requests_ok / er_requests_fail
// {app, code, method} and er_request_duration_seconds{app} with its exponential buckets, every
// observation recorded for the app and for "_all"; unmatched requests use app="appNotFound".
// Improvement: methods outside the standard set are reported as "OTHER" (edgerouter's label
// cardinality is unbounded there). The counters and their metrics: counters.h, counter_table.h.
#ifndef EDGEROUTER_DATAPLANE_STATS_REQUEST_STATS_H_
#define EDGEROUTER_DATAPLANE_STATS_REQUEST_STATS_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "dataplane/stats/counter_table.h"
#include "dataplane/stats/counters.h"

namespace edgerouter::stats {

// A worker's counters. The node-wide fields (NodeCounters) are bumped directly by the code that
// counts them; per-app and per-origin ones through the methods below.
class WorkerStats : public NodeCounters {
 public:
  WorkerStats() = default;
  WorkerStats(const WorkerStats&) = delete;  // it points into its own maps
  WorkerStats& operator=(const WorkerStats&) = delete;

  // Called once per finished request.
  void RecordRequest(absl::string_view app, int status, absl::string_view method, double seconds);
  OriginCounters& origin(absl::string_view url);
  // A retry of app `app` went ahead, or (`exhausted`) was refused by the retry budget.
  void CountRetry(absl::string_view app, bool exhausted);
  // A rate_limit policy refused a request of `app` (its 429 is also counted by RecordRequest).
  void CountRateLimited(absl::string_view app);

  // Adds this worker's numbers to `out` (called on the worker's own thread).
  void MergeInto(Counters* out) const;

 private:
  AppCounters& app(absl::string_view name);
  static void Observe(AppCounters* app, uint64_t* count, int bucket, double seconds);
  // Node-based, so the pointers below stay valid as apps and keys are added (nothing is erased).
  absl::node_hash_map<std::string, AppCounters> apps_;
  // The last request's app and status/method key, and "_all": a worker serving one app's
  // requests in a row counts them without hashing.
  std::string last_name_;
  AppCounters* last_app_ = nullptr;
  AppCounters* all_ = nullptr;
  uint32_t last_key_ = UINT32_MAX;
  uint64_t* last_count_ = nullptr;      // last_app_->requests[last_key_]
  uint64_t* last_all_count_ = nullptr;  // all_->requests[last_key_]
  absl::flat_hash_map<std::string, OriginCounters> origins_;
};

}  // namespace edgerouter::stats

#endif  // EDGEROUTER_DATAPLANE_STATS_REQUEST_STATS_H_
