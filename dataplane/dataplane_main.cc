// dataplane: the edge proxy. Workers (one epoll loop each, SO_REUSEPORT listeners) serve
// HTTP/1.1; the xDS thread applies snapshots from the control plane (or, at start, from the
// last-good copy in --state_dir) and publishes them with one atomic swap; an admin listener on
// loopback serves /metrics, /ready and /config_dump.
#include <openssl/crypto.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
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
#include "common/certbus/certbus.h"
#include "common/grpc_tls.h"
#include "common/http_admin_server.h"
#include "common/metrics.h"
#include "dataplane/net/ip_prefix.h"
#include "dataplane/proxy/runtime_config.h"
#include "dataplane/proxy/worker.h"
#include "dataplane/stats/request_stats.h"
#include "dataplane/tls/cert_store.h"
#include "dataplane/tls/server_context.h"
#include "dataplane/tls/ticket_keys.h"
#include "dataplane/turbocharger/runtime.h"
#include "dataplane/xds/xds_client.h"

ABSL_FLAG(std::string, controlplane, "127.0.0.1:18000",
          "control plane gRPC address(es): h:p[,h:p...]; a name stands for all its addresses");
ABSL_FLAG(std::string, grpc_tls_cert, "", "PEM client certificate for the control-plane channel (mutual TLS)");
ABSL_FLAG(std::string, grpc_tls_key, "", "PEM private key of --grpc_tls_cert");
ABSL_FLAG(std::string, grpc_tls_ca, "", "PEM CA that signed the control plane's certificate (enables TLS)");
ABSL_FLAG(std::string, node_id, "", "node id reported to the control plane (default: hostname)");
ABSL_FLAG(std::string, http_listen, ":80", "plain HTTP listener (\"\" = none)");
ABSL_FLAG(std::string, https_listen, ":443", "HTTPS listener (\"\" = none)");
ABSL_FLAG(std::string, default_cert, "",
          "PEM file (chain + key) served when no certificate matches the SNI name or there is none");
ABSL_FLAG(std::string, dev_cert, "", "PEM file (chain + key) served for every name (dev mode)");
ABSL_FLAG(std::string, certbus_private_key, "",
          "PEM RSA key-encryption key (KEK) that opens snapshot certificates' private keys; default: "
          "base64 PEM in $CERTBUS_CLIENT_PRIVKEY; neither: snapshot certificates are skipped");
ABSL_FLAG(int, tls_ticket_rotation_s, 3600, "session-ticket keys rotate (or --tls_ticket_key_file is re-read) this often");
ABSL_FLAG(int, tls_ticket_keys_kept, 3, "ticket keys kept for decryption (the newest encrypts)");
ABSL_FLAG(std::string, tls_ticket_key_file, "",
          "ticket keys shared by a fleet: 80-byte records (name 16, HMAC 32, AES 32), newest first; "
          "default: random keys per process");
ABSL_FLAG(std::string, admin_listen, "127.0.0.1:9901", "admin listener: /metrics /ready /config_dump");
ABSL_FLAG(int, workers, 0, "worker threads (0 = number of cores)");
ABSL_FLAG(std::string, state_dir, "./edgerouter-dp-state", "holds the last accepted snapshot");
ABSL_FLAG(std::string, access_log, "off", "off | stdout | PATH: one JSON line per request");
ABSL_FLAG(int64_t, access_log_buffer_bytes, 4 << 20,
          "access-log bytes queued for the writer thread at most; beyond, lines are dropped and counted");
