#include "dataplane/server/admin_metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "common/log/log.h"
#include "dataplane/server/process_metrics.h"
#include "dataplane/stats/request_stats.h"
#include "dataplane/tls/cert_store.h"
#include "dataplane/turbocharger/runtime.h"

namespace edgerouter::dataplane {

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
AwsTotals CollectAws(std::vector<std::unique_ptr<proxy::Worker>>& workers) {
  AwsTotals sum;
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
  return sum;
}

ProcessState CaptureProcessState(std::vector<std::unique_ptr<proxy::Worker>>& workers, xds::XdsClient& xds,
                                 const proxy::ConfigSource& configs) {
  ProcessState state;
  state.xds = xds.status();
  std::shared_ptr<const proxy::RuntimeConfig> config = configs.Load();
  if (config != nullptr) {
    if (const tls::CertStore* certs = config->certs.get()) {
      state.certificates = certs->loaded();
      state.certificates_expired = certs->expired();
    }
    state.version = config->version;
    state.applied_unix = absl::ToUnixSeconds(config->applied_at);
    config->apps.ForEach([&state](const std::string&, const std::shared_ptr<const proxy::AppRuntime>& app) {
      const int n = app->chain.terminal().unhealthy_origins();
      if (n >= 0) state.unhealthy.emplace_back(app->id, n);
    });
  }
  state.aws = CollectAws(workers);
  state.log_dropped = log::Default().dropped_lines();
  state.log_suppressed = log::Default().suppressed_lines();
  return state;
}

}  // namespace

std::string RenderMetrics(std::vector<std::unique_ptr<proxy::Worker>>& workers, xds::XdsClient& xds,
                          const proxy::ConfigSource& configs, const proxy::AccessLogWriter* access_log) {
  turbocharger::Runtime* turbo = turbocharger::Runtime::Get();
  return stats::RenderPrometheus(CollectCounters(workers),
                                 tls::CertErrorCounters::Global().RenderPrometheus() +
                                     RenderProcessMetrics(CaptureProcessState(workers, xds, configs)) +
                                     (turbo != nullptr ? turbo->stats().RenderPrometheus(turbo->disk()) : "") +
                                     proxy::AccessLogMetrics(access_log));
}

}  // namespace edgerouter::dataplane
