// The data plane as one object: workers (one epoll loop each, SO_REUSEPORT listeners), the xDS
// client feeding a SnapshotApplier, the admin listener (/metrics /ready /config_dump), the
// access-log writer, and the background threads (prom_metrics text, ticket-key rotation).
// main() turns flags into ServerOptions, calls Start, and Shutdown on a signal.
#ifndef EDGEROUTER_DATAPLANE_SERVER_SERVER_H_
#define EDGEROUTER_DATAPLANE_SERVER_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/http_admin_server.h"
#include "dataplane/proxy/access_log.h"
#include "dataplane/proxy/worker.h"
#include "dataplane/server/node_report.h"
#include "dataplane/server/snapshot_applier.h"
#include "dataplane/xds/xds_client.h"

namespace edgerouter::dataplane {

struct ServerOptions {
  // Listeners, limits, timeouts, AWS settings. access_log_writer and fallback_certs are set by
  // the server.
  proxy::ProxyOptions proxy;
  int64_t access_log_buffer_bytes = 4 << 20;
  std::string upstream_ca_file;  // extra trust anchors for https origins
  std::string admin_listen = "127.0.0.1:9901";
  int workers = 1;
  absl::Duration drain_timeout = absl::Seconds(10);
  // TLS: --default_cert / --dev_cert files, the certbus KEK file ("" = $CERTBUS_CLIENT_PRIVKEY).
  std::string default_cert;
  std::string dev_cert;
  std::string certbus_private_key;
  int ticket_rotation_s = 3600;
  size_t ticket_keys_kept = 3;
  std::string ticket_key_file;  // "" = random keys per process
  // Controlplane address, node id, state dir, channel credentials.
  xds::XdsClientOptions xds;
  size_t max_apps = 100000;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // Shutdown() if it was started

  // Loads TLS material, binds the listeners, applies the last-good snapshot, starts the workers,
  // the xDS stream and the admin listener, then logs "data plane ready". An error (a listener
  // that cannot bind, an unreadable certificate...) leaves nothing running.
  absl::Status Start();
  // Drains: stops accepting, lets in-flight requests finish for up to drain_timeout, then stops
  // everything. Idempotent.
  void Shutdown();

  int http_port() const;
  int https_port() const;
  int admin_port() const { return http_.port(); }

 private:
  absl::Status LoadTls();
  absl::Status StartWorkers();
  void StartAdmin();
  void RotateTicketKeys();

  ServerOptions options_;
  tls::CertStoreOptions cert_options_;
  // Before the workers: they hand it their last lines when they are destroyed.
  std::unique_ptr<proxy::AccessLogWriter> access_log_;
  proxy::ConfigSource configs_;
  std::atomic<std::shared_ptr<const std::string>> metrics_text_;
  std::vector<std::unique_ptr<proxy::Worker>> workers_;
  std::unique_ptr<SnapshotApplier> applier_;
  std::unique_ptr<NodeReporter> reporter_;
  std::unique_ptr<xds::XdsClient> xds_;
  admin::HttpAdminServer http_;
  absl::Notification stopped_;
  std::thread metrics_thread_;
  std::thread ticket_thread_;
  bool started_ = false;
  bool shut_down_ = false;
};

}  // namespace edgerouter::dataplane

#endif  // EDGEROUTER_DATAPLANE_SERVER_SERVER_H_
