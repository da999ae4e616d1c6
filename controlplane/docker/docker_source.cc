#include "controlplane/docker/docker_source.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "controlplane/docker/addresses.h"

namespace edgerouter::controlplane::docker {

DockerSource::DockerSource(EngineClient* client, DockerSourceOptions options, Callback callback)
    : client_(client), options_(std::move(options)), callback_(std::move(callback)) {}

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
        [this](const nlohmann::json& event) {
          if (EventTriggersResync(event)) RequestResync();
        },
        stop_, "",
        // Events before this point were not seen: a resync after every (re)connect covers them.
        [&] {
          opened = true;
          RequestResync();
        });
    if (stop_) break;
    if (opened) backoff = options_.min_backoff;
    std::fprintf(stderr,
                 "level=WARN msg=\"docker events stream lost; last known docker apps kept (stale) "
                 "until resync\" error=\"%s\" retry_in=%s\n",
                 std::string(s.message()).c_str(), absl::FormatDuration(backoff).c_str());
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
      const absl::Time poll_at = absl::Now() + options_.swarm_poll;
      while (!stop_ && !resync_requested_) {
        if (poll_swarm_) {
          if (cv_.WaitWithDeadline(&mu_, poll_at)) break;
        } else {
          cv_.Wait(&mu_);
        }
      }
      if (stop_) return;
      resync_requested_ = false;
    }
    bool swarm_routed = false;
    absl::StatusOr<AppSource> source = Resync(&swarm_routed);
    if (!source.ok()) {
      // Keep the last result in the hub: a flapping engine must not unroute everything.
      std::fprintf(stderr, "level=WARN msg=\"docker resync failed; last known docker apps kept (stale)\" error=\"%s\"\n",
                   std::string(source.status().message()).c_str());
      continue;
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
    std::fprintf(stderr, "level=INFO msg=\"docker apps updated\" apps=%zu problems=%zu\n",
                 source->apps.size(), source->rejected.size());
    callback_(*std::move(source));
  }
}

absl::StatusOr<AppSource> DockerSource::Resync(bool* swarm_routed) {
  *swarm_routed = false;
  absl::StatusOr<std::string> containers = client_->GetJson("/containers/json");
  if (!containers.ok()) return containers.status();
  absl::StatusOr<Discovered> discovered = DiscoverContainers(*containers, options_.network);
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
      absl::StatusOr<Discovered> swarm = DiscoverSwarm(*services, *tasks, options_.network);
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
  for (config::Application& app : built.apps) {
    std::string origin = "docker:" + app.id();
    source.apps.push_back(std::make_shared<const PreparedApp>(PrepareApp(std::move(app), std::move(origin))));
  }
  for (const DiscoveryProblem& p : built.problems) {
    snapshot::RejectedItem item;
    item.set_source("docker");
    item.set_id(p.subject);
    item.set_reason(p.error);
    source.rejected.push_back(std::move(item));
  }
  return source;
}

}  // namespace edgerouter::controlplane::docker
