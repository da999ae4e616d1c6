// Per-worker request statistics, merged at scrape time (no shared atomics on the hot path).
// Metric names and labels follow edgerouter: er_requests_ok / er_requests_fail
// {app, code, method} and er_request_duration_seconds{app} with its exponential buckets, every
// observation recorded for the app and for "_all"; unmatched requests use app="appNotFound".
// Improvement: methods outside the standard set are reported as "OTHER" (edgerouter's label
// cardinality is unbounded there).
#ifndef EDGEROUTER_DATAPLANE_STATS_REQUEST_STATS_H_
#define EDGEROUTER_DATAPLANE_STATS_REQUEST_STATS_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "dataplane/tls/transport.h"

namespace edgerouter::stats {

constexpr int kTlsErrorKinds = static_cast<int>(tls::HandshakeError::kCount);
using TlsErrorCounts = std::array<uint64_t, kTlsErrorKinds>;

constexpr int kBuckets = 16;  // 0.00025 * 2^n, n = 0..15, plus +Inf
extern const double kBucketBounds[kBuckets];
constexpr int kMethods = 8;
extern const char* const kMethodNames[kMethods];  // GET … OPTIONS, OTHER
int MethodIndex(absl::string_view method);

struct AppCounters {
  // key: status * kMethods + method index
  absl::flat_hash_map<uint32_t, uint64_t> requests;
  std::array<uint64_t, kBuckets + 1> buckets{};  // not cumulative; last = +Inf
  double duration_sum = 0;
  uint64_t duration_count = 0;
  uint64_t retries = 0;                   // policies.retry: attempts after the first
  uint64_t retries_budget_exhausted = 0;  // retries refused by the retry budget
  uint64_t rate_limited = 0;  // requests a rate_limit policy refused (429)

  void Merge(const AppCounters& other);
};

struct OriginCounters {
  uint64_t connect_errors = 0;
  uint64_t timeouts = 0;
  uint64_t protocol_errors = 0;
  uint64_t status_5xx = 0;
  uint64_t ejections = 0;

  void Merge(const OriginCounters& other);
};

// Everything a worker counts; also the merged form.
struct Counters {
  std::map<std::string, AppCounters> apps;  // merged form is sorted; workers use `live`
  std::map<std::string, OriginCounters> origins;
  uint64_t connections_accepted = 0;
  uint64_t connections_active = 0;
  uint64_t requests_in_flight = 0;
  uint64_t parse_errors = 0;
  uint64_t ejected_origins = 0;  // currently ejected (gauge)
  uint64_t health_fail_open = 0;  // picks made while every origin failed its active checks
  uint64_t tls_handshakes = 0;
  uint64_t tls_resumed = 0;
  TlsErrorCounts tls_handshake_errors{};
  uint64_t requests_h1 = 0;  // finished requests by downstream protocol
  uint64_t requests_h2 = 0;
  uint64_t h2_connections = 0;
  uint64_t h2_abuse = 0;  // connections ended for a flood / rapid reset

  void Merge(const Counters& other);
};

class WorkerStats {
 public:
  // Called once per finished request.
  void RecordRequest(absl::string_view app, int status, absl::string_view method, double seconds);
  OriginCounters& origin(absl::string_view url);
  // A retry of app `app` went ahead, or (`exhausted`) was refused by the retry budget.
  void CountRetry(absl::string_view app, bool exhausted);
  // A rate_limit policy refused a request of `app` (its 429 is also counted by RecordRequest).
  void CountRateLimited(absl::string_view app);

  uint64_t connections_accepted = 0;
  int64_t connections_active = 0;
  int64_t requests_in_flight = 0;
  uint64_t parse_errors = 0;
  int64_t ejected_origins = 0;
  uint64_t health_fail_open = 0;
  uint64_t tls_handshakes = 0;  // completed
  uint64_t tls_resumed = 0;     // of which resumed from a ticket
  TlsErrorCounts tls_handshake_errors{};
  uint64_t requests_h1 = 0;
  uint64_t requests_h2 = 0;
  uint64_t h2_connections = 0;
  uint64_t h2_abuse = 0;

  // Adds this worker's numbers to `out` (called on the worker's own thread).
  void MergeInto(Counters* out) const;

 private:
  void Observe(AppCounters* app, uint32_t key, double seconds);
  absl::flat_hash_map<std::string, AppCounters> apps_;
  absl::flat_hash_map<std::string, OriginCounters> origins_;
};

// Prometheus text for merged counters, followed by `extra` (already rendered lines).
std::string RenderPrometheus(const Counters& counters, const std::string& extra);

}  // namespace edgerouter::stats

#endif  // EDGEROUTER_DATAPLANE_STATS_REQUEST_STATS_H_
