// dataplane: the edge proxy. main() turns flags into ServerOptions, starts the Server
// (dataplane/server/server.h) and drains it on SIGTERM/SIGINT.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "common/aws/aws_request.h"
#include "common/grpc_tls.h"
#include "common/log/log.h"
#include "common/log/log_flags.h"
#include "common/version.h"
#include "common/net/ip_prefix.h"
#include "dataplane/server/server.h"
#include "dataplane/turbocharger/runtime.h"
#include "dataplane/tls/server_context.h"

ABSL_FLAG(std::string, controlplane, "127.0.0.1:18000",
          "control plane gRPC address(es): h:p[,h:p...]; a name stands for all its addresses");
ABSL_FLAG(std::string, grpc_tls_cert, "", "PEM client certificate for the control-plane channel (mutual TLS)");
ABSL_FLAG(std::string, grpc_tls_key, "", "PEM private key of --grpc_tls_cert");
ABSL_FLAG(std::string, grpc_tls_ca, "", "PEM CA that signed the control plane's certificate (enables TLS)");
ABSL_FLAG(int, report_interval_ms, 5000,
          "send the control plane a report (traffic, origins, certificates) this often (0 = never)");
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
ABSL_FLAG(bool, io_uring_receive, true,
          "with --io_uring on kernels with capped multishot receives (6.17+, probed), plain sockets get "
          "their bytes from the ring (one multishot receive each) instead of epoll readiness plus a read");
ABSL_FLAG(bool, io_uring, true,
          "make each event-loop turn's socket reads with one io_uring submission instead of one "
          "read() each (falls back by itself where the kernel refuses io_uring)");
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
ABSL_FLAG(int64_t, turbocharger_trust_ms, 5000,
          "how long the turbocharger middleware trusts an origin's advertisement before re-validating it "
          "with a HEAD (edgerouter: 5 s)");
ABSL_FLAG(int, max_apps, 100000, "snapshots with more apps are rejected (NACKed): a guard against runaway configs");

namespace edgerouter::dataplane {
namespace {

std::string Hostname() {
  char buf[256] = "";
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

absl::StatusOr<ServerOptions> OptionsFromFlags() {
  ServerOptions o;
  proxy::ProxyOptions& p = o.proxy;
  p.http_listen = absl::GetFlag(FLAGS_http_listen);
  p.https_listen = absl::GetFlag(FLAGS_https_listen);
  p.header_timeout_ms = absl::GetFlag(FLAGS_header_timeout_ms);
  p.idle_timeout_ms = absl::GetFlag(FLAGS_idle_timeout_ms);
  p.upstream_connect_timeout_ms = absl::GetFlag(FLAGS_upstream_connect_timeout_ms);
  p.upstream_response_timeout_ms = absl::GetFlag(FLAGS_upstream_response_timeout_ms);
  p.limits.max_request_line = absl::GetFlag(FLAGS_max_request_line);
  p.limits.max_header_bytes = absl::GetFlag(FLAGS_max_header_bytes);
  p.max_connections_per_worker = absl::GetFlag(FLAGS_max_connections_per_worker);
  p.access_log = absl::GetFlag(FLAGS_access_log);
  o.access_log_buffer_bytes = absl::GetFlag(FLAGS_access_log_buffer_bytes);
  p.plain_is_https = absl::GetFlag(FLAGS_plain_is_https);
  p.h2c = absl::GetFlag(FLAGS_h2c);
  p.batch_io = absl::GetFlag(FLAGS_io_uring);
  p.ring_receive = absl::GetFlag(FLAGS_io_uring_receive);
  absl::StatusOr<net::CidrSet> trusted = net::CidrSet::Parse(absl::GetFlag(FLAGS_trusted_proxies));
  if (!trusted.ok()) return absl::InvalidArgumentError(absl::StrCat("--trusted_proxies: ", trusted.status().message()));
  p.trusted_proxies = *std::move(trusted);
  p.max_request_body_bytes = absl::GetFlag(FLAGS_max_request_body_bytes);
  p.read_budget_bytes = static_cast<size_t>(std::max<int64_t>(1, absl::GetFlag(FLAGS_read_budget_bytes)));
  tls::SetOfferH2(absl::GetFlag(FLAGS_http2));
  p.node_id = absl::GetFlag(FLAGS_node_id).empty() ? Hostname() : absl::GetFlag(FLAGS_node_id);

  p.aws.endpoints = aws::Endpoints::FromEnvironment();
  if (absl::StatusOr<aws::Credentials> c = aws::LoadCredentials(absl::GetFlag(FLAGS_aws_credentials_file)); c.ok()) {
    p.aws.credentials = *std::move(c);
  } else {
    p.aws.credentials_error = std::string(c.status().message());
  }
  p.aws.client.connect_timeout_ms = absl::GetFlag(FLAGS_aws_connect_timeout_ms);
  p.aws.client.total_timeout_ms = absl::GetFlag(FLAGS_aws_timeout_ms);
  p.aws.client.ca_file = absl::GetFlag(FLAGS_upstream_ca_file);
  p.aws.s3_cache_bytes = static_cast<size_t>(std::max<int64_t>(0, absl::GetFlag(FLAGS_s3_cache_bytes)));
  p.aws.s3_cache_max_object = static_cast<size_t>(absl::GetFlag(FLAGS_s3_cache_max_object_bytes));
  p.aws.s3_max_object_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_s3_max_object_bytes));
  o.upstream_ca_file = absl::GetFlag(FLAGS_upstream_ca_file);

