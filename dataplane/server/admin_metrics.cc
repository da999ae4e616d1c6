#include "dataplane/server/admin_metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "common/log/log.h"
#include "common/metrics.h"
#include "dataplane/stats/request_stats.h"
#include "dataplane/tls/cert_store.h"
#include "dataplane/turbocharger/runtime.h"

namespace edgerouter::dataplane {
namespace {

}  // namespace

stats::Counters CollectCounters(std::vector<std::unique_ptr<proxy::Worker>>& workers) {
  stats::Counters merged;
  absl::Mutex mu;
  absl::BlockingCounter done(static_cast<int>(workers.size()));
  for (auto& w : workers) {
    proxy::Worker* worker = w.get();
    worker->loop().RunOnLoop([&, worker] {
      stats::Counters mine;
      worker->stats().MergeInto(&mine);
      mine.ejected_origins = worker->pools().EjectedCount(worker->loop().now_ms());
      {
        absl::MutexLock lock(&mu);
        merged.Merge(mine);
      }
      done.DecrementCount();
    });
  }
  done.Wait();
  return merged;
}

namespace {

// The workers' AWS clients and S3 caches, collected on their own threads like the counters.
std::string AwsMetrics(std::vector<std::unique_ptr<proxy::Worker>>& workers) {
  struct Sum {
    uint64_t calls = 0, transport_errors = 0, timeouts = 0, connections = 0, in_flight = 0;
    uint64_t hits = 0, misses = 0, bytes = 0, entries = 0;
  } sum;
  absl::Mutex mu;
  absl::BlockingCounter done(static_cast<int>(workers.size()));
  for (auto& w : workers) {
    proxy::Worker* worker = w.get();
    worker->loop().RunOnLoop([&, worker] {
      if (const aws::AwsWorkerContext* ctx = worker->aws_if_created()) {
        absl::MutexLock lock(&mu);
        const aws::AwsClient& c = ctx->client();
        const aws::S3Cache& cache = ctx->cache();
        sum.calls += c.calls();
        sum.transport_errors += c.transport_errors();
        sum.timeouts += c.timeouts();
        sum.connections += c.connections_opened();
        sum.in_flight += c.in_flight();
        sum.hits += cache.hits();
        sum.misses += cache.misses();
        sum.bytes += cache.bytes();
        sum.entries += cache.entries();
      }
      done.DecrementCount();
    });
  }
  done.Wait();
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, uint64_t value) {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n", name, " ", value, "\n");
  };
  metric("er_dp_aws_calls_total", "counter", "S3 and Lambda calls started by the workers.", sum.calls);
  metric("er_dp_aws_transport_errors_total", "counter", "AWS calls without a response (timeouts included).",
         sum.transport_errors);
  metric("er_dp_aws_timeouts_total", "counter", "AWS calls that hit --aws_timeout_ms or the connect timeout.",
         sum.timeouts);
  metric("er_dp_aws_connections_opened_total", "counter", "Connections opened to AWS endpoints (keep-alive reuse shows here).",
         sum.connections);
  metric("er_dp_aws_calls_in_flight", "gauge", "AWS calls running now.", sum.in_flight);
  metric("er_dp_s3_cache_hits_total", "counter", "S3 website objects served from a worker's cache.", sum.hits);
  metric("er_dp_s3_cache_misses_total", "counter", "S3 website lookups that missed the cache.", sum.misses);
  metric("er_dp_s3_cache_bytes", "gauge", "Bytes held by the workers' S3 caches.", sum.bytes);
  metric("er_dp_s3_cache_entries", "gauge", "Objects held by the workers' S3 caches.", sum.entries);
  return out;
}

std::string DataplaneGauges(xds::XdsClient& xds, const proxy::ConfigSource& configs) {
  const xds::XdsStatus s = xds.status();
  std::shared_ptr<const proxy::RuntimeConfig> config = configs.Load();
  std::string out = tls::CertErrorCounters::Global().RenderPrometheus();
  const tls::CertStore* certs = config != nullptr ? config->certs.get() : nullptr;
  absl::StrAppend(&out, "# HELP edgerouter_certificates Snapshot certificates being served, by state.\n",
                  "# TYPE edgerouter_certificates gauge\n", "edgerouter_certificates{state=\"valid\"} ",
                  certs ? certs->loaded() - certs->expired() : 0, "\nedgerouter_certificates{state=\"expired\"} ",
                  certs ? certs->expired() : 0, "\n");
  absl::StrAppend(&out, "# HELP er_dp_controlplane_connected 1 while the discovery stream is up.\n",
                  "# TYPE er_dp_controlplane_connected gauge\ner_dp_controlplane_connected ",
                  s.connected ? 1 : 0, "\n");
  absl::StrAppend(&out, "# HELP er_dp_controlplane_failovers_total Discovery streams opened on another replica.\n",
                  "# TYPE er_dp_controlplane_failovers_total counter\ner_dp_controlplane_failovers_total ",
                  s.failovers, "\n# HELP er_dp_controlplane_full_states_total Responses carrying the full state.\n",
                  "# TYPE er_dp_controlplane_full_states_total counter\ner_dp_controlplane_full_states_total ",
                  s.full_states, "\n");
  absl::StrAppend(&out, "# HELP er_dp_controlplane_info The replica of the current (or last) discovery stream.\n",
                  "# TYPE er_dp_controlplane_info gauge\ner_dp_controlplane_info{address=\"", s.controlplane,
                  "\",replica=\"", s.replica_id, "\"} 1\n");
  absl::StrAppend(&out, "# HELP er_dp_snapshot_info The snapshot being served.\n",
                  "# TYPE er_dp_snapshot_info gauge\ner_dp_snapshot_info{version=\"",
                  config ? config->version : "", "\"} 1\n");
  absl::StrAppend(&out, "# HELP er_dp_snapshot_last_apply_timestamp_seconds When the served snapshot was applied.\n",
                  "# TYPE er_dp_snapshot_last_apply_timestamp_seconds gauge\n",
                  "er_dp_snapshot_last_apply_timestamp_seconds ",
                  config ? absl::ToUnixSeconds(config->applied_at) : 0, "\n");
  // Per app with active health checks: which apps have origins out of rotation now.
  absl::StrAppend(&out, "# HELP er_dp_origins_unhealthy Origins failing their active health checks, per app.\n",
                  "# TYPE er_dp_origins_unhealthy gauge\n");
  if (config != nullptr) {
    config->apps.ForEach([&out](const std::string&, const std::shared_ptr<const proxy::AppRuntime>& app) {
      const int n = app->chain.terminal().unhealthy_origins();
      if (n >= 0) absl::StrAppend(&out, "er_dp_origins_unhealthy{app=\"", metrics::EscapeLabelValue(app->id), "\"} ", n, "\n");
    });
  }
  absl::StrAppend(&out, "# HELP er_dp_snapshot_applies_total Snapshots accepted.\n",
                  "# TYPE er_dp_snapshot_applies_total counter\ner_dp_snapshot_applies_total ", s.applies, "\n");
  absl::StrAppend(&out, "# HELP er_dp_snapshot_nacks_total Snapshots rejected.\n",
                  "# TYPE er_dp_snapshot_nacks_total counter\ner_dp_snapshot_nacks_total ", s.nacks, "\n");
  return out;
}

// The process log's own losses: lines its writer dropped (stderr not keeping up) and lines the
// rate-limited form held back.
std::string LogMetrics() {
  const log::Logger& logger = log::Default();
  return absl::StrCat(
      "# HELP er_dp_log_dropped_lines_total Log lines dropped because stderr could not keep up.\n"
      "# TYPE er_dp_log_dropped_lines_total counter\ner_dp_log_dropped_lines_total ",
      logger.dropped_lines(),
      "\n# HELP er_dp_log_suppressed_lines_total Log lines held back by the per-key rate limit.\n"
      "# TYPE er_dp_log_suppressed_lines_total counter\ner_dp_log_suppressed_lines_total ",
      logger.suppressed_lines(), "\n");
}

}  // namespace

std::string RenderMetrics(std::vector<std::unique_ptr<proxy::Worker>>& workers, xds::XdsClient& xds,
                          const proxy::ConfigSource& configs, const proxy::AccessLogWriter* access_log) {
  turbocharger::Runtime* turbo = turbocharger::Runtime::Get();
  return stats::RenderPrometheus(CollectCounters(workers),
                                 DataplaneGauges(xds, configs) + AwsMetrics(workers) +
                                     (turbo != nullptr ? turbo->stats().RenderPrometheus(turbo->disk()) : "") +
                                     proxy::AccessLogMetrics(access_log) + LogMetrics());
}

}  // namespace edgerouter::dataplane
