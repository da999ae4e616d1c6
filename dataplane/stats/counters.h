// The data plane's worker counters: what a worker counts, and (same types) the sum over workers
// a scrape or a NodeReport reads. Plain fields, bumped on the worker's own thread (no atomics,
// no locks); merged on the scrape path. Every plain field has its row in counter_table.cc,
// which says its metric name, HELP, type and labels and is what merges and renders it.
#ifndef EDGEROUTER_DATAPLANE_STATS_COUNTERS_H_
#define EDGEROUTER_DATAPLANE_STATS_COUNTERS_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
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
  // key: status * kMethods + method index. Node-based: WorkerStats keeps pointers to counts.
  absl::node_hash_map<uint32_t, uint64_t> requests;
  std::array<uint64_t, kBuckets + 1> buckets{};  // not cumulative; last = +Inf
  double duration_sum = 0;
  uint64_t duration_count = 0;
  // One row each in the counter table:
  uint64_t retries = 0;                   // policies.retry: attempts after the first
  uint64_t retries_budget_exhausted = 0;  // retries refused by the retry budget
  uint64_t rate_limited = 0;              // requests a rate_limit policy refused (429)

  void Merge(const AppCounters& other);
};

// One row each in the counter table.
struct OriginCounters {
  uint64_t connect_errors = 0;
  uint64_t timeouts = 0;
  uint64_t protocol_errors = 0;
  uint64_t status_5xx = 0;
  uint64_t ejections = 0;

  void Merge(const OriginCounters& other);
};

// Node-wide numbers of one worker, or summed. Gauges are unsigned too: a worker's part may wrap
// below zero (a decrement), the modular sum over workers is still exact.
struct NodeCounters {
  uint64_t connections_accepted = 0;
  uint64_t connections_active = 0;
  uint64_t requests_in_flight = 0;
  uint64_t parse_errors = 0;
  uint64_t ejected_origins = 0;   // currently ejected (gauge; filled in by the scrape from the pools)
  uint64_t health_fail_open = 0;  // picks made while every origin failed its active checks
  uint64_t tls_handshakes = 0;    // completed
  uint64_t tls_resumed = 0;       // of which resumed from a ticket
  uint64_t tls_buffers_released = 0;  // TLS connections idle for a second that gave record buffers back
  uint64_t requests_h1 = 0;       // finished requests by downstream protocol
  uint64_t requests_h2 = 0;
  uint64_t h2_connections = 0;
  uint64_t h2_abuse = 0;  // connections ended for a flood / rapid reset
  TlsErrorCounts tls_handshake_errors{};  // by tls::HandshakeError

  void Merge(const NodeCounters& other);
};

// Every worker's counters summed (apps and origins sorted by name).
struct Counters : NodeCounters {
  std::map<std::string, AppCounters> apps;
  std::map<std::string, OriginCounters> origins;

  void Merge(const Counters& other);
};

}  // namespace edgerouter::stats

#endif  // EDGEROUTER_DATAPLANE_STATS_COUNTERS_H_