ABSL_FLAG(int, drain_timeout_ms, 10000, "on SIGTERM, how long in-flight requests may finish");
ABSL_FLAG(int, header_timeout_ms, 60000, "a request head must arrive within this");
ABSL_FLAG(int, idle_timeout_ms, 60000, "idle keep-alive client connections are closed after this");
ABSL_FLAG(int, upstream_connect_timeout_ms, 5000, "origin connect timeout (then 502 / retry)");
ABSL_FLAG(int, upstream_response_timeout_ms, 60000, "origin silent for this long: 504 (or close)");
ABSL_FLAG(int, max_request_line, 8192, "longer request lines get 414");
ABSL_FLAG(int, max_header_bytes, 65536, "larger request heads get 431");
ABSL_FLAG(int, max_connections_per_worker, 20000, "client connections per worker");
ABSL_FLAG(std::string, upstream_ca_file, "", "extra trust anchors (PEM) for https origins, besides the system store");
ABSL_FLAG(bool, http2, true, "Offer HTTP/2 (ALPN h2) on the HTTPS listener");
ABSL_FLAG(uint64_t, max_request_body_bytes, 0,
          "Largest request body accepted (0 = no limit); larger ones get 413, on either protocol");
ABSL_FLAG(int64_t, read_budget_bytes, 64 << 10,
          "bytes read from one client connection per event-loop turn before others get theirs");
ABSL_FLAG(bool, h2c, false,
          "Also accept prior-knowledge HTTP/2 (h2c) on the plain listener (for clients that "
          "know; browsers never send it)");
ABSL_FLAG(bool, plain_is_https, false,
          "the HTTP listener sits behind a TLS terminator: serve every mount (no 307 to https) and "
          "send X-Forwarded-Proto: https");
ABSL_FLAG(std::string, trusted_proxies, "",
          "CIDR,... of proxies in front of the data plane: only their X-Forwarded-For (right-most "
          "untrusted address = client) and other client-IP fields are believed (default: none)");
ABSL_FLAG(std::string, aws_credentials_file, "",
          "AWS credentials (INI, [default] profile); default: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / "
          "AWS_SESSION_TOKEN. Endpoints: AWS_ENDPOINT_URL(_S3|_LAMBDA)");
ABSL_FLAG(int, aws_connect_timeout_ms, 3000, "connect timeout for S3 and Lambda calls");
ABSL_FLAG(int, aws_timeout_ms, 30000, "whole-call timeout for S3 and Lambda calls (then 504)");
ABSL_FLAG(int64_t, s3_cache_bytes, 64 << 20, "per-worker in-memory cache of S3 website objects (0 = off)");
ABSL_FLAG(int64_t, s3_cache_max_object_bytes, 1 << 20, "larger S3 objects are not cached");
ABSL_FLAG(int64_t, s3_max_object_bytes, 32 << 20,
          "S3 objects are buffered whole; larger ones get 502 unless requested with Range");
ABSL_FLAG(std::string, turbocharger_cache_dir, "/var/cache/edgerouter/turbocharger",
          "turbocharger disk cache (gzipped/<id>, uncompressed/<id>); used when TURBOCHARGER_STORE is set");
ABSL_FLAG(int64_t, turbocharger_cache_bytes, int64_t{1} << 30,
          "turbocharger disk cache bound: least recently used objects are deleted beyond it (0 = unbounded)");
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

// The KEK from --certbus_private_key or $CERTBUS_CLIENT_PRIVKEY; null when neither is set.
absl::StatusOr<std::shared_ptr<const certbus::Kek>> LoadKek() {
  const std::string path = absl::GetFlag(FLAGS_certbus_private_key);
  absl::StatusOr<certbus::Kek> kek = path.empty() ? certbus::LoadKekFromEnv() : certbus::LoadKekFromPemFile(path);
  if (path.empty() && absl::IsNotFound(kek.status())) return std::shared_ptr<const certbus::Kek>();
  if (!kek.ok()) {
    return absl::Status(kek.status().code(), absl::StrCat(path.empty() ? certbus::kKekEnv : path, ": ",
                                                          kek.status().message()));
  }
  return std::make_shared<const certbus::Kek>(*std::move(kek));
}

