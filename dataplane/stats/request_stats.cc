#include "dataplane/stats/request_stats.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/metrics.h"

namespace edgerouter::stats {

const double kBucketBounds[kBuckets] = {0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008,
                                        0.016,   0.032,  0.064, 0.128, 0.256, 0.512,
                                        1.024,   2.048,  4.096, 8.192};
const char* const kMethodNames[kMethods] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "OTHER"};

int MethodIndex(absl::string_view method) {
  for (int i = 0; i < kMethods - 1; ++i) {
    if (method == kMethodNames[i]) return i;
  }
  return kMethods - 1;
}

void AppCounters::Merge(const AppCounters& other) {
  for (const auto& [key, n] : other.requests) requests[key] += n;
  for (int i = 0; i <= kBuckets; ++i) buckets[i] += other.buckets[i];
  duration_sum += other.duration_sum;
  duration_count += other.duration_count;
  retries += other.retries;
  retries_budget_exhausted += other.retries_budget_exhausted;
  rate_limited += other.rate_limited;
}

void OriginCounters::Merge(const OriginCounters& o) {
  connect_errors += o.connect_errors;
  timeouts += o.timeouts;
  protocol_errors += o.protocol_errors;
  status_5xx += o.status_5xx;
  ejections += o.ejections;
}

void Counters::Merge(const Counters& other) {
  for (const auto& [name, app] : other.apps) apps[name].Merge(app);
  for (const auto& [url, o] : other.origins) origins[url].Merge(o);
  connections_accepted += other.connections_accepted;
  connections_active += other.connections_active;
  requests_in_flight += other.requests_in_flight;
  parse_errors += other.parse_errors;
  ejected_origins += other.ejected_origins;
  health_fail_open += other.health_fail_open;
  tls_handshakes += other.tls_handshakes;
  tls_resumed += other.tls_resumed;
  for (int i = 0; i < kTlsErrorKinds; ++i) tls_handshake_errors[i] += other.tls_handshake_errors[i];
  requests_h1 += other.requests_h1;
  requests_h2 += other.requests_h2;
  h2_connections += other.h2_connections;
  h2_abuse += other.h2_abuse;
}

void WorkerStats::Observe(AppCounters* app, uint32_t key, double seconds) {
  app->requests[key]++;
  int b = 0;
  while (b < kBuckets && seconds > kBucketBounds[b]) ++b;
  app->buckets[b]++;
  app->duration_sum += seconds;
  app->duration_count++;
}

void WorkerStats::RecordRequest(absl::string_view app, int status, absl::string_view method,
                                double seconds) {
  const uint32_t key = static_cast<uint32_t>(status) * kMethods + MethodIndex(method);
  auto it = apps_.find(app);
  if (it == apps_.end()) it = apps_.emplace(std::string(app), AppCounters()).first;
  Observe(&it->second, key, seconds);
  auto all = apps_.find(absl::string_view("_all"));
  if (all == apps_.end()) all = apps_.emplace("_all", AppCounters()).first;
  Observe(&all->second, key, seconds);
}

void WorkerStats::CountRetry(absl::string_view app, bool exhausted) {
  auto it = apps_.find(app);
  if (it == apps_.end()) it = apps_.emplace(std::string(app), AppCounters()).first;
  (exhausted ? it->second.retries_budget_exhausted : it->second.retries)++;
}

void WorkerStats::CountRateLimited(absl::string_view app) {
  auto it = apps_.find(app);
  if (it == apps_.end()) it = apps_.emplace(std::string(app), AppCounters()).first;
  it->second.rate_limited++;
}

OriginCounters& WorkerStats::origin(absl::string_view url) {
  auto it = origins_.find(url);
  if (it == origins_.end()) it = origins_.emplace(std::string(url), OriginCounters()).first;
  return it->second;
}

void WorkerStats::MergeInto(Counters* out) const {
  for (const auto& [name, app] : apps_) out->apps[name].Merge(app);
  for (const auto& [url, o] : origins_) out->origins[url].Merge(o);
  out->connections_accepted += connections_accepted;
  out->connections_active += connections_active;
  out->requests_in_flight += requests_in_flight;
  out->parse_errors += parse_errors;
  out->ejected_origins += ejected_origins;
  out->health_fail_open += health_fail_open;
  out->tls_handshakes += tls_handshakes;
  out->tls_resumed += tls_resumed;
  for (int i = 0; i < kTlsErrorKinds; ++i) out->tls_handshake_errors[i] += tls_handshake_errors[i];
  out->requests_h1 += requests_h1;
  out->requests_h2 += requests_h2;
  out->h2_connections += h2_connections;
  out->h2_abuse += h2_abuse;
}

