// controlplane: merges the event streams and applications.json into versioned snapshots and
// pushes them to data planes over gRPC; serves the Admin API (with server reflection) and
// Prometheus metrics. Runs on embedded defaults with no flags.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/grpc_tls.h"
#include "common/log/log.h"
#include "common/log/log_flags.h"
#include "common/metrics.h"
#include "common/net/host_port.h"
#include "common/net/socket_address.h"
#include "common/version.h"
#include "controlplane/acme/acme_flags.h"
#include "controlplane/admin_service.h"
#include "controlplane/cert_expiry.h"
#include "controlplane/config_hub.h"
#include "controlplane/docker/docker_source.h"
#include "controlplane/docker/engine_client.h"
#include "controlplane/dashboard/dashboard.h"
#include "controlplane/dashboard/web_server.h"
#include "controlplane/discovery_server.h"
#include "controlplane/eventlog/etcd/etcd_event_log.h"
#include "controlplane/eventlog/eventhorizon/config.h"
#include "controlplane/eventlog/eventhorizon/eventhorizon_event_log.h"
#include "controlplane/eventlog/lease_keeper.h"
#include "controlplane/eventlog/open_event_log.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, replica_id, "",
          "this replica's name in cluster status (default: <hostname>:<grpc port>, or <hostname>-<pid> for port 0)");
ABSL_FLAG(std::string, event_log, "file",
          "where the event streams live: file (--data_dir), etcd (--etcd_*) or eventhorizon (DynamoDB, "
          "configured by env EVENTHORIZON=<prod|dev>:<tenant>:<keyId>:<secret>:<region>; the tenant comes from there)");
ABSL_FLAG(std::string, data_dir, "./edgerouter-data", "event log directory (--event_log=file)");
ABSL_FLAG(std::string, etcd_endpoints, "127.0.0.1:2379",
          "etcd v3 client endpoints host:port,host:port,… (--event_log=etcd)");
ABSL_FLAG(std::string, etcd_tls_cert, "", "PEM client certificate for etcd (with --etcd_tls_key)");
ABSL_FLAG(std::string, etcd_tls_key, "", "PEM private key of --etcd_tls_cert");
ABSL_FLAG(std::string, etcd_tls_ca, "", "PEM CA that signed the etcd servers' certificates (enables TLS)");
ABSL_FLAG(std::string, etcd_prefix, "/edgerouter", "key prefix of everything this control plane keeps in etcd");
ABSL_FLAG(int, eventhorizon_poll_ms, 1000, "--event_log=eventhorizon: poll the streams this often");
ABSL_FLAG(std::string, grpc_listen, "127.0.0.1:18000", "gRPC address (discovery, admin, reflection)");
ABSL_FLAG(std::string, grpc_tls_cert, "", "PEM certificate chain of the gRPC server (enables TLS)");
ABSL_FLAG(std::string, grpc_tls_key, "", "PEM private key of --grpc_tls_cert");
ABSL_FLAG(std::string, grpc_tls_ca, "",
          "PEM CA for client certificates: with it every gRPC client (data planes, edgerouterctl) must "
          "present a certificate it signed");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:18001", "HTTP address for /metrics, /healthz and the dashboard");
ABSL_FLAG(std::string, http_tls_cert, "", "PEM certificate chain of the HTTP listener (enables HTTPS)");
ABSL_FLAG(std::string, http_tls_key, "", "PEM private key of --http_tls_cert");
ABSL_FLAG(std::string, http_tls_client_ca, "",
          "PEM CA: HTTP clients are asked for a certificate it signed; the dashboard's state requires one");
ABSL_FLAG(std::string, dashboard_token_file, "",
          "file holding the bearer token the dashboard's state requires (needed when --http_listen is not loopback)");
ABSL_FLAG(int, node_expiry_s, 600, "a data plane that left is listed (disconnected) this long, then forgotten");
ABSL_FLAG(std::string, tenant, "1", "tenant: streams are /t-<tenant>/loadbalancer and /certbus");
ABSL_FLAG(std::string, apps_file, "", "applications.json to serve (re-read when it changes)");
ABSL_FLAG(std::string, ip_rules_file, "",
          "edgerouter's ip-rules.hcl (e.g. /etc/edgerouter/ip-rules.hcl; re-read when it changes; a missing "
          "file means no filtering; IpRulesUpdated events on the loadbalancer stream take precedence)");
