// dataplane: the edge proxy. Workers (one epoll loop each, SO_REUSEPORT listeners) serve
// HTTP/1.1; the xDS thread applies snapshots from the control plane (or, at start, from the
// last-good copy in --state_dir) and publishes them with one atomic swap; an admin listener on
// loopback serves /metrics, /ready and /config_dump.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "common/aws/aws_request.h"
#include "common/http_admin_server.h"
#include "common/metrics.h"
#include "dataplane/proxy/runtime_config.h"
#include "dataplane/proxy/worker.h"
#include "dataplane/stats/request_stats.h"
#include "dataplane/xds/xds_client.h"

ABSL_FLAG(std::string, controlplane, "127.0.0.1:18000", "control plane gRPC address");
ABSL_FLAG(std::string, node_id, "", "node id reported to the control plane (default: hostname)");
ABSL_FLAG(std::string, http_listen, ":80", "plain HTTP listener");
ABSL_FLAG(std::string, admin_listen, "127.0.0.1:9901", "admin listener: /metrics /ready /config_dump");
ABSL_FLAG(int, workers, 0, "worker threads (0 = number of cores)");
ABSL_FLAG(std::string, state_dir, "./edgerouter-dp-state", "holds the last accepted snapshot");
ABSL_FLAG(std::string, access_log, "off", "off | stdout | PATH: one JSON line per request");
ABSL_FLAG(int, drain_timeout_ms, 10000, "on SIGTERM, how long in-flight requests may finish");
ABSL_FLAG(int, header_timeout_ms, 60000, "a request head must arrive within this");
ABSL_FLAG(int, idle_timeout_ms, 60000, "idle keep-alive client connections are closed after this");
ABSL_FLAG(int, upstream_connect_timeout_ms, 5000, "origin connect timeout (then 502 / retry)");
ABSL_FLAG(int, upstream_response_timeout_ms, 60000, "origin silent for this long: 504 (or close)");
ABSL_FLAG(int, max_request_line, 8192, "longer request lines get 414");
ABSL_FLAG(int, max_header_bytes, 65536, "larger request heads get 431");
ABSL_FLAG(int, max_connections_per_worker, 20000, "client connections per worker");
ABSL_FLAG(std::string, upstream_ca_file, "", "extra trust anchors (PEM) for https origins, besides the system store");
ABSL_FLAG(bool, plain_is_https, false,
          "the HTTP listener sits behind a TLS terminator: serve every mount (no 307 to https) and "
          "send X-Forwarded-Proto: https");
ABSL_FLAG(std::string, aws_credentials_file, "",
          "AWS credentials (INI, [default] profile); default: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / "
          "AWS_SESSION_TOKEN. Endpoints: AWS_ENDPOINT_URL(_S3|_LAMBDA)");
ABSL_FLAG(int, aws_connect_timeout_ms, 3000, "connect timeout for S3 and Lambda calls");
ABSL_FLAG(int, aws_timeout_ms, 30000, "whole-call timeout for S3 and Lambda calls (then 504)");
ABSL_FLAG(int64_t, s3_cache_bytes, 64 << 20, "per-worker in-memory cache of S3 website objects (0 = off)");
ABSL_FLAG(int64_t, s3_cache_max_object_bytes, 1 << 20, "larger S3 objects are not cached");
ABSL_FLAG(int64_t, s3_max_object_bytes, 32 << 20,
          "S3 objects are buffered whole; larger ones get 502 unless requested with Range");
ABSL_FLAG(int, max_apps, 100000, "snapshots with more apps are rejected (NACKed): a guard against runaway configs");

