#include "controlplane/docker/docker_source.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "controlplane/docker/addresses.h"

namespace edgerouter::controlplane::docker {

DockerSource::DockerSource(EngineClient* client, DockerSourceOptions options, Callback callback)
    : client_(client), options_(std::move(options)), callback_(std::move(callback)) {
  if (metrics::MetricsRegistry* r = options_.metrics) {
    metrics_.events = r->AddCounter("er_cp_docker_events_total",
                                    "Docker engine events received, by type and action.", {"type", "action"});
    metrics_.resyncs = r->AddCounter("er_cp_docker_resyncs_total",
                                     "Full Docker resyncs, by result (ok, error).", {"result"});
    metrics_.problems = r->AddGauge("er_cp_docker_problems",
                                    "Containers/services asking for routing that cannot be routed.");
    metrics_.stale = r->AddGauge("er_cp_docker_stale",
                                 "1 while the engine is unreachable and the last known apps are kept.");
    metrics_.last_resync_seconds = r->AddGauge("er_cp_docker_last_resync_seconds",
                                               "Duration of the last successful resync.");
  }
}

DockerSource::~DockerSource() { Stop(); }

void DockerSource::Start() {
  stop_ = false;
  resync_thread_ = std::thread([this] { ResyncLoop(); });
  stream_thread_ = std::thread([this] { StreamLoop(); });
}

void DockerSource::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    cv_.SignalAll();
  }
  if (stream_thread_.joinable()) stream_thread_.join();
  if (resync_thread_.joinable()) resync_thread_.join();
}

void DockerSource::RequestResync() {
  absl::MutexLock lock(&mu_);
  resync_requested_ = true;
  // SignalAll: the stream thread's backoff wait shares the condvar.
  cv_.SignalAll();
}

bool DockerSource::IsStopSignal(absl::string_view signal) {
  // Engines report the number ("15"); names are accepted in case an engine reports those.
  for (const char* s : {"15", "2", "3", "9", "SIGTERM", "SIGINT", "SIGQUIT", "SIGKILL", "TERM", "INT",
                        "QUIT", "KILL"}) {
    if (signal == s) return true;
  }
  return false;
}

bool DockerSource::IsStopping(const std::string& container_id) {
  absl::MutexLock lock(&mu_);
  return stopping_.contains(container_id);
}

void DockerSource::OnEvent(const nlohmann::json& event) {
  if (!event.is_object()) return;
  const std::string type = event.value("Type", "");
  std::string action = event.value("Action", "");
  // "health_status: healthy" and "exec_start: sh" carry details after the colon.
  if (const size_t colon = action.find(':'); colon != std::string::npos) action.resize(colon);
  if (metrics_.events) metrics_.events->Inc({type, action});
  if (!EventTriggersResync(event)) return;
  if (type == "container") {
    std::string id, signal;
    if (auto actor = event.find("Actor"); actor != event.end() && actor->is_object()) {
      id = actor->value("ID", "");
      if (auto attrs = actor->find("Attributes"); attrs != actor->end() && attrs->is_object()) {
        signal = attrs->value("signal", "");
      }
    }
    absl::MutexLock lock(&mu_);
    if (action == "kill") {
      if (!IsStopSignal(signal)) return;  // e.g. SIGHUP to reload: the container keeps serving
      stopping_.insert(id);
    } else if (action == "start" || action == "die" || action == "destroy") {
      stopping_.erase(id);
    }
  }
  RequestResync();
}

bool DockerSource::EventTriggersResync(const nlohmann::json& event) {
  if (!event.is_object()) return false;
  const std::string type = event.value("Type", "");
  // Any service or node change can move tasks or VIPs; they are rare, so no finer filter.
  if (type == "service" || type == "node") return true;
  if (type != "container") return false;
  const std::string action = event.value("Action", "");
  // health_status arrives as "health_status: healthy" on 20.10 engines.
  for (const char* a : {"start", "stop", "die", "kill", "destroy"}) {
    if (action == a) return true;
  }
  return absl::StartsWith(action, "health_status");
}