ABSL_FLAG(int, coalesce_quiet_ms, 20, "rebuild after the sources were quiet this long");
ABSL_FLAG(int, coalesce_max_ms, 100, "but never later than this after the first change");
ABSL_FLAG(std::string, docker_url, "auto",
          "Docker Engine API: unix:///path or https://host:port; 'off' disables; 'auto' = env "
          "DOCKER_URL, else unix:///var/run/docker.sock when that socket exists, else off");
ABSL_FLAG(int, docker_resync_s, 30,
          "Full Docker resync period in seconds, on top of the event stream (covers missed events)");
ABSL_FLAG(std::string, docker_network, "",
          "network for container addresses (bridge, _auto_ or a name); empty = env NETWORK_NAME, else bridge");

namespace edgerouter::controlplane {
namespace {

using dashboard::WebRequest;
using dashboard::WebResponse;
using dashboard::WebServer;
using metrics::Counter;
using metrics::Histogram;
using metrics::MetricsRegistry;

bool IsLoopbackListen(const std::string& addr) {
  return absl::StartsWith(addr, "127.") || absl::StartsWith(addr, "[::1]:") ||
         absl::StartsWith(addr, "localhost:");
}

class PrometheusDiscoveryStats : public DiscoveryStats {
 public:
  explicit PrometheusDiscoveryStats(MetricsRegistry* registry)
      : pushes_(registry->AddCounter("er_cp_pushes_total", "Responses pushed to data planes.",
                                     {"kind"})),
        push_bytes_(registry->AddCounter("er_cp_push_bytes_total", "Bytes of pushed responses.")),
        acks_(registry->AddCounter("er_cp_acks_total", "Snapshots acknowledged by data planes.")),
        nacks_(registry->AddCounter("er_cp_nacks_total", "Snapshots rejected by data planes.")),
        convergence_(registry->AddHistogram(
            "er_cp_convergence_seconds", "Snapshot committed until a data plane ACKed it.", {},
            {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})) {}

  void OnPush(size_t bytes, bool full_state) override {
    pushes_->Inc({full_state ? "full" : "delta"});
    push_bytes_->Inc({}, static_cast<double>(bytes));
  }
  void OnAck(double seconds) override {
    acks_->Inc();
    convergence_->Observe({}, seconds);
  }
  void OnNack() override { nacks_->Inc(); }

