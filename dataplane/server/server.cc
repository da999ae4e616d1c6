#include "dataplane/server/server.h"

#include <openssl/crypto.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/certbus/certbus.h"
#include "common/log/log.h"
#include "common/net/socket_address.h"
#include "dataplane/proxy/runtime_config.h"
#include "dataplane/proxy/upstream.h"
#include "dataplane/server/admin_metrics.h"
#include "dataplane/tls/cert_store.h"
#include "dataplane/tls/server_context.h"
#include "dataplane/tls/ticket_keys.h"

namespace edgerouter::dataplane {
namespace {

// The KEK from `path` or $CERTBUS_CLIENT_PRIVKEY; null when neither is set.
absl::StatusOr<std::shared_ptr<const certbus::Kek>> LoadKek(const std::string& path) {
  absl::StatusOr<certbus::Kek> kek = path.empty() ? certbus::LoadKekFromEnv() : certbus::LoadKekFromPemFile(path);
  if (path.empty() && absl::IsNotFound(kek.status())) return std::shared_ptr<const certbus::Kek>();
  if (!kek.ok()) {
    return absl::Status(kek.status().code(), absl::StrCat("KEK: ", path.empty() ? certbus::kKekEnv : path, ": ",
                                                          kek.status().message()));
  }
  return std::make_shared<const certbus::Kek>(*std::move(kek));
}

// Opens a snapshot certificate's key with the KEK and checks it against the leaf. Status codes
// pick the metric reason: PermissionDenied = encrypted for another KEK, FailedPrecondition =
// key and certificate differ, anything else = the ciphertext does not decrypt.
tls::KeyUnwrapper MakeUnwrapper(std::shared_ptr<const certbus::Kek> kek) {
  return [kek](const snapshot::v1::Certificate& c) -> absl::StatusOr<std::string> {
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

// "h:0" becomes "h:<port>" once the first worker has bound it; the others share the port
// through SO_REUSEPORT.
void FixPort(std::string* listen, int port) {
  if (!listen->empty()) *listen = net::WithPort(*listen, port);
}

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)) {}

Server::~Server() { Shutdown(); }

int Server::http_port() const { return workers_.empty() ? 0 : workers_[0]->port(); }
int Server::https_port() const { return workers_.empty() ? 0 : workers_[0]->https_port(); }

// Ticket keys first (contexts created later pick up the lifetime), then the certificates that do
// not come from snapshots, then the KEK for those that do.
absl::Status Server::LoadTls() {
  const int rotation_s = std::max(1, options_.ticket_rotation_s);
  options_.ticket_keys_kept = std::max<size_t>(2, options_.ticket_keys_kept);
  tls::SetSessionLifetime(absl::Seconds(rotation_s) * static_cast<double>(options_.ticket_keys_kept - 1));
  if (!options_.ticket_key_file.empty()) {
    if (absl::Status s = tls::TicketKeyRing::Global().LoadFile(options_.ticket_key_file); !s.ok()) return s;
  } else {
    tls::TicketKeyRing::Global().RotateRandom(options_.ticket_keys_kept);
  }
  for (auto [file, slot] : {std::pair{options_.default_cert, &cert_options_.default_cert},
                            std::pair{options_.dev_cert, &cert_options_.dev_cert}}) {
    if (file.empty()) continue;
    absl::Time not_after;
    absl::StatusOr<tls::SslCtxPtr> ctx = tls::LoadCertificateFile(file, &not_after);
    if (!ctx.ok()) return ctx.status();
    if (not_after < absl::Now()) log::Warn("certificate expired (still served)").Kv("file", file);
    *slot = *std::move(ctx);
  }
  options_.proxy.fallback_certs = tls::BuildCertStore(snapshot::v1::Snapshot(), cert_options_);
  absl::StatusOr<std::shared_ptr<const certbus::Kek>> kek = LoadKek(options_.certbus_private_key);
  if (!kek.ok()) return kek.status();
  if (*kek != nullptr) {
    cert_options_.unwrap = MakeUnwrapper(*kek);
    log::Info("certbus KEK loaded").Kv("fingerprint", (*kek)->fingerprint());
  } else {
    log::Info("no certbus KEK: snapshot certificates are skipped");
  }
  return absl::OkStatus();
}

absl::Status Server::StartWorkers() {
  proxy::ProxyOptions& proxy = options_.proxy;  // the workers keep a reference to it
  for (int i = 0; i < options_.workers; ++i) {
    workers_.push_back(std::make_unique<proxy::Worker>(i, proxy, &configs_));
    if (absl::Status s = workers_.back()->Listen(); !s.ok()) return s;
    workers_.back()->set_metrics_source(&metrics_text_);
    if (i == 0) {
      FixPort(&proxy.http_listen, workers_[0]->port());
      FixPort(&proxy.https_listen, workers_[0]->https_port());
    }
  }
  return absl::OkStatus();
}

void Server::StartAdmin() {
  http_.Handle("/metrics", [this](const admin::HttpAdminRequest&) {
    admin::HttpAdminResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = RenderMetrics(workers_, *xds_, configs_, access_log_.get());
    return r;
  });
  http_.Handle("/ready", [this](const admin::HttpAdminRequest&) {
    admin::HttpAdminResponse r;
    const bool ready = configs_.Load() != nullptr;
    r.status = ready ? 200 : 503;
    r.body = ready ? "ready\n" : "no configuration loaded\n";
    return r;
  });
  http_.Handle("/config_dump", [this](const admin::HttpAdminRequest&) {
    admin::HttpAdminResponse r;
    std::shared_ptr<const proxy::RuntimeConfig> config = configs_.Load();
    r.content_type = "application/json";
    r.body = config ? proxy::RenderConfigDump(*config) + "\n" : "{}\n";
    return r;
  });
}

// A new random key (or the key file re-read) every rotation period.
void Server::RotateTicketKeys() {
  const absl::Duration period = absl::Seconds(std::max(1, options_.ticket_rotation_s));
  while (!stopped_.WaitForNotificationWithTimeout(period)) {
    const uint64_t before = tls::TicketKeyRing::Global().generation();
    if (options_.ticket_key_file.empty()) {
      tls::TicketKeyRing::Global().RotateRandom(options_.ticket_keys_kept);
    } else if (absl::Status s = tls::TicketKeyRing::Global().LoadFile(options_.ticket_key_file); !s.ok()) {
      log::Error("ticket keys not reloaded").Kv("error", s.message());
    }
    if (tls::TicketKeyRing::Global().generation() != before) {
      log::Info("ticket keys rotated").Kv("generation", tls::TicketKeyRing::Global().generation());
    }
  }
}

absl::Status Server::Start() {
  proxy::ProxyOptions& proxy = options_.proxy;
  if (proxy.access_log != "off" && !proxy.access_log.empty()) {
    absl::StatusOr<std::unique_ptr<proxy::AccessLogWriter>> writer = proxy::AccessLogWriter::Open(
        proxy.access_log, static_cast<size_t>(std::max<int64_t>(0, options_.access_log_buffer_bytes)));
    if (writer.ok()) {
      access_log_ = *std::move(writer);
      proxy.access_log_writer = access_log_.get();
    } else {  // serving matters more than the log
      log::Error("no access log").Kv("error", writer.status().message());
    }
  }
  log::Info("aws")
      .Kv("s3_endpoint", proxy.aws.endpoints.s3.empty() ? "aws" : proxy.aws.endpoints.s3)
      .Kv("lambda_endpoint", proxy.aws.endpoints.lambda.empty() ? "aws" : proxy.aws.endpoints.lambda)
      .Kv("credentials", proxy.aws.credentials_error.empty() ? "ok" : "none (S3/Lambda apps answer 502)");
  proxy::SetUpstreamTrustFile(options_.upstream_ca_file);
  if (absl::Status s = LoadTls(); !s.ok()) return s;
  if (absl::Status s = StartWorkers(); !s.ok()) return s;

  SnapshotApplierOptions applier;
  applier.certs = cert_options_;
  applier.workers = options_.workers;
  applier.max_apps = options_.max_apps;
  applier_ = std::make_unique<SnapshotApplier>(std::move(applier), &configs_);
  reporter_ = std::make_unique<NodeReporter>([this] { return CollectCounters(workers_); },
                                             [this] { return configs_.Load(); });
  options_.xds.report = [this] { return reporter_->Next(); };
  xds_ = std::make_unique<xds::XdsClient>(
      options_.xds, [this](const xds::SnapshotView& update) { return applier_->Apply(update); });
  if (absl::Status s = xds_->LoadPersisted(); !s.ok() && !absl::IsNotFound(s)) {
    log::Warn("last-good snapshot not loaded").Kv("error", s.message());
  }
  started_ = true;  // from here on Shutdown() has threads to stop
  for (auto& w : workers_) w->Start();
  xds_->Start();
  StartAdmin();
  if (absl::Status s = http_.Start(options_.admin_listen); !s.ok()) {
    Shutdown();
    return s;
  }

  // prom_metrics apps are served by workers, which must not block: they get the text rendered
  // here once a second, and only while the config has such an app.
  metrics_thread_ = std::thread([this] {
    do {
      std::shared_ptr<const proxy::RuntimeConfig> config = configs_.Load();
      if (config != nullptr && config->has_prom_metrics) {
        metrics_text_.store(
            std::make_shared<const std::string>(RenderMetrics(workers_, *xds_, configs_, access_log_.get())));
      }
    } while (!stopped_.WaitForNotificationWithTimeout(absl::Seconds(1)));
  });
  ticket_thread_ = std::thread([this] { RotateTicketKeys(); });

  log::Info("data plane ready")
      .Kv("http", proxy.http_listen)
      .Kv("https", proxy.https_listen)
      .Kv("admin", net::WithPort(options_.admin_listen, http_.port()))
      .Kv("workers", options_.workers)
      .Kv("node", proxy.node_id);
  return absl::OkStatus();
}

void Server::Shutdown() {
  if (!started_ || shut_down_) return;
  shut_down_ = true;
  for (auto& w : workers_) w->BeginDrain();
  // Workers stop by themselves once their connections are gone; the deadline bounds it.
  std::thread deadline([this] {
    if (!stopped_.WaitForNotificationWithTimeout(options_.drain_timeout)) {
      for (auto& w : workers_) w->Stop();
    }
  });
  for (auto& w : workers_) w->Join();
  stopped_.Notify();
  deadline.join();
  if (metrics_thread_.joinable()) metrics_thread_.join();
  if (ticket_thread_.joinable()) ticket_thread_.join();
  http_.Stop();
  xds_->Stop();
}

}  // namespace edgerouter::dataplane
