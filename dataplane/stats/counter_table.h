// The one definition of the data plane's worker counters: a table with, per Prometheus sample
// (or per app / per origin), its metric name, HELP, type, labels and the field it reads. The
// merge over workers, the /metrics text and the NodeReport fields are all derived from it, so a
// new counter is a field in counters.h, its row in counter_table.cc and its increment.
#ifndef EDGEROUTER_DATAPLANE_STATS_COUNTER_TABLE_H_
#define EDGEROUTER_DATAPLANE_STATS_COUNTER_TABLE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "dataplane/stats/counters.h"

namespace edgerouter::stats {

enum class MetricType { kCounter, kGauge, kHistogram };
absl::string_view MetricTypeName(MetricType type);

// Whose field a row reads: the node's, or each app's / origin's (label app="…" / origin="…"
// first). kApp rows leave out apps whose value (and `shown_with`'s) is 0; kOrigin rows list
// every origin.
enum class Scope { kNode, kApp, kOrigin };

// The NodeReport field a row feeds (summed over the rows that name it).
enum class ReportField { kNone, kConnectionsOpen, kRequestsInFlight, kOriginsEjected, kOriginFailures, kOriginEjections };

// One row: one sample per scope key. The rows of a family are adjacent; the first one carries
// `help`, `type` and `label_names`, the others leave them empty.
struct CounterDef {
  absl::string_view name;
  MetricType type = MetricType::kCounter;
  absl::string_view help;
  absl::string_view label_names;  // as rendered, comma-separated ("app,code,method"); "" for none
  Scope scope = Scope::kNode;
  absl::string_view labels;  // this row's fixed labels after the scope's, e.g. kind="connect"
  // The field read (one of them, by scope), merged over workers from here:
  uint64_t NodeCounters::*node = nullptr;
  uint64_t AppCounters::*app = nullptr;
  uint64_t OriginCounters::*origin = nullptr;
  uint64_t NodeCounters::*minus = nullptr;        // kNode: value = node - minus
  uint64_t AppCounters::*shown_with = nullptr;    // kApp: also shown when this one is non-zero
  // Families that are not a field per sample (requests by code and method, the histogram, TLS
  // errors by reason) render their samples here; the struct's Merge merges their storage.
  void (*render)(const Counters& counters, std::string* out) = nullptr;
  ReportField report = ReportField::kNone;
};

// The table, in /metrics order.
absl::Span<const CounterDef> CounterTable();

// Prometheus text for merged counters, followed by `extra` (already rendered lines).
std::string RenderPrometheus(const Counters& counters, const std::string& extra);

// The sum of the rows feeding `field` (kNode or kOrigin rows).
uint64_t ReportValue(const NodeCounters& node, ReportField field);
uint64_t ReportValue(const OriginCounters& origin, ReportField field);

}  // namespace edgerouter::stats

#endif  // EDGEROUTER_DATAPLANE_STATS_COUNTER_TABLE_H_
