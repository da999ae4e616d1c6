#include "dataplane/stats/counter_table.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/metrics.h"

namespace edgerouter::stats {
namespace {

using metrics::EscapeLabelValue;

// er_requests_ok / er_requests_fail: the (status, method) map split at 400, sorted.
void RenderRequests(const Counters& c, bool ok, std::string* out) {
  const char* family = ok ? "er_requests_ok" : "er_requests_fail";
  for (const auto& [app, counters] : c.apps) {
    std::map<std::pair<uint32_t, int>, uint64_t> sorted;
    for (const auto& [key, n] : counters.requests) sorted[{key / kMethods, key % kMethods}] = n;
    for (const auto& [code_method, n] : sorted) {
      if ((code_method.first < 400) != ok) continue;
      absl::StrAppend(out, family, "{app=\"", EscapeLabelValue(app), "\",code=\"", code_method.first,
                      "\",method=\"", kMethodNames[code_method.second], "\"} ", n, "\n");
    }
  }
}

void RenderDurations(const Counters& c, std::string* out) {
  for (const auto& [app, counters] : c.apps) {
    const std::string label = EscapeLabelValue(app);
    uint64_t cumulative = 0;
    for (int b = 0; b <= kBuckets; ++b) {
      cumulative += counters.buckets[b];
      absl::StrAppend(out, "er_request_duration_seconds_bucket{app=\"", label, "\",le=\"",
                      b < kBuckets ? absl::StrFormat("%g", kBucketBounds[b]) : "+Inf", "\"} ", cumulative, "\n");
    }
    absl::StrAppend(out, "er_request_duration_seconds_sum{app=\"", label, "\"} ",
                    metrics::FormatValue(counters.duration_sum), "\n");
    absl::StrAppend(out, "er_request_duration_seconds_count{app=\"", label, "\"} ", counters.duration_count, "\n");
  }
}

void RenderTlsErrors(const Counters& c, std::string* out) {
  for (int i = 1; i < kTlsErrorKinds; ++i) {  // 0 is "no error"
    absl::StrAppend(out, "edgerouter_tls_handshake_errors_total{reason=\"",
                    tls::HandshakeErrorName(static_cast<tls::HandshakeError>(i)), "\"} ",
                    c.tls_handshake_errors[i], "\n");
  }
}

using T = MetricType;
using S = Scope;
using R = ReportField;
using N = NodeCounters;
using A = AppCounters;
using O = OriginCounters;

// edgerouter's names (er_requests_*, er_request_duration_seconds: no _total suffix) are kept so
// its dashboards work unchanged.
constexpr CounterDef kTable[] = {
    {.name = "er_requests_ok", .help = "Finished requests with a status below 400, by app, code and method.",
     .label_names = "app,code,method", .render = [](const Counters& c, std::string* out) { RenderRequests(c, true, out); }},
    {.name = "er_requests_fail", .help = "Finished requests with a status of 400 or more, by app, code and method.",
     .label_names = "app,code,method", .render = [](const Counters& c, std::string* out) { RenderRequests(c, false, out); }},
    {.name = "er_request_duration_seconds", .type = T::kHistogram,
     .help = "Histogram of the time (in seconds) each request took.", .label_names = "app,le", .render = RenderDurations},
    {.name = "er_dp_rate_limited_total", .help = "Requests refused (429) by an app's rate_limit policy.",
     .label_names = "app", .scope = S::kApp, .app = &A::rate_limited},
    {.name = "er_dp_connections_accepted_total", .help = "Client connections accepted.", .node = &N::connections_accepted},
    {.name = "er_dp_connections", .type = T::kGauge, .help = "Open client connections.",
     .node = &N::connections_active, .report = R::kConnectionsOpen},
    {.name = "er_dp_requests_in_flight", .type = T::kGauge, .help = "Requests being served.",
     .node = &N::requests_in_flight, .report = R::kRequestsInFlight},
    {.name = "er_dp_parse_errors_total", .help = "Requests rejected by the HTTP parser.", .node = &N::parse_errors},
    {.name = "er_dp_ejected_origins", .type = T::kGauge,
     .help = "Origins currently ejected by passive health checks (sum over workers).",
     .node = &N::ejected_origins, .report = R::kOriginsEjected},
    {.name = "er_dp_health_fail_open_total",
     .help = "Origin picks made while every origin of the backend failed its active health checks (fail open).",
     .node = &N::health_fail_open},
    {.name = "er_dp_retries_total", .help = "Origin attempts retried by policies.retry.", .label_names = "app",
     .scope = S::kApp, .app = &A::retries, .shown_with = &A::retries_budget_exhausted},
    {.name = "er_dp_retries_budget_exhausted_total", .help = "Retries refused by the retry budget.",
     .label_names = "app", .scope = S::kApp, .app = &A::retries_budget_exhausted, .shown_with = &A::retries},
    {.name = "er_dp_upstream_errors_total", .help = "Upstream failures by origin and kind.",
     .label_names = "origin,kind", .scope = S::kOrigin, .labels = "kind=\"connect\"",
     .origin = &O::connect_errors, .report = R::kOriginFailures},
    {.name = "er_dp_upstream_errors_total", .scope = S::kOrigin, .labels = "kind=\"timeout\"",
     .origin = &O::timeouts, .report = R::kOriginFailures},
    {.name = "er_dp_upstream_errors_total", .scope = S::kOrigin, .labels = "kind=\"protocol\"",
     .origin = &O::protocol_errors, .report = R::kOriginFailures},
    {.name = "er_dp_upstream_errors_total", .scope = S::kOrigin, .labels = "kind=\"5xx\"",
     .origin = &O::status_5xx, .report = R::kOriginFailures},
    {.name = "er_dp_origin_ejections_total", .help = "Passive-health ejections by origin.", .label_names = "origin",
     .scope = S::kOrigin, .origin = &O::ejections, .report = R::kOriginEjections},
    {.name = "er_dp_requests_by_protocol_total", .help = "Finished requests by downstream protocol.",
     .label_names = "protocol", .labels = "protocol=\"http/1.1\"", .node = &N::requests_h1},
    {.name = "er_dp_requests_by_protocol_total", .labels = "protocol=\"h2\"", .node = &N::requests_h2},
    {.name = "er_dp_h2_connections_total", .help = "HTTP/2 client connections.", .node = &N::h2_connections},
    {.name = "er_dp_h2_abuse_total", .help = "HTTP/2 connections ended with ENHANCE_YOUR_CALM (floods, rapid reset).",
     .node = &N::h2_abuse},
    {.name = "edgerouter_tls_handshakes_total", .help = "Completed TLS handshakes, by resumption.",
     .label_names = "resumed", .labels = "resumed=\"false\"", .node = &N::tls_handshakes, .minus = &N::tls_resumed},
    {.name = "edgerouter_tls_handshakes_total", .labels = "resumed=\"true\"", .node = &N::tls_resumed},
    {.name = "er_dp_tls_idle_buffer_releases_total",
     .help = "TLS connections that gave their record buffers back after a second without a request or stream.",
     .node = &N::tls_buffers_released},
    {.name = "edgerouter_tls_handshake_errors_total", .help = "Failed TLS handshakes, by reason.",
     .label_names = "reason", .render = RenderTlsErrors},
};

template <typename F>
constexpr int CountRows(F CounterDef::*field) {
  int n = 0;
  for (const CounterDef& row : kTable) n += row.*field != nullptr ? 1 : 0;
  return n;
}

template <typename F>
constexpr bool FieldsDistinct(F CounterDef::*field) {
  for (const CounterDef& a : kTable) {
    for (const CounterDef& b : kTable) {
      if (&a != &b && a.*field != nullptr && a.*field == b.*field) return false;
    }
  }
  return true;
}

// Every plain field has exactly one row, so the table-driven merges below miss none.
static_assert(FieldsDistinct(&CounterDef::node) && FieldsDistinct(&CounterDef::app) &&
                  FieldsDistinct(&CounterDef::origin),
              "a counter field is read by two rows of kTable");
static_assert(sizeof(NodeCounters) == CountRows(&CounterDef::node) * sizeof(uint64_t) + sizeof(TlsErrorCounts),
              "a NodeCounters field has no row in kTable");
static_assert(sizeof(OriginCounters) == CountRows(&CounterDef::origin) * sizeof(uint64_t),
              "an OriginCounters field has no row in kTable");
static_assert(sizeof(AppCounters) == sizeof(AppCounters::requests) + sizeof(AppCounters::buckets) +
                                         sizeof(double) + sizeof(uint64_t) +
                                         CountRows(&CounterDef::app) * sizeof(uint64_t),
              "an AppCounters field has no row in kTable");

void AppendSample(std::string* out, absl::string_view name, absl::string_view key_name, absl::string_view key,
                  absl::string_view labels, uint64_t value) {
  absl::StrAppend(out, name);
  if (!key_name.empty() || !labels.empty()) {
    out->push_back('{');
    if (!key_name.empty()) absl::StrAppend(out, key_name, "=\"", EscapeLabelValue(key), "\"", labels.empty() ? "" : ",");
    absl::StrAppend(out, labels, "}");
  }
  absl::StrAppend(out, " ", value, "\n");
}

// Samples of the family in rows [begin, end).
void RenderFamily(const Counters& c, const CounterDef* begin, const CounterDef* end, std::string* out) {
  switch (begin->scope) {
    case Scope::kNode:
      for (const CounterDef* row = begin; row != end; ++row) {
        const uint64_t value = c.*row->node - (row->minus != nullptr ? c.*row->minus : 0);
        AppendSample(out, row->name, "", "", row->labels, value);
      }
      return;
    case Scope::kApp:
      for (const auto& [app, counters] : c.apps) {
        for (const CounterDef* row = begin; row != end; ++row) {
          const uint64_t value = counters.*row->app;
          if (value == 0 && (row->shown_with == nullptr || counters.*row->shown_with == 0)) continue;
          AppendSample(out, row->name, "app", app, row->labels, value);
        }
      }
      return;
    case Scope::kOrigin:
      for (const auto& [url, counters] : c.origins) {
        for (const CounterDef* row = begin; row != end; ++row) {
          AppendSample(out, row->name, "origin", url, row->labels, counters.*row->origin);
        }
      }
      return;
  }
}

}  // namespace

absl::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

absl::Span<const CounterDef> CounterTable() { return kTable; }

void NodeCounters::Merge(const NodeCounters& other) {
  for (const CounterDef& row : kTable) {
    if (row.node != nullptr) this->*row.node += other.*row.node;
  }
  for (int i = 0; i < kTlsErrorKinds; ++i) tls_handshake_errors[i] += other.tls_handshake_errors[i];
}

void AppCounters::Merge(const AppCounters& other) {
  for (const auto& [key, n] : other.requests) requests[key] += n;
  for (int i = 0; i <= kBuckets; ++i) buckets[i] += other.buckets[i];
  duration_sum += other.duration_sum;
  duration_count += other.duration_count;
  for (const CounterDef& row : kTable) {
    if (row.app != nullptr) this->*row.app += other.*row.app;
  }
}

void OriginCounters::Merge(const OriginCounters& other) {
  for (const CounterDef& row : kTable) {
    if (row.origin != nullptr) this->*row.origin += other.*row.origin;
  }
}

void Counters::Merge(const Counters& other) {
  NodeCounters::Merge(other);
  for (const auto& [name, app] : other.apps) apps[name].Merge(app);
  for (const auto& [url, o] : other.origins) origins[url].Merge(o);
}

std::string RenderPrometheus(const Counters& c, const std::string& extra) {
  std::string out;
  const CounterDef* const end = kTable + std::size(kTable);
  for (const CounterDef* family = kTable; family != end;) {
    const CounterDef* next = family + 1;
    while (next != end && next->name == family->name) ++next;
    metrics::AppendFamilyHeader(&out, family->name, MetricTypeName(family->type), family->help);
    if (family->render != nullptr) {
      family->render(c, &out);
    } else {
      RenderFamily(c, family, next, &out);
    }
    family = next;
  }
  out += extra;
  return out;
}

uint64_t ReportValue(const NodeCounters& node, ReportField field) {
  uint64_t sum = 0;
  for (const CounterDef& row : kTable) {
    if (row.report == field && row.node != nullptr) sum += node.*row.node;
  }
  return sum;
}

uint64_t ReportValue(const OriginCounters& origin, ReportField field) {
  uint64_t sum = 0;
  for (const CounterDef& row : kTable) {
    if (row.report == field && row.origin != nullptr) sum += origin.*row.origin;
  }
  return sum;
}

}  // namespace edgerouter::stats