// Opens a snapshot certificate's key with the KEK and checks it against the leaf. Status codes
// pick the metric reason: PermissionDenied = encrypted for another KEK, FailedPrecondition =
// key and certificate differ, anything else = the ciphertext does not decrypt.
tls::KeyUnwrapper MakeUnwrapper(std::shared_ptr<const certbus::Kek> kek) {
  return [kek](const snapshot::Certificate& c) -> absl::StatusOr<std::string> {
    if (c.private_key_dek_fingerprint() != kek->fingerprint()) {
      return absl::PermissionDeniedError(absl::StrCat("key encrypted for KEK ", c.private_key_dek_fingerprint(),
                                                      ", this node has ", kek->fingerprint()));
    }
    absl::StatusOr<std::string> key =
        certbus::DecryptPrivateKey(*kek, c.private_key_dek_fingerprint(), c.private_key_ciphertext());
    if (!key.ok()) {
      return absl::DataLossError(absl::StrCat("private key does not decrypt: ", key.status().message()));
    }
    if (absl::Status match = certbus::VerifyKeyMatchesCertificate(c.cert_pem_bundle(), *key); !match.ok()) {
      OPENSSL_cleanse(key->data(), key->size());
      return absl::FailedPreconditionError(match.message());
    }
    return key;
  };
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
  // Declared before the workers: they hand it their last lines when they are destroyed.
  std::unique_ptr<proxy::AccessLogWriter> access_log;
  if (options.access_log != "off" && !options.access_log.empty()) {
    absl::StatusOr<std::unique_ptr<proxy::AccessLogWriter>> writer = proxy::AccessLogWriter::Open(
        options.access_log, static_cast<size_t>(std::max<int64_t>(0, absl::GetFlag(FLAGS_access_log_buffer_bytes))));
    if (writer.ok()) {
      access_log = *std::move(writer);
      options.access_log_writer = access_log.get();
    } else {  // serving matters more than the log
      std::fprintf(stderr, "level=ERROR msg=\"no access log\" error=\"%s\"\n",
                   std::string(writer.status().message()).c_str());
    }
  }
  options.plain_is_https = absl::GetFlag(FLAGS_plain_is_https);
  options.h2c = absl::GetFlag(FLAGS_h2c);
  if (absl::StatusOr<net::CidrSet> trusted = net::CidrSet::Parse(absl::GetFlag(FLAGS_trusted_proxies)); trusted.ok()) {
    options.trusted_proxies = *std::move(trusted);
  } else {
    std::fprintf(stderr, "dataplane: --trusted_proxies: %s\n", std::string(trusted.status().message()).c_str());
    return 1;
  }
  options.max_request_body_bytes = absl::GetFlag(FLAGS_max_request_body_bytes);
  options.read_budget_bytes = static_cast<size_t>(std::max<int64_t>(1, absl::GetFlag(FLAGS_read_budget_bytes)));
  tls::SetOfferH2(absl::GetFlag(FLAGS_http2));
  options.node_id = absl::GetFlag(FLAGS_node_id).empty() ? Hostname() : absl::GetFlag(FLAGS_node_id);

  options.https_listen = absl::GetFlag(FLAGS_https_listen);
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

  if (const char* store = std::getenv("TURBOCHARGER_STORE"); store != nullptr && *store != '\0') {
    absl::StatusOr<std::unique_ptr<turbocharger::Runtime>> rt = turbocharger::Runtime::Create(
        store, absl::GetFlag(FLAGS_turbocharger_cache_dir),
        static_cast<uint64_t>(std::max<int64_t>(0, absl::GetFlag(FLAGS_turbocharger_cache_bytes))));
    if (!rt.ok()) {
      std::fprintf(stderr, "dataplane: turbocharger: %s\n", std::string(rt.status().message()).c_str());
      return 1;
    }
    turbocharger::Runtime::Install(*std::move(rt));
  }

  proxy::SetUpstreamTrustFile(absl::GetFlag(FLAGS_upstream_ca_file));

  // TLS: ticket keys first (contexts created below pick up the lifetime), then the certificates
  // that do not come from snapshots.
  const int rotation_s = std::max(1, absl::GetFlag(FLAGS_tls_ticket_rotation_s));
  const size_t keys_kept = static_cast<size_t>(std::max(2, absl::GetFlag(FLAGS_tls_ticket_keys_kept)));
  const std::string ticket_key_file = absl::GetFlag(FLAGS_tls_ticket_key_file);
  tls::SetSessionLifetime(absl::Seconds(rotation_s) * static_cast<double>(keys_kept - 1));
  if (!ticket_key_file.empty()) {
    if (absl::Status s = tls::TicketKeyRing::Global().LoadFile(ticket_key_file); !s.ok()) {
      std::fprintf(stderr, "dataplane: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  } else {
    tls::TicketKeyRing::Global().RotateRandom(keys_kept);
  }
  tls::CertStoreOptions cert_options;
  for (auto [flag, slot] : {std::pair{absl::GetFlag(FLAGS_default_cert), &cert_options.default_cert},
                            std::pair{absl::GetFlag(FLAGS_dev_cert), &cert_options.dev_cert}}) {
    if (flag.empty()) continue;
    absl::Time not_after;
    absl::StatusOr<tls::SslCtxPtr> ctx = tls::LoadCertificateFile(flag, &not_after);
    if (!ctx.ok()) {
      std::fprintf(stderr, "dataplane: %s\n", std::string(ctx.status().message()).c_str());
      return 1;
    }
    if (not_after < absl::Now()) {
      std::fprintf(stderr, "level=WARN msg=\"certificate expired (still served)\" file=%s\n", flag.c_str());
    }
    *slot = *std::move(ctx);
  }
  options.fallback_certs = tls::BuildCertStore(snapshot::Snapshot(), cert_options);
  absl::StatusOr<std::shared_ptr<const certbus::Kek>> kek = LoadKek();
  if (!kek.ok()) {
    std::fprintf(stderr, "dataplane: KEK: %s\n", std::string(kek.status().message()).c_str());
    return 1;
  }
  if (*kek != nullptr) {
    cert_options.unwrap = MakeUnwrapper(*kek);
    std::fprintf(stderr, "level=INFO msg=\"certbus KEK loaded\" fingerprint=%s\n", (*kek)->fingerprint().c_str());
  } else {
    std::fprintf(stderr, "level=INFO msg=\"no certbus KEK: snapshot certificates are skipped\"\n");
  }
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
      if (!options.http_listen.empty()) {
        options.http_listen = absl::StrCat(options.http_listen.substr(0, options.http_listen.rfind(':')), ":",
                                           workers[0]->port());
      }
      if (!options.https_listen.empty()) {
        options.https_listen = absl::StrCat(options.https_listen.substr(0, options.https_listen.rfind(':')),
                                            ":", workers[0]->https_port());
      }
    }
  }

  xds::XdsClientOptions xds_options;
  xds_options.controlplane = absl::GetFlag(FLAGS_controlplane);
  xds_options.node_id = options.node_id;
  xds_options.state_dir = absl::GetFlag(FLAGS_state_dir);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> channel_credentials = GrpcChannelCredentials(
      {absl::GetFlag(FLAGS_grpc_tls_cert), absl::GetFlag(FLAGS_grpc_tls_key), absl::GetFlag(FLAGS_grpc_tls_ca)});
  if (!channel_credentials.ok()) {
    std::fprintf(stderr, "dataplane: %s\n", std::string(channel_credentials.status().message()).c_str());
    return 1;
  }
  xds_options.credentials = *std::move(channel_credentials);
  const int max_apps = absl::GetFlag(FLAGS_max_apps);
  // Counted incrementally: a delta does not recount 100k apps.
  size_t app_count = 0;
  xds::XdsClient xds(xds_options, [&](const xds::SnapshotView& update) -> absl::Status {
    std::shared_ptr<const proxy::RuntimeConfig> previous = configs.Load();  // keeps its store alive
    size_t apps = 0;
    if (update.full_state || previous == nullptr) {
      update.resources->ForEach([&](const std::string&, const auto& r) { apps += r->has_app(); });
    } else {
      apps = app_count;
      for (const std::string& name : update.changed) {
        const auto* now = update.resources->Find(name);  // null if the same delta removed it again
        apps += now != nullptr && (*now)->has_app() && previous->apps.Find(name) == nullptr;
      }
      for (const std::string& name : update.removed) apps -= previous->apps.Find(name) != nullptr;
    }
    if (apps > static_cast<size_t>(max_apps)) {
      return absl::ResourceExhaustedError(
          absl::StrCat("snapshot has ", apps, " apps, more than --max_apps=", max_apps));
    }
    const absl::Time started = absl::Now();
    proxy::CompileOptions compile;
    compile.certs = cert_options;
    compile.certs.previous = previous != nullptr ? previous->certs.get() : nullptr;
    compile.certs.now = absl::Now();
    compile.workers = worker_count;
    absl::StatusOr<std::shared_ptr<const proxy::RuntimeConfig>> compiled =
        proxy::CompileUpdate(update, previous.get(), compile);
    if (!compiled.ok()) return compiled.status();
    configs.Publish(*std::move(compiled));
    app_count = apps;
    std::fprintf(stderr,
                 "level=INFO msg=\"config published\" version=%s resources=%zu changed=%zu removed=%zu "
                 "compile_ms=%.3f\n",
                 update.version.c_str(), update.resources->size(), update.changed.size(), update.removed.size(),
                 absl::ToDoubleMilliseconds(absl::Now() - started));
    return absl::OkStatus();
  });
  if (absl::Status s = xds.LoadPersisted(); !s.ok() && !absl::IsNotFound(s)) {
    std::fprintf(stderr, "level=WARN msg=\"last-good snapshot not loaded\" error=\"%s\"\n",
                 std::string(s.message()).c_str());
  }
  for (auto& w : workers) w->Start();
  xds.Start();

  auto access_log_metrics = [&access_log] { return proxy::AccessLogMetrics(access_log.get()); };
  admin::HttpAdminServer http;
  http.Handle("/metrics", [&](const admin::HttpAdminRequest&) {
    admin::HttpAdminResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = stats::RenderPrometheus(MergeWorkers(workers),
                                     DataplaneGauges(xds, configs) + AwsMetrics(workers) + access_log_metrics());
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
    r.body = config ? proxy::RenderConfigDump(*config) + "\n" : "{}\n";
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
            stats::RenderPrometheus(MergeWorkers(workers),
                                    DataplaneGauges(xds, configs) + AwsMetrics(workers) + access_log_metrics())));
      }
    } while (!stopped.WaitForNotificationWithTimeout(absl::Seconds(1)));
  });

  // Ticket keys: a new random key (or the key file re-read) every rotation period.
  std::thread ticket_thread([&] {
    while (!stopped.WaitForNotificationWithTimeout(absl::Seconds(rotation_s))) {
      const uint64_t before = tls::TicketKeyRing::Global().generation();
      if (ticket_key_file.empty()) {
        tls::TicketKeyRing::Global().RotateRandom(keys_kept);
      } else if (absl::Status s = tls::TicketKeyRing::Global().LoadFile(ticket_key_file); !s.ok()) {
        std::fprintf(stderr, "level=ERROR msg=\"ticket keys not reloaded\" error=\"%s\"\n",
                     std::string(s.message()).c_str());
      }
      if (tls::TicketKeyRing::Global().generation() != before) {
        std::fprintf(stderr, "level=INFO msg=\"ticket keys rotated\" generation=%llu\n",
                     static_cast<unsigned long long>(tls::TicketKeyRing::Global().generation()));
      }
    }
  });

  const std::string listen = options.http_listen;
  std::fprintf(stderr, "level=INFO msg=\"data plane ready\" http=%s https=%s admin=%s:%d workers=%d node=%s\n",
               listen.c_str(), options.https_listen.c_str(), absl::GetFlag(FLAGS_admin_listen).substr(0, absl::GetFlag(FLAGS_admin_listen).rfind(':')).c_str(),
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
  ticket_thread.join();
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