namespace edgerouter::dataplane {
namespace {

std::string Hostname() {
  char buf[256] = "";
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

// Collects every worker's counters on its own thread (no locks on the request path).
stats::Counters MergeWorkers(std::vector<std::unique_ptr<proxy::Worker>>& workers) {
  stats::Counters merged;
  absl::Mutex mu;
  absl::BlockingCounter done(static_cast<int>(workers.size()));
  for (auto& w : workers) {
    proxy::Worker* worker = w.get();
    worker->loop().Post([&, worker] {
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
    worker->loop().Post([&, worker] {
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
  std::string out;
  absl::StrAppend(&out, "# HELP er_dp_controlplane_connected 1 while the discovery stream is up.\n",
                  "# TYPE er_dp_controlplane_connected gauge\ner_dp_controlplane_connected ",
                  s.connected ? 1 : 0, "\n");
  absl::StrAppend(&out, "# HELP er_dp_snapshot_info The snapshot being served.\n",
                  "# TYPE er_dp_snapshot_info gauge\ner_dp_snapshot_info{version=\"",
                  config ? config->version : "", "\"} 1\n");
  absl::StrAppend(&out, "# HELP er_dp_snapshot_last_apply_timestamp_seconds When the served snapshot was applied.\n",
                  "# TYPE er_dp_snapshot_last_apply_timestamp_seconds gauge\n",
                  "er_dp_snapshot_last_apply_timestamp_seconds ",
                  config ? absl::ToUnixSeconds(config->applied_at) : 0, "\n");
  absl::StrAppend(&out, "# HELP er_dp_snapshot_applies_total Snapshots accepted.\n",
                  "# TYPE er_dp_snapshot_applies_total counter\ner_dp_snapshot_applies_total ", s.applies, "\n");
  absl::StrAppend(&out, "# HELP er_dp_snapshot_nacks_total Snapshots rejected.\n",
                  "# TYPE er_dp_snapshot_nacks_total counter\ner_dp_snapshot_nacks_total ", s.nacks, "\n");
  return out;
}

int Run() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  proxy::ProxyOptions options;
  options.http_listen = absl::GetFlag(FLAGS_http_listen);
  options.header_timeout_ms = absl::GetFlag(FLAGS_header_timeout_ms);
  options.idle_timeout_ms = absl::GetFlag(FLAGS_idle_timeout_ms);
  options.upstream_connect_timeout_ms = absl::GetFlag(FLAGS_upstream_connect_timeout_ms);
  options.upstream_response_timeout_ms = absl::GetFlag(FLAGS_upstream_response_timeout_ms);
  options.limits.max_request_line = absl::GetFlag(FLAGS_max_request_line);
  options.limits.max_header_bytes = absl::GetFlag(FLAGS_max_header_bytes);
  options.max_connections_per_worker = absl::GetFlag(FLAGS_max_connections_per_worker);
  options.access_log = absl::GetFlag(FLAGS_access_log);
  options.plain_is_https = absl::GetFlag(FLAGS_plain_is_https);
  options.node_id = absl::GetFlag(FLAGS_node_id).empty() ? Hostname() : absl::GetFlag(FLAGS_node_id);

  options.aws.endpoints = aws::Endpoints::FromEnvironment();
  if (absl::StatusOr<aws::Credentials> c = aws::LoadCredentials(absl::GetFlag(FLAGS_aws_credentials_file)); c.ok()) {
    options.aws.credentials = *std::move(c);
  } else {
    options.aws.credentials_error = std::string(c.status().message());
  }
  options.aws.client.connect_timeout_ms = absl::GetFlag(FLAGS_aws_connect_timeout_ms);
  options.aws.client.total_timeout_ms = absl::GetFlag(FLAGS_aws_timeout_ms);
  options.aws.client.ca_file = absl::GetFlag(FLAGS_upstream_ca_file);
  options.aws.s3_cache_bytes = static_cast<size_t>(std::max<int64_t>(0, absl::GetFlag(FLAGS_s3_cache_bytes)));
  options.aws.s3_cache_max_object = static_cast<size_t>(absl::GetFlag(FLAGS_s3_cache_max_object_bytes));
  options.aws.s3_max_object_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_s3_max_object_bytes));
  std::fprintf(stderr, "level=INFO msg=\"aws\" s3_endpoint=%s lambda_endpoint=%s credentials=%s\n",
               options.aws.endpoints.s3.empty() ? "aws" : options.aws.endpoints.s3.c_str(),
               options.aws.endpoints.lambda.empty() ? "aws" : options.aws.endpoints.lambda.c_str(),
               options.aws.credentials_error.empty() ? "ok" : "\"none (S3/Lambda apps answer 502)\"");

  proxy::SetUpstreamTrustFile(absl::GetFlag(FLAGS_upstream_ca_file));
  int worker_count = absl::GetFlag(FLAGS_workers);
  if (worker_count <= 0) worker_count = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  proxy::ConfigSource configs;
  std::atomic<std::shared_ptr<const std::string>> metrics_text;
  std::vector<std::unique_ptr<proxy::Worker>> workers;
  for (int i = 0; i < worker_count; ++i) {
    workers.push_back(std::make_unique<proxy::Worker>(i, options, &configs));
    if (absl::Status s = workers.back()->Listen(); !s.ok()) {
      std::fprintf(stderr, "dataplane: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    workers.back()->set_metrics_source(&metrics_text);
    if (i == 0) {
      // ":0" picks a free port once; every other worker shares it through SO_REUSEPORT.
      options.http_listen = absl::StrCat(options.http_listen.substr(0, options.http_listen.rfind(':')), ":",
                                         workers[0]->port());
    }
  }

  xds::XdsClientOptions xds_options;
  xds_options.controlplane = absl::GetFlag(FLAGS_controlplane);
  xds_options.node_id = options.node_id;
  xds_options.state_dir = absl::GetFlag(FLAGS_state_dir);
  const int max_apps = absl::GetFlag(FLAGS_max_apps);
  xds::XdsClient xds(xds_options, [&](const snapshot::Snapshot& snapshot) -> absl::Status {
    int apps = 0;
    for (const auto& r : snapshot.resources()) apps += r.has_app();
    if (apps > max_apps) {
      return absl::ResourceExhaustedError(
          absl::StrCat("snapshot has ", apps, " apps, more than --max_apps=", max_apps));
    }
    absl::StatusOr<std::shared_ptr<const proxy::RuntimeConfig>> compiled = proxy::CompileSnapshot(snapshot);
    if (!compiled.ok()) return compiled.status();
    configs.Publish(*std::move(compiled));
    std::fprintf(stderr, "level=INFO msg=\"config published\" version=%s resources=%d\n",
                 snapshot.version().c_str(), snapshot.resources_size());
    return absl::OkStatus();
  });
  if (absl::Status s = xds.LoadPersisted(); !s.ok() && !absl::IsNotFound(s)) {
    std::fprintf(stderr, "level=WARN msg=\"last-good snapshot not loaded\" error=\"%s\"\n",
                 std::string(s.message()).c_str());
  }
  for (auto& w : workers) w->Start();
  xds.Start();

  admin::HttpAdminServer http;
  http.Handle("/metrics", [&](const admin::HttpAdminRequest&) {
    admin::HttpAdminResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = stats::RenderPrometheus(MergeWorkers(workers), DataplaneGauges(xds, configs) + AwsMetrics(workers));
    return r;
  });
  http.Handle("/ready", [&](const admin::HttpAdminRequest&) {
    admin::HttpAdminResponse r;
    const bool ready = configs.Load() != nullptr;
    r.status = ready ? 200 : 503;
    r.body = ready ? "ready\n" : "no configuration loaded\n";
    return r;
  });
  http.Handle("/config_dump", [&](const admin::HttpAdminRequest&) {
    admin::HttpAdminResponse r;
    std::shared_ptr<const proxy::RuntimeConfig> config = configs.Load();
    r.content_type = "application/json";
    r.body = config ? config->config_dump_json + "\n" : "{}\n";
    return r;
  });
  if (absl::Status s = http.Start(absl::GetFlag(FLAGS_admin_listen)); !s.ok()) {
    std::fprintf(stderr, "dataplane: %s\n", std::string(s.message()).c_str());
    return 1;
  }

  // prom_metrics apps are served by workers, which must not block: they get the text rendered
  // here once a second, and only while the config has such an app.
  absl::Notification stopped;
  std::thread metrics_thread([&] {
    do {
      std::shared_ptr<const proxy::RuntimeConfig> config = configs.Load();
      if (config != nullptr && config->has_prom_metrics) {
        metrics_text.store(std::make_shared<const std::string>(
            stats::RenderPrometheus(MergeWorkers(workers), DataplaneGauges(xds, configs) + AwsMetrics(workers))));
      }
    } while (!stopped.WaitForNotificationWithTimeout(absl::Seconds(1)));
  });

  const std::string listen = options.http_listen;
  std::fprintf(stderr, "level=INFO msg=\"data plane ready\" http=%s admin=%s:%d workers=%d node=%s\n",
               listen.c_str(), absl::GetFlag(FLAGS_admin_listen).substr(0, absl::GetFlag(FLAGS_admin_listen).rfind(':')).c_str(),
               http.port(), worker_count, options.node_id.c_str());

  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "level=INFO msg=\"draining\" signal=%d\n", sig);
  for (auto& w : workers) w->BeginDrain();
  // Workers stop by themselves once their connections are gone; the deadline bounds it.
  std::thread deadline([&] {
    if (!stopped.WaitForNotificationWithTimeout(absl::Milliseconds(absl::GetFlag(FLAGS_drain_timeout_ms)))) {
      for (auto& w : workers) w->Stop();
    }
  });
  for (auto& w : workers) w->Join();
  stopped.Notify();
  deadline.join();
  metrics_thread.join();
  http.Stop();
  xds.Stop();
  std::fprintf(stderr, "level=INFO msg=\"stopped\"\n");
  return 0;
}

}  // namespace
}  // namespace edgerouter::dataplane

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return edgerouter::dataplane::Run();
}
