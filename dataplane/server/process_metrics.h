// The data plane's process-level families (xDS client, served snapshot and certificates,
// active health, the workers' AWS clients and S3 caches, the process log): one table with each
// family's name, type, HELP, label names and how its samples are read from a `ProcessState`
// captured at scrape time. The worker counters have their own table (stats/counter_table.h);
// turbocharger, the access log and certificate errors render their own families.
#ifndef EDGEROUTER_DATAPLANE_SERVER_PROCESS_METRICS_H_
#define EDGEROUTER_DATAPLANE_SERVER_PROCESS_METRICS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "dataplane/stats/counter_table.h"
#include "dataplane/xds/xds_client.h"

namespace edgerouter::dataplane {

// Sums over the workers' AWS clients and S3 caches.
struct AwsTotals {
  uint64_t calls = 0, transport_errors = 0, timeouts = 0, connections = 0, in_flight = 0;
  uint64_t hits = 0, misses = 0, bytes = 0, entries = 0;
};

// Everything the process families read, captured once per scrape.
struct ProcessState {
  xds::XdsStatus xds;
  uint64_t certificates = 0;  // loaded by the served config
  uint64_t certificates_expired = 0;
  std::string version;  // of the served config ("" before the first)
  int64_t applied_unix = 0;
  std::vector<std::pair<std::string, int>> unhealthy;  // per app with active health checks
  AwsTotals aws;
  uint64_t log_dropped = 0;
  uint64_t log_suppressed = 0;
};

struct ProcessMetricDef {
  absl::string_view name;
  stats::MetricType type = stats::MetricType::kCounter;
  absl::string_view help;
  absl::string_view label_names;  // comma-separated, "" for none
  // How it is read: the one unlabelled sample's value, or (labelled families) the samples.
  uint64_t (*value)(const ProcessState& state) = nullptr;
  void (*samples)(const ProcessState& state, absl::string_view name, std::string* out) = nullptr;
};

absl::Span<const ProcessMetricDef> ProcessMetricTable();

// Every family of the table, headers and samples, in table order.
std::string RenderProcessMetrics(const ProcessState& state);

}  // namespace edgerouter::dataplane

#endif  // EDGEROUTER_DATAPLANE_SERVER_PROCESS_METRICS_H_