  o.admin_listen = absl::GetFlag(FLAGS_admin_listen);
  o.workers = absl::GetFlag(FLAGS_workers);
  if (o.workers <= 0) o.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  o.drain_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_drain_timeout_ms));
  o.default_cert = absl::GetFlag(FLAGS_default_cert);
  o.dev_cert = absl::GetFlag(FLAGS_dev_cert);
  o.certbus_private_key = absl::GetFlag(FLAGS_certbus_private_key);
  o.ticket_rotation_s = absl::GetFlag(FLAGS_tls_ticket_rotation_s);
  o.ticket_keys_kept = static_cast<size_t>(std::max(2, absl::GetFlag(FLAGS_tls_ticket_keys_kept)));
  o.ticket_key_file = absl::GetFlag(FLAGS_tls_ticket_key_file);

  o.xds.controlplane = absl::GetFlag(FLAGS_controlplane);
  o.xds.node_id = p.node_id;
  o.xds.state_dir = absl::GetFlag(FLAGS_state_dir);
  o.xds.report_interval = absl::Milliseconds(std::max(0, absl::GetFlag(FLAGS_report_interval_ms)));
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = GrpcChannelCredentials(
      {absl::GetFlag(FLAGS_grpc_tls_cert), absl::GetFlag(FLAGS_grpc_tls_key), absl::GetFlag(FLAGS_grpc_tls_ca)});
  if (!credentials.ok()) return credentials.status();
  o.xds.credentials = *std::move(credentials);
  o.max_apps = static_cast<size_t>(std::max(0, absl::GetFlag(FLAGS_max_apps)));
  return o;
}

int Run() {
  if (absl::Status s = log::InitFromFlags(); !s.ok()) {
    log::Error("not started").Kv("error", s.message());
    return 1;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts: sigwait gets them
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<ServerOptions> options = OptionsFromFlags();
  if (!options.ok()) {
    log::Error("not started").Kv("error", options.status().message());
    return 1;
  }
  // Turbocharger sites: a store and the disk cache every worker shares (docs/turbocharger.md).
  if (const char* store = std::getenv("TURBOCHARGER_STORE"); store != nullptr && *store != '\0') {
    absl::StatusOr<std::unique_ptr<turbocharger::Runtime>> rt = turbocharger::Runtime::Create(
        store, absl::GetFlag(FLAGS_turbocharger_cache_dir),
        static_cast<uint64_t>(std::max<int64_t>(0, absl::GetFlag(FLAGS_turbocharger_cache_bytes))));
    if (!rt.ok()) {
      log::Error("not started").Kv("error", absl::StrCat("turbocharger: ", rt.status().message()));
      return 1;
    }
    (*rt)->set_trust(absl::Milliseconds(std::max<int64_t>(1, absl::GetFlag(FLAGS_turbocharger_trust_ms))));
    turbocharger::Runtime::Install(*std::move(rt));
  }
  Server server(*std::move(options));
  if (absl::Status s = server.Start(); !s.ok()) {
    log::Error("not started").Kv("error", s.message());
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  log::Info("draining").Kv("signal", sig);
  server.Shutdown();
  log::Info("stopped");
  return 0;
}

}  // namespace
}  // namespace edgerouter::dataplane

int main(int argc, char** argv) {
  edgerouter::InstallVersionFlag("dataplane");
  absl::ParseCommandLine(argc, argv);
  const int rc = edgerouter::dataplane::Run();
  edgerouter::log::Flush();
  return rc;
}