std::string RenderPrometheus(const Counters& c, const std::string& extra) {
  using metrics::EscapeLabelValue;
  using metrics::FormatValue;
  std::string out;
  for (const char* family : {"er_requests_ok", "er_requests_fail"}) {
    const bool ok = absl::string_view(family) == "er_requests_ok";
    // edgerouter's names (no _total suffix), kept so its dashboards work unchanged.
    absl::StrAppend(&out, "# HELP ", family,
                    ok ? " Finished requests with a status below 400, by app, code and method.\n"
                       : " Finished requests with a status of 400 or more, by app, code and method.\n",
                    "# TYPE ", family, " counter\n");
    for (const auto& [app, counters] : c.apps) {
      std::map<std::pair<uint32_t, int>, uint64_t> sorted;
      for (const auto& [key, n] : counters.requests) sorted[{key / kMethods, key % kMethods}] = n;
      for (const auto& [code_method, n] : sorted) {
        if ((code_method.first < 400) != ok) continue;
        absl::StrAppend(&out, family, "{app=\"", EscapeLabelValue(app), "\",code=\"", code_method.first,
                        "\",method=\"", kMethodNames[code_method.second], "\"} ", n, "\n");
      }
    }
  }
  absl::StrAppend(&out,
                  "# HELP er_request_duration_seconds Histogram of the time (in seconds) each request took.\n"
                  "# TYPE er_request_duration_seconds histogram\n");
  for (const auto& [app, counters] : c.apps) {
    const std::string label = EscapeLabelValue(app);
    uint64_t cumulative = 0;
    for (int b = 0; b <= kBuckets; ++b) {
      cumulative += counters.buckets[b];
      absl::StrAppend(&out, "er_request_duration_seconds_bucket{app=\"", label, "\",le=\"",
                      b < kBuckets ? absl::StrFormat("%g", kBucketBounds[b]) : "+Inf", "\"} ", cumulative, "\n");
    }
    absl::StrAppend(&out, "er_request_duration_seconds_sum{app=\"", label, "\"} ",
                    FormatValue(counters.duration_sum), "\n");
    absl::StrAppend(&out, "er_request_duration_seconds_count{app=\"", label, "\"} ",
                    counters.duration_count, "\n");
  }
  absl::StrAppend(&out, "# HELP er_dp_rate_limited_total Requests refused (429) by an app's rate_limit policy.\n",
                  "# TYPE er_dp_rate_limited_total counter\n");
  for (const auto& [app, counters] : c.apps) {
    if (counters.rate_limited == 0) continue;
    absl::StrAppend(&out, "er_dp_rate_limited_total{app=\"", EscapeLabelValue(app), "\"} ", counters.rate_limited, "\n");
  }
  absl::StrAppend(&out, "# HELP er_dp_connections_accepted_total Client connections accepted.\n",
                  "# TYPE er_dp_connections_accepted_total counter\n",
                  "er_dp_connections_accepted_total ", c.connections_accepted, "\n");
  absl::StrAppend(&out, "# HELP er_dp_connections Open client connections.\n# TYPE er_dp_connections gauge\n",
                  "er_dp_connections ", c.connections_active, "\n");
  absl::StrAppend(&out, "# HELP er_dp_requests_in_flight Requests being served.\n",
                  "# TYPE er_dp_requests_in_flight gauge\ner_dp_requests_in_flight ", c.requests_in_flight, "\n");
  absl::StrAppend(&out, "# HELP er_dp_parse_errors_total Requests rejected by the HTTP parser.\n",
                  "# TYPE er_dp_parse_errors_total counter\ner_dp_parse_errors_total ", c.parse_errors, "\n");
  absl::StrAppend(&out, "# HELP er_dp_ejected_origins Origins currently ejected by passive health checks (sum over workers).\n",
                  "# TYPE er_dp_ejected_origins gauge\ner_dp_ejected_origins ", c.ejected_origins, "\n");
  absl::StrAppend(&out, "# HELP er_dp_health_fail_open_total Origin picks made while every origin of the backend failed its active health checks (fail open).\n",
                  "# TYPE er_dp_health_fail_open_total counter\ner_dp_health_fail_open_total ", c.health_fail_open, "\n");
  absl::StrAppend(&out, "# HELP er_dp_retries_total Origin attempts retried by policies.retry.\n",
                  "# TYPE er_dp_retries_total counter\n");
  for (const auto& [app, counters] : c.apps) {
    if (counters.retries + counters.retries_budget_exhausted == 0) continue;
    absl::StrAppend(&out, "er_dp_retries_total{app=\"", EscapeLabelValue(app), "\"} ", counters.retries, "\n");
  }
  absl::StrAppend(&out, "# HELP er_dp_retries_budget_exhausted_total Retries refused by the retry budget.\n",
                  "# TYPE er_dp_retries_budget_exhausted_total counter\n");
  for (const auto& [app, counters] : c.apps) {
    if (counters.retries + counters.retries_budget_exhausted == 0) continue;
    absl::StrAppend(&out, "er_dp_retries_budget_exhausted_total{app=\"", EscapeLabelValue(app), "\"} ",
                    counters.retries_budget_exhausted, "\n");
  }
  absl::StrAppend(&out, "# HELP er_dp_upstream_errors_total Upstream failures by origin and kind.\n",
                  "# TYPE er_dp_upstream_errors_total counter\n");
  for (const auto& [url, o] : c.origins) {
    const std::string label = EscapeLabelValue(url);
    const std::pair<const char*, uint64_t> kinds[] = {{"connect", o.connect_errors},
                                                      {"timeout", o.timeouts},
                                                      {"protocol", o.protocol_errors},
                                                      {"5xx", o.status_5xx}};
    for (const auto& [kind, n] : kinds) {
      absl::StrAppend(&out, "er_dp_upstream_errors_total{origin=\"", label, "\",kind=\"", kind, "\"} ", n, "\n");
    }
  }
  absl::StrAppend(&out, "# HELP er_dp_origin_ejections_total Passive-health ejections by origin.\n",
                  "# TYPE er_dp_origin_ejections_total counter\n");
  for (const auto& [url, o] : c.origins) {
    absl::StrAppend(&out, "er_dp_origin_ejections_total{origin=\"", EscapeLabelValue(url), "\"} ", o.ejections, "\n");
  }
  absl::StrAppend(&out, "# HELP er_dp_requests_by_protocol_total Finished requests by downstream protocol.\n",
                  "# TYPE er_dp_requests_by_protocol_total counter\n",
                  "er_dp_requests_by_protocol_total{protocol=\"http/1.1\"} ", c.requests_h1, "\n",
                  "er_dp_requests_by_protocol_total{protocol=\"h2\"} ", c.requests_h2, "\n",
                  "# HELP er_dp_h2_connections_total HTTP/2 client connections.\n",
                  "# TYPE er_dp_h2_connections_total counter\n", "er_dp_h2_connections_total ", c.h2_connections, "\n",
                  "# HELP er_dp_h2_abuse_total HTTP/2 connections ended with ENHANCE_YOUR_CALM (floods, rapid reset).\n",
                  "# TYPE er_dp_h2_abuse_total counter\n", "er_dp_h2_abuse_total ", c.h2_abuse, "\n");
  absl::StrAppend(&out, "# HELP edgerouter_tls_handshakes_total Completed TLS handshakes, by resumption.\n",
                  "# TYPE edgerouter_tls_handshakes_total counter\n",
                  "edgerouter_tls_handshakes_total{resumed=\"false\"} ", c.tls_handshakes - c.tls_resumed, "\n",
                  "edgerouter_tls_handshakes_total{resumed=\"true\"} ", c.tls_resumed, "\n");
  absl::StrAppend(&out, "# HELP edgerouter_tls_handshake_errors_total Failed TLS handshakes, by reason.\n",
                  "# TYPE edgerouter_tls_handshake_errors_total counter\n");
  for (int i = 1; i < kTlsErrorKinds; ++i) {
    absl::StrAppend(&out, "edgerouter_tls_handshake_errors_total{reason=\"",
                    tls::HandshakeErrorName(static_cast<tls::HandshakeError>(i)), "\"} ",
                    c.tls_handshake_errors[i], "\n");
  }
  out += extra;
  return out;
}

}  // namespace edgerouter::stats