void DockerSource::StreamLoop() {
  const nlohmann::json filters = {{"type", {"container", "service", "node"}}};
  absl::Duration backoff = options_.min_backoff;
  while (!stop_) {
    bool opened = false;
    absl::Status s = client_->StreamEvents(
        "", filters,
        [this](const nlohmann::json& event) { OnEvent(event); },
        stop_, "",
        // Events before this point were not seen: a resync after every (re)connect covers them.
        [&] {
          opened = true;
          RequestResync();
        });
    if (stop_) break;
    if (opened) backoff = options_.min_backoff;
    // A resync now fails fast when the engine is gone, which reports the apps as stale.
    RequestResync();
    log::Warn("docker events stream lost; last known docker apps kept (stale) until resync")
        .Kv("error", s.message())
        .Kv("retry_in", absl::FormatDuration(backoff));
    absl::MutexLock lock(&mu_);
    const absl::Time deadline = absl::Now() + backoff;
    while (!stop_ && !cv_.WaitWithDeadline(&mu_, deadline)) {
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

void DockerSource::ResyncLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      // Coalesced: events that arrive during a resync set the flag once, giving one more.
      const absl::Time wake_at =
          absl::Now() + (poll_swarm_ ? std::min(options_.swarm_poll, options_.full_resync)
                                     : options_.full_resync);
      while (!stop_ && !resync_requested_) {
        if (cv_.WaitWithDeadline(&mu_, wake_at)) break;
      }
      if (stop_) return;
      resync_requested_ = false;
    }
    bool swarm_routed = false;
    const absl::Time started = absl::Now();
    absl::StatusOr<AppSource> source = Resync(&swarm_routed);
    if (!source.ok()) {
      ReportStale(source.status());
      continue;
    }
    if (metrics_.resyncs) {
      metrics_.resyncs->Inc({"ok"});
      metrics_.stale->Set({}, 0);
      metrics_.problems->Set({}, static_cast<double>(source->rejected.size()));
      metrics_.last_resync_seconds->Set({}, absl::ToDoubleSeconds(absl::Now() - started));
    }
    if (stale_) {
      stale_ = false;
      have_result_ = false;  // hand on the fresh result even if unchanged: it clears "stale"
      log::Info("docker engine reachable again; resynced");
    }
    {
      absl::MutexLock lock(&mu_);
      poll_swarm_ = swarm_routed;
    }
    // Identical results are not handed on, so the 1 s Swarm polling does not rebuild snapshots.
    std::string signature;
    for (const auto& app : source->apps) {
      absl::StrAppend(&signature, app->id, "=", app->resource ? app->resource->version() : "-", ";");
    }
    for (const auto& r : source->rejected) absl::StrAppend(&signature, r.id(), ":", r.reason(), ";");
    if (have_result_ && signature == last_signature_) continue;
    have_result_ = true;
    last_signature_ = std::move(signature);
    log::Info("docker apps updated").Kv("apps", source->apps.size()).Kv("problems", source->rejected.size());
    for (const auto& r : source->rejected) {
      log::Warn("docker: not routed").Kv("subject", r.id()).Kv("error", r.reason());
    }
    last_result_ = *source;
    callback_(*std::move(source));
  }
}

void DockerSource::ReportStale(const absl::Status& error) {
  if (metrics_.resyncs) {
    metrics_.resyncs->Inc({"error"});
    metrics_.stale->Set({}, 1);
  }
  log::Warn("docker resync failed; last known docker apps kept (stale)").Kv("error", error.message());
  // The last apps stay routed (a flapping engine must not unroute everything); the problem
  // list says they are stale, so `edgerouterctl discovery errors` and the logs show it.
  if (stale_ || !have_result_) {
    stale_ = true;
    return;
  }
  stale_ = true;
  AppSource stale = last_result_;
  snapshot::v1::RejectedItem item;
  item.set_source("docker");
  item.set_id("(engine)");
  item.set_reason(absl::StrCat("unreachable; last known docker apps kept (stale): ", error.message()));
  stale.rejected.push_back(std::move(item));
  callback_(std::move(stale));
}

absl::StatusOr<AppSource> DockerSource::Resync(bool* swarm_routed) {
  *swarm_routed = false;
  absl::StatusOr<std::string> containers = client_->GetJson("/containers/json");
  if (!containers.ok()) return containers.status();
  absl::flat_hash_set<std::string> stopping;
  {
    absl::MutexLock lock(&mu_);
    stopping = stopping_;
  }
  absl::StatusOr<Discovered> discovered = DiscoverContainers(*containers, options_.network, stopping);
  if (!discovered.ok()) return discovered.status();

  absl::StatusOr<std::string> info_body = client_->GetJson("/info");
  if (!info_body.ok()) return info_body.status();
  const nlohmann::json info = nlohmann::json::parse(*info_body, nullptr, false);
  std::string swarm_state;
  if (info.is_object() && info.contains("Swarm") && info["Swarm"].is_object()) {
    swarm_state = info["Swarm"].value("LocalNodeState", "");
  }
  if (swarm_state == "active") {
    absl::StatusOr<std::string> services = client_->GetJson("/services");
    // 503: a Swarm worker, not a manager; it still has containers to route.
    if (!services.ok() && !absl::IsUnavailable(services.status())) return services.status();
    if (services.ok()) {
      absl::StatusOr<std::string> tasks = client_->GetJson("/tasks");
      if (!tasks.ok()) return tasks.status();
      absl::StatusOr<std::string> nodes = client_->GetJson("/nodes");
      if (!nodes.ok()) return nodes.status();
      absl::StatusOr<Discovered> swarm = DiscoverSwarm(*services, *tasks, options_.network, *nodes);
      if (!swarm.ok()) return swarm.status();
      // A routed service without a running task also needs polling: its tasks come silently.
      *swarm_routed = !swarm->services.empty() || !swarm->problems.empty();
      for (auto& s : swarm->services) discovered->services.push_back(std::move(s));
      for (auto& p : swarm->problems) discovered->problems.push_back(std::move(p));
    }
  }

  Built built = BuildApplications(*discovered);
  AppSource source;
  source.name = "docker";
  for (size_t i = 0; i < built.apps.size(); ++i) {
    std::string origin = "docker:" + built.apps[i].id();
    PreparedApp prepared = PrepareApp(std::move(built.apps[i]), std::move(origin));
    for (const CertResolverHost& h : built.cert_resolvers[i]) prepared.cert_resolvers.push_back({h.host, h.resolver, h.regexp});
    source.apps.push_back(std::make_shared<const PreparedApp>(std::move(prepared)));
  }
  for (const DiscoveryProblem& p : built.problems) {
    snapshot::v1::RejectedItem item;
    item.set_source("docker");
    item.set_id(p.subject);
    item.set_reason(p.error);
    source.rejected.push_back(std::move(item));
  }
  return source;
}

}  // namespace edgerouter::controlplane::docker
