#include "dataplane/server/process_metrics.h"

#include "absl/strings/str_cat.h"
#include "common/metrics.h"

namespace edgerouter::dataplane {
namespace {

using metrics::EscapeLabelValue;
using stats::MetricType;
using P = ProcessState;

constexpr ProcessMetricDef kTable[] = {
    {.name = "edgerouter_certificates", .type = MetricType::kGauge,
     .help = "Snapshot certificates being served, by state.", .label_names = "state",
     .samples = [](const P& s, absl::string_view name, std::string* out) {
       absl::StrAppend(out, name, "{state=\"valid\"} ", s.certificates - s.certificates_expired, "\n", name,
                       "{state=\"expired\"} ", s.certificates_expired, "\n");
     }},
    {.name = "er_dp_controlplane_connected", .type = MetricType::kGauge,
     .help = "1 while the discovery stream is up.",
     .value = [](const P& s) -> uint64_t { return s.xds.connected ? 1 : 0; }},
    {.name = "er_dp_controlplane_failovers_total", .help = "Discovery streams opened on another replica.",
     .value = [](const P& s) -> uint64_t { return s.xds.failovers; }},
    {.name = "er_dp_controlplane_full_states_total", .help = "Responses carrying the full state.",
     .value = [](const P& s) -> uint64_t { return s.xds.full_states; }},
    {.name = "er_dp_controlplane_info", .type = MetricType::kGauge,
     .help = "The replica of the current (or last) discovery stream.", .label_names = "address,replica",
     .samples = [](const P& s, absl::string_view name, std::string* out) {
       absl::StrAppend(out, name, "{address=\"", EscapeLabelValue(s.xds.controlplane), "\",replica=\"",
                       EscapeLabelValue(s.xds.replica_id), "\"} 1\n");
     }},
    {.name = "er_dp_snapshot_info", .type = MetricType::kGauge, .help = "The snapshot being served.",
     .label_names = "version", .samples = [](const P& s, absl::string_view name, std::string* out) {
       absl::StrAppend(out, name, "{version=\"", EscapeLabelValue(s.version), "\"} 1\n");
     }},
    {.name = "er_dp_snapshot_last_apply_timestamp_seconds", .type = MetricType::kGauge,
     .help = "When the served snapshot was applied.",
     .samples = [](const P& s, absl::string_view name, std::string* out) {
       absl::StrAppend(out, name, " ", s.applied_unix, "\n");
     }},
    // Per app with active health checks: which apps have origins out of rotation now.
    {.name = "er_dp_origins_unhealthy", .type = MetricType::kGauge,
     .help = "Origins failing their active health checks, per app.", .label_names = "app",
     .samples = [](const P& s, absl::string_view name, std::string* out) {
       for (const auto& [app, n] : s.unhealthy) {
         absl::StrAppend(out, name, "{app=\"", EscapeLabelValue(app), "\"} ", n, "\n");
       }
     }},
    {.name = "er_dp_snapshot_applies_total", .help = "Snapshots accepted.",
     .value = [](const P& s) -> uint64_t { return s.xds.applies; }},
    {.name = "er_dp_snapshot_nacks_total", .help = "Snapshots rejected.",
     .value = [](const P& s) -> uint64_t { return s.xds.nacks; }},
    {.name = "er_dp_aws_calls_total", .help = "S3 and Lambda calls started by the workers.",
     .value = [](const P& s) -> uint64_t { return s.aws.calls; }},
    {.name = "er_dp_aws_transport_errors_total", .help = "AWS calls without a response (timeouts included).",
     .value = [](const P& s) -> uint64_t { return s.aws.transport_errors; }},
    {.name = "er_dp_aws_timeouts_total", .help = "AWS calls that hit --aws_timeout_ms or the connect timeout.",
     .value = [](const P& s) -> uint64_t { return s.aws.timeouts; }},
    {.name = "er_dp_aws_connections_opened_total",
     .help = "Connections opened to AWS endpoints (keep-alive reuse shows here).",
     .value = [](const P& s) -> uint64_t { return s.aws.connections; }},
    {.name = "er_dp_aws_calls_in_flight", .type = MetricType::kGauge, .help = "AWS calls running now.",
     .value = [](const P& s) -> uint64_t { return s.aws.in_flight; }},
    {.name = "er_dp_s3_cache_hits_total", .help = "S3 website objects served from a worker's cache.",
     .value = [](const P& s) -> uint64_t { return s.aws.hits; }},
    {.name = "er_dp_s3_cache_misses_total", .help = "S3 website lookups that missed the cache.",
     .value = [](const P& s) -> uint64_t { return s.aws.misses; }},
    {.name = "er_dp_s3_cache_bytes", .type = MetricType::kGauge, .help = "Bytes held by the workers' S3 caches.",
     .value = [](const P& s) -> uint64_t { return s.aws.bytes; }},
    {.name = "er_dp_s3_cache_entries", .type = MetricType::kGauge, .help = "Objects held by the workers' S3 caches.",
     .value = [](const P& s) -> uint64_t { return s.aws.entries; }},
    // The process log's own losses: lines its writer dropped (stderr not keeping up) and lines
    // the rate-limited form held back.
    {.name = "er_dp_log_dropped_lines_total", .help = "Log lines dropped because stderr could not keep up.",
     .value = [](const P& s) -> uint64_t { return s.log_dropped; }},
    {.name = "er_dp_log_suppressed_lines_total", .help = "Log lines held back by the per-key rate limit.",
     .value = [](const P& s) -> uint64_t { return s.log_suppressed; }},
};

}  // namespace

absl::Span<const ProcessMetricDef> ProcessMetricTable() { return kTable; }

std::string RenderProcessMetrics(const ProcessState& state) {
  std::string out;
  for (const ProcessMetricDef& family : kTable) {
    metrics::AppendFamilyHeader(&out, family.name, stats::MetricTypeName(family.type), family.help);
    if (family.value != nullptr) {
      absl::StrAppend(&out, family.name, " ", family.value(state), "\n");
    } else {
      family.samples(state, family.name, &out);
    }
  }
  return out;
}

}  // namespace edgerouter::dataplane
