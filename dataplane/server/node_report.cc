#include "dataplane/server/node_report.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "absl/time/clock.h"

namespace edgerouter::dataplane {
namespace {

// Requests and 5xx of an app's (status, method) counters.
std::pair<uint64_t, uint64_t> Totals(const stats::AppCounters& app) {
  uint64_t requests = 0, errors = 0;
  for (const auto& [key, n] : app.requests) {
    requests += n;
    if (key / stats::kMethods >= 500) errors += n;
  }
  return {requests, errors};
}

// Which counters make a report field is said once, in the counter table.
uint64_t Failures(const stats::OriginCounters& o) {
  return stats::ReportValue(o, stats::ReportField::kOriginFailures);
}

// Counters only grow, except across a restart of the worker set: never below zero.
uint64_t Delta(uint64_t now, uint64_t before) { return now > before ? now - before : 0; }

}  // namespace

double BucketQuantile(const std::array<uint64_t, stats::kBuckets + 1>& buckets, double q) {
  uint64_t total = 0;
  for (uint64_t n : buckets) total += n;
  if (total == 0) return 0;
  const double rank = q * static_cast<double>(total);
  uint64_t seen = 0;
  for (int b = 0; b < stats::kBuckets; ++b) {
    seen += buckets[b];
    if (static_cast<double>(seen) >= rank) return stats::kBucketBounds[b];
  }
  return stats::kBucketBounds[stats::kBuckets - 1];
}

discovery::v1::NodeReport BuildNodeReport(const stats::Counters& now, const stats::Counters& before,
                                      absl::Duration interval, const proxy::RuntimeConfig* config,
                                      const ReportLimits& limits) {
  discovery::v1::NodeReport report;
  report.set_sent_unix_ms(absl::ToUnixMillis(absl::Now()));
  report.set_interval_ms(absl::ToInt64Milliseconds(interval));
  if (config != nullptr) report.set_version_served(config->version);
  report.set_connections_open(stats::ReportValue(now, stats::ReportField::kConnectionsOpen));
  report.set_requests_in_flight(stats::ReportValue(now, stats::ReportField::kRequestsInFlight));
  report.set_origins_ejected(stats::ReportValue(now, stats::ReportField::kOriginsEjected));

  std::vector<discovery::v1::AppTraffic> apps;
  for (const auto& [name, app] : now.apps) {
    discovery::v1::AppTraffic t;
    t.set_app(name);
    const auto [requests, errors] = Totals(app);
    t.set_requests_total(requests);
    t.set_errors_total(errors);
    std::array<uint64_t, stats::kBuckets + 1> buckets = app.buckets;
    auto old = before.apps.find(name);
    if (old != before.apps.end()) {
      const auto [old_requests, old_errors] = Totals(old->second);
      t.set_requests(Delta(requests, old_requests));
      t.set_errors(Delta(errors, old_errors));
      for (size_t b = 0; b < buckets.size(); ++b) buckets[b] = Delta(buckets[b], old->second.buckets[b]);
    } else {
      t.set_requests(requests);
      t.set_errors(errors);
    }
    t.set_p50_seconds(BucketQuantile(buckets, 0.5));
    t.set_p99_seconds(BucketQuantile(buckets, 0.99));
    apps.push_back(std::move(t));
  }
  // Busiest first ("_all", the node's total, is always the busiest).
  std::sort(apps.begin(), apps.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(b.requests(), b.requests_total(), a.app()) <
           std::make_tuple(a.requests(), a.requests_total(), b.app());
  });
  if (apps.size() > limits.apps) {
    apps.resize(limits.apps);
    report.set_truncated(true);
  }
  for (auto& a : apps) *report.add_apps() = std::move(a);

  std::vector<discovery::v1::OriginHealth> origins;
  for (const auto& [url, o] : now.origins) {
    discovery::v1::OriginHealth h;
    h.set_origin(url);
    h.set_failures_total(Failures(o));
    h.set_ejections_total(stats::ReportValue(o, stats::ReportField::kOriginEjections));
    auto old = before.origins.find(url);
    h.set_failures(old == before.origins.end() ? Failures(o) : Delta(Failures(o), Failures(old->second)));
    h.set_healthy(h.failures() == 0);
    origins.push_back(std::move(h));
  }
  // Failing now first, then the most failures overall.
  std::sort(origins.begin(), origins.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(a.healthy(), b.failures(), b.failures_total(), a.origin()) <
           std::make_tuple(b.healthy(), a.failures(), a.failures_total(), b.origin());
  });
  if (origins.size() > limits.origins) {
    origins.resize(limits.origins);
    report.set_truncated(true);
  }
  for (auto& o : origins) *report.add_origins() = std::move(o);

  if (config != nullptr && config->certs != nullptr) {
    std::vector<const tls::CertEntry*> certs;
    for (const auto& e : config->certs->entries()) certs.push_back(e.get());
    // Soonest expiry first: those are the ones an operator must see.
    std::sort(certs.begin(), certs.end(), [](const tls::CertEntry* a, const tls::CertEntry* b) {
      return std::tie(a->not_after, a->id) < std::tie(b->not_after, b->id);
    });
    if (certs.size() > limits.certificates) {
      certs.resize(limits.certificates);
      report.set_truncated(true);
    }
    for (const tls::CertEntry* e : certs) {
      discovery::v1::CertificateInUse* c = report.add_certificates();
      c->set_id(e->id);
      for (const std::string& d : e->domains) c->add_domains(d);
      if (e->not_after != absl::InfiniteFuture()) c->set_not_after_unix(absl::ToUnixSeconds(e->not_after));
      c->set_error(e->error);
    }
  }
  return report;
}

discovery::v1::NodeReport NodeReporter::Next() {
  stats::Counters now = collect_();
  std::shared_ptr<const proxy::RuntimeConfig> config = config_();
  absl::MutexLock lock(&mu_);
  const absl::Time at = absl::Now();
  discovery::v1::NodeReport report = BuildNodeReport(now, previous_, at - previous_at_, config.get());
  report.set_started_unix_ms(absl::ToUnixMillis(started_));
  previous_ = std::move(now);
  previous_at_ = at;
  return report;
}

}  // namespace edgerouter::dataplane