 private:
  Counter* pushes_;
  Counter* push_bytes_;
  Counter* acks_;
  Counter* nacks_;
  Histogram* convergence_;
};

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// edgerouter's env names are honoured so that its deployments keep working unchanged.
std::string DockerUrl() {
  std::string url = absl::GetFlag(FLAGS_docker_url);
  if (url == "off") return "";
  if (url != "auto") return url;
  struct stat st;
  const bool socket = stat("/var/run/docker.sock", &st) == 0 && S_ISSOCK(st.st_mode);
  return EnvOr("DOCKER_URL", socket ? "unix:///var/run/docker.sock" : "");
}

std::string DefaultReplicaId(const std::string& grpc_listen) {
  if (std::string id = absl::GetFlag(FLAGS_replica_id); !id.empty()) return id;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "controlplane");
  absl::StatusOr<net::HostPort> listen = net::SplitHostPort(grpc_listen);
  return !listen.ok() || listen->port == 0 ? absl::StrCat(host, "-", getpid()) : absl::StrCat(host, ":", listen->port);
}

int Run() {
  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::string grpc_listen = absl::GetFlag(FLAGS_grpc_listen);
  const GrpcTlsFiles tls_files{absl::GetFlag(FLAGS_grpc_tls_cert), absl::GetFlag(FLAGS_grpc_tls_key),
                               absl::GetFlag(FLAGS_grpc_tls_ca)};
  // Off loopback, only mutual TLS: snapshots carry app secrets (auth_v0 tokens) and the Admin
  // API writes the event streams.
  if (!IsLoopbackListen(grpc_listen) && tls_files.ca.empty()) {
    log::Error("not started")
        .Kv("error", absl::StrCat("refusing ", tls_files.enabled() ? "TLS without client certificates for" : "plaintext",
                                  " gRPC on non-loopback address ", grpc_listen,
                                  " (listen on 127.0.0.1 or [::1], or give --grpc_tls_cert, --grpc_tls_key and "
                                  "--grpc_tls_ca for TLS with client certificates)"));
    return 2;
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> server_credentials = GrpcServerCredentials(tls_files);
  if (!server_credentials.ok()) {
    log::Error("not started").Kv("error", server_credentials.status().message());
    return 2;
  }

  std::string tenant = absl::GetFlag(FLAGS_tenant);
  std::vector<std::string> notes;
  EventLogOptions log_options;
  log_options.kind = absl::GetFlag(FLAGS_event_log);
  log_options.data_dir = absl::GetFlag(FLAGS_data_dir);
  log_options.etcd_endpoints = absl::GetFlag(FLAGS_etcd_endpoints);
  log_options.etcd_tls = {absl::GetFlag(FLAGS_etcd_tls_cert), absl::GetFlag(FLAGS_etcd_tls_key),
                          absl::GetFlag(FLAGS_etcd_tls_ca)};
  log_options.etcd_prefix = absl::GetFlag(FLAGS_etcd_prefix);
  log_options.eventhorizon_poll = absl::Milliseconds(std::max(10, absl::GetFlag(FLAGS_eventhorizon_poll_ms)));
  if (log_options.kind == "eventhorizon") {
    // EventHorizon names the tenant itself (EVENTHORIZON=<env>:<tenant>:…), as edgerouter does.
    absl::StatusOr<eventhorizon::Config> config = eventhorizon::ConfigFromEnvironment();
    if (!config.ok()) {
      log::Error("not started").Kv("error", absl::StrCat("--event_log=eventhorizon: ", config.status().message()));
      return 2;
    }
    if (tenant != "1" && tenant != config->tenant) {
      log::Error("not started")
          .Kv("error", absl::StrCat("--tenant=", tenant, " contradicts EVENTHORIZON's tenant ", config->tenant));
      return 2;
    }
    tenant = config->tenant;
    log::Info("event log: eventhorizon").Kv("config", config->Describe()).Kv("poll_ms", absl::GetFlag(FLAGS_eventhorizon_poll_ms));
  }
  absl::StatusOr<std::unique_ptr<EventLog>> opened = OpenEventLog(log_options, &notes);
  if (!opened.ok()) {
    log::Error("not started").Kv("error", absl::StrCat("event log: ", opened.status().message()));
    return 1;
  }
  std::unique_ptr<EventLog> log = *std::move(opened);
  auto* eventhorizon_log = dynamic_cast<eventhorizon::EventHorizonEventLog*>(log.get());
  for (const std::string& note : notes) log::Warn("event log repaired").Kv("detail", note);
  if (log_options.kind == "etcd") {
    log::Info("event log on etcd")
        .Kv("endpoints", log_options.etcd_endpoints)
        .Kv("prefix", log_options.etcd_prefix)
        .Kv("tls", log_options.etcd_tls.enabled() ? "on" : "off");
  }

  MetricsRegistry registry;
  PrometheusDiscoveryStats stats(&registry);
  const std::string replica_id = DefaultReplicaId(grpc_listen);
  DiscoveryServer discovery(&stats, replica_id);
  discovery.set_node_expiry(absl::Seconds(std::max(1, absl::GetFlag(FLAGS_node_expiry_s))));

  HubOptions options;
  options.tenant = tenant;
  options.apps_file = absl::GetFlag(FLAGS_apps_file);
  options.ip_rules_file = absl::GetFlag(FLAGS_ip_rules_file);
  options.quiet_window = absl::Milliseconds(absl::GetFlag(FLAGS_coalesce_quiet_ms));
  options.max_delay = absl::Milliseconds(absl::GetFlag(FLAGS_coalesce_max_ms));
  ConfigHub hub(log.get(), options);
  hub.AddListener([&](std::shared_ptr<const BuiltSnapshot> s) { discovery.OnSnapshot(std::move(s)); });
  CertExpiryReporter cert_expiry(&registry);
  hub.AddListener([&](std::shared_ptr<const BuiltSnapshot> s) { cert_expiry.OnSnapshot(std::move(s)); });
  // ACME (--acme_directory, docs/acme.md): names from every snapshot; started under "duties" below.
  std::unique_ptr<acme::AcmeService> acme_service;
  if (absl::StatusOr<std::optional<acme::AcmeServiceOptions>> acme_options = acme::AcmeOptionsFromFlags(tenant);
      !acme_options.ok() || *acme_options) {
    auto created = acme_options.ok() ? acme::AcmeService::Create(**std::move(acme_options), log.get(), &hub, &discovery)
                                     : absl::StatusOr<std::unique_ptr<acme::AcmeService>>(acme_options.status());
    if (!created.ok()) {
      std::fprintf(stderr, "controlplane: %s\n", std::string(created.status().message()).c_str());
      return 2;
    }
    acme_service = *std::move(created);
    acme_service->RegisterMetrics(&registry);
    hub.AddListener([&](std::shared_ptr<const BuiltSnapshot> s) { acme_service->OnSnapshot(std::move(s)); });
  }

  registry.AddCallbackGauge("er_cp_connected_nodes", "Data planes with an open discovery stream.",
                            [&] { return static_cast<double>(discovery.connected_nodes()); });
  registry.AddCallbackCounter("er_cp_snapshot_builds_total", "Snapshot builds since start.",
                            [&] { return static_cast<double>(hub.Stats().builds); });
  registry.AddCallbackGauge("er_cp_last_build_seconds", "Duration of the last snapshot build.",
                            [&] { return hub.Stats().last_build_seconds; });
  registry.AddCallbackCounter("er_cp_skipped_events_total", "Stream events skipped (unknown type or bad payload).",
                            [&] { return static_cast<double>(hub.Stats().skipped_events); });
  registry.AddCallbackGauge("er_cp_rejected_items", "Apps or files left out of the current snapshot.",
                            [&] { return static_cast<double>(hub.Stats().rejected_items); });
  registry.AddCallbackGauge("er_cp_snapshot_resources", "Resources in the current snapshot.", [&] {
    auto s = hub.Current();
    return s ? static_cast<double>(s->resources.size()) : 0.0;
  });

  if (eventhorizon_log != nullptr) {
    registry.AddCallbackGauge("er_cp_event_log_stale",
                              "1 while event log reads fail (throttling, 5xx, unreachable): the last good state is served.",
                              [eventhorizon_log] { return eventhorizon_log->status().stale ? 1.0 : 0.0; });
    registry.AddCallbackCounter("er_cp_event_log_read_failures_total", "Failed event log read rounds since start.",
                              [eventhorizon_log] { return static_cast<double>(eventhorizon_log->status().read_failures); });
    registry.AddCallbackCounter("er_cp_event_log_throttled_total", "Event log reads refused by DynamoDB throttling since start.",
                              [eventhorizon_log] { return static_cast<double>(eventhorizon_log->status().throttled); });
    registry.AddCallbackCounter("er_cp_event_log_skipped_items_total", "Malformed event log items skipped.",
                              [eventhorizon_log] { return static_cast<double>(eventhorizon_log->status().skipped_items); });
  }

  // Up before the event log is read: while the log is unreachable, /healthz says so (503).
  std::string dashboard_token;
  if (const std::string file = absl::GetFlag(FLAGS_dashboard_token_file); !file.empty()) {
    std::ifstream in(file);
    std::getline(in, dashboard_token);
    if (!in && dashboard_token.empty()) {
      log::Error("not started").Kv("error", absl::StrCat("--dashboard_token_file ", file, ": unreadable or empty"));
      return 1;
    }
  }
  std::optional<dashboard::WebTls> http_tls;
  if (!absl::GetFlag(FLAGS_http_tls_cert).empty() || !absl::GetFlag(FLAGS_http_tls_client_ca).empty()) {
    http_tls.emplace();
    for (auto [flag, out] : {std::pair{absl::GetFlag(FLAGS_http_tls_cert), &http_tls->cert_pem},
                             std::pair{absl::GetFlag(FLAGS_http_tls_key), &http_tls->key_pem},
                             std::pair{absl::GetFlag(FLAGS_http_tls_client_ca), &http_tls->client_ca_pem}}) {
      if (flag.empty()) continue;
      std::ifstream in(flag);
      out->assign(std::istreambuf_iterator<char>(in), {});
      if (!in.good() && out->empty()) {
        log::Error("not started").Kv("error", absl::StrCat(flag, ": unreadable or empty"));
        return 1;
      }
    }
    if (http_tls->cert_pem.empty() || http_tls->key_pem.empty()) {
      log::Error("not started").Kv("error", "--http_tls_cert and --http_tls_key go together (and --http_tls_client_ca needs them)");
      return 1;
    }
  }
  dashboard::DashboardOptions board_options;
  board_options.token = dashboard_token;
  board_options.client_certs = http_tls.has_value() && !http_tls->client_ca_pem.empty();
  board_options.replica_id = replica_id;
  board_options.loadbalancer_stream = hub.loadbalancer_stream();
  board_options.certbus_stream = hub.certbus_stream();
  board_options.docker_url = DockerUrl();
  board_options.docker_enabled = !board_options.docker_url.empty();
  dashboard::Dashboard board(std::move(board_options));
  WebServer http;
  board.Register(&http);
  http.Handle("/metrics", [&](const WebRequest&) {
    WebResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = registry.Render();
    return r;
  });
  http.Handle("/healthz", [&](const WebRequest&) {
    WebResponse r;
    r.body = hub.Current() ? "ok\n" : "starting\n";
    if (!hub.Current()) r.status = 503;
    // Nothing read from EventHorizon yet (unreachable at start): not ready, never empty-as-fresh.
    if (eventhorizon_log != nullptr && !eventhorizon_log->status().caught_up) {
      r.status = 503;
      r.body = "event log not read yet: " + eventhorizon_log->status().last_error + "\n";
    }
    return r;
  });
  if (absl::Status s = http.Start(absl::GetFlag(FLAGS_http_listen), http_tls ? &*http_tls : nullptr); !s.ok()) {
    log::Error("not started").Kv("error", s.message());
    return 1;
  }
  // etcd unreachable at start: wait (and say so) rather than exit or serve an empty snapshot as
  // if it were current; data planes keep what they hold meanwhile. SIGTERM still ends the wait.
  if (auto* etcd_log = dynamic_cast<etcd::EtcdEventLog*>(log.get())) {
    bool waited = false;
    for (;;) {
      absl::StatusOr<uint64_t> head = etcd_log->HeadOrError(hub.loadbalancer_stream());
      if (head.ok()) break;
      if (!waited) {
        log::Warn("event log not reachable yet; waiting before serving").Kv("error", head.status().message());
        waited = true;
      }
      const timespec pause{0, 500 * 1000 * 1000};
      if (sigtimedwait(&signals, nullptr, &pause) > 0) return 0;
    }
    if (waited) log::Info("event log reachable");
  }
  if (absl::Status s = hub.Start(); !s.ok()) {
    log::Error("not started").Kv("error", s.message());
    return 1;
  }
  // EventHorizon unreachable at start: serve nothing until the streams were read once, so data
  // planes keep the snapshot they hold instead of receiving an empty one as if it were fresh.
  if (eventhorizon_log != nullptr && !eventhorizon_log->status().caught_up) {
    log::Warn("event log not readable yet; waiting before serving").Kv("error", eventhorizon_log->status().last_error);
    const timespec tick{0, 100 * 1000 * 1000};
    while (!eventhorizon_log->status().caught_up) {
      if (sigtimedwait(&signals, nullptr, &tick) > 0) {
        hub.Stop();
        return 0;
      }
    }
    hub.WaitForStreamVersion(log->Head(hub.loadbalancer_stream()), absl::Seconds(30));
    hub.WaitForCertbusVersion(log->Head(hub.certbus_stream()), absl::Seconds(30));
    log::Info("event log read");
  }

  std::unique_ptr<docker::EngineClient> docker_client;
  std::unique_ptr<docker::DockerSource> docker_source;
  if (const std::string url = DockerUrl(); !url.empty()) {
    docker::EngineClientOptions engine;
    engine.url = url;
    engine.client_cert_pem = EnvOr("DOCKER_CLIENTCERT", "");
    engine.client_key_pem = EnvOr("DOCKER_CLIENTCERT_KEY", "");
    auto client = docker::EngineClient::Create(std::move(engine));
    if (!client.ok()) {
      log::Error("not started").Kv("error", absl::StrCat("docker: ", client.status().message()));
      return 1;
    }
    docker_client = *std::move(client);
    docker::DockerSourceOptions docker_options;
    docker_options.metrics = &registry;
    docker_options.full_resync = absl::Seconds(absl::GetFlag(FLAGS_docker_resync_s));
    docker_options.network = absl::GetFlag(FLAGS_docker_network);
    if (docker_options.network.empty()) docker_options.network = EnvOr("NETWORK_NAME", "bridge");
    docker_source = std::make_unique<docker::DockerSource>(
        docker_client.get(), docker_options, [&hub](AppSource s) { hub.SetDockerSource(std::move(s)); });
    docker_source->Start();
    log::Info("docker discovery on").Kv("url", url).Kv("network", docker_options.network);
  }

  AdminService admin(log.get(), &hub, &discovery);
  board.Attach(&admin);
  struct Detach {  // before `admin` goes: the dashboard's thread may be reading it
    dashboard::Dashboard* board;
    ~Detach() { board->Attach(nullptr); }
  } detach{&board};
  // Duties that must run on one replica at a time (the ACME issuer) run while this is held.
  LeaseKeeper duties("duties", OpenLease(log.get(), "duties", replica_id));
  duties.Start();
  // The issuer reads `duties`: stop it before `duties` goes, on every way out of Run.
  struct StopAcme {
    std::unique_ptr<acme::AcmeService>* service;
    ~StopAcme() {
      if (*service) (*service)->Stop();
    }
  } stop_acme{&acme_service};
  if (acme_service != nullptr) {
    if (absl::Status s = acme_service->Start(&duties); !s.ok()) {
      std::fprintf(stderr, "controlplane: acme: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    admin.set_acme_status([&] {
      admin::v1::ListAcmeNamesResponse r = acme_service->Status();
      r.set_replica_id(replica_id);
      return r;
    });
  }
  admin.set_replica_info({replica_id, log_options.kind, absl::Now(), [&duties] {
                            admin::v1::LeaseStatus lease;
                            lease.set_name(duties.name());
                            lease.set_held_here(duties.held());
                            lease.set_holder(duties.holder());
                            return std::vector<admin::v1::LeaseStatus>{lease};
                          }});
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(grpc_listen, *server_credentials, &bound_port);
  builder.RegisterService(&discovery);
  builder.RegisterService(&admin);
  // Dead data planes are noticed within ~30 s even when idle.
  // `edgerouterctl app import` sends a whole applications.json in one call (the file event log
  // takes records up to 64 MiB too).
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder.SetMaxSendMessageSize(256 << 20);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    log::Error("not started").Kv("error", absl::StrCat("cannot listen on ", grpc_listen));
    return 1;
  }

  // Actual ports (a :0 flag picks a free one), so scripts and tests can read them from here.
  const std::string http_listen = absl::GetFlag(FLAGS_http_listen);
  log::Info("control plane ready")
      .Kv("grpc", net::WithPort(grpc_listen, bound_port))
      .Kv("grpc_tls", tls_files.ca.empty() ? (tls_files.enabled() ? "server" : "off") : "mutual")
      .Kv("http", net::WithPort(http_listen, http.port()))
      .Kv("event_log", log_options.kind)
      .Kv("data_dir", log_options.data_dir)
      .Kv("tenant", options.tenant);

  int sig = 0;
  sigwait(&signals, &sig);
  log::Info("shutting down").Kv("signal", sig);
  const absl::Time stop_start = absl::Now();
  http.Stop();
  discovery.CloseAllStreams();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (acme_service) acme_service->Stop();  // an order in progress is finished first
  if (docker_source) docker_source->Stop();  // before the hub it feeds
  hub.Stop();
  log::Info("stopped").Kv("seconds", absl::StrFormat("%.3f", absl::ToDoubleSeconds(absl::Now() - stop_start)));
  return 0;
}

}  // namespace
}  // namespace edgerouter::controlplane

int main(int argc, char** argv) {
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles (a debug-build aid);
  // with a mutex per node stream that graph walk is ~7% of the control plane's CPU at 1,000
  // nodes. Lock order is checked by the tests, which keep the default.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  edgerouter::InstallVersionFlag("controlplane");
  absl::ParseCommandLine(argc, argv);
  if (absl::Status s = edgerouter::log::InitFromFlags(); !s.ok()) {
    edgerouter::log::Error("not started").Kv("error", s.message());
    return 2;
  }
  return edgerouter::controlplane::Run();
}
