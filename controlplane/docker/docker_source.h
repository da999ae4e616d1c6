// Docker discovery as a ConfigHub source: one thread keeps the engine's /events stream open
// and another runs full resyncs (containers, plus Swarm services and tasks when this node is
// a Swarm manager), so a slow resync never delays reading events and a burst of events costs
// one resync. Results go to a callback as an AppSource named "docker".
//
// Zero-error rolling updates: a container that receives a stop signal (the `kill` event that
// `docker stop` starts with) leaves the result at once, while it still drains its in-flight
// requests; Swarm tasks leave when their desired state turns to shutdown. A full resync also
// runs every `full_resync`, so a missed event can never leave the routes wrong for long.
#ifndef EDGEROUTER_CONTROLPLANE_DOCKER_DOCKER_SOURCE_H_
#define EDGEROUTER_CONTROLPLANE_DOCKER_DOCKER_SOURCE_H_

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "controlplane/docker/engine_client.h"
#include "controlplane/snapshot_builder.h"
#include "nlohmann/json.hpp"

namespace edgerouter::controlplane::docker {

struct DockerSourceOptions {
  std::string network = "bridge";  // --docker_network / NETWORK_NAME
  // Swarm emits no task events, so tasks are polled while any service is routed.
  absl::Duration swarm_poll = absl::Seconds(1);
  absl::Duration min_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  absl::Duration full_resync = absl::Seconds(30);
  metrics::MetricsRegistry* metrics = nullptr;  // optional: er_cp_docker_* families
};

class DockerSource {
 public:
  // Called on the resync thread, only when the result differs from the last one handed out.
  using Callback = std::function<void(AppSource)>;

  DockerSource(EngineClient* client, DockerSourceOptions options, Callback callback);
  ~DockerSource();

  void Start();
  // Returns within about a second: the event stream checks its stop flag at least that often.
  void Stop();

  // One full resync; `swarm_routed` tells whether Swarm services are routed (polling needed).
  // Exposed for tests; the threads use it too.
  absl::StatusOr<AppSource> Resync(bool* swarm_routed);

  // Whether an event from the /events stream changes what is routed.
  static bool EventTriggersResync(const nlohmann::json& event);
  // Whether a container `kill` event carries a signal that ends the container (TERM, INT,
  // QUIT, KILL) rather than one it handles while running (HUP, USR1, ...).
  static bool IsStopSignal(absl::string_view signal);

  // Feeds one /events item (the stream thread does this; exposed for tests).
  void OnEvent(const nlohmann::json& event);
  bool IsStopping(const std::string& container_id);

 private:
  struct Metrics {
    metrics::Counter* events = nullptr;
    metrics::Counter* resyncs = nullptr;
    metrics::Gauge* problems = nullptr;
    metrics::Gauge* stale = nullptr;
    metrics::Gauge* last_resync_seconds = nullptr;
  };

  void StreamLoop();
  void ResyncLoop();
  void RequestResync();
  void ReportStale(const absl::Status& error);

  EngineClient* client_;
  const DockerSourceOptions options_;
  Callback callback_;

  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  absl::CondVar cv_;
  bool resync_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool poll_swarm_ ABSL_GUARDED_BY(mu_) = false;
  // Containers sent a stop signal and not yet dead, started again or destroyed.
  absl::flat_hash_set<std::string> stopping_ ABSL_GUARDED_BY(mu_);
  Metrics metrics_;

  std::string last_signature_;  // resync thread only
  bool have_result_ = false;    // resync thread only
  AppSource last_result_;       // resync thread only: re-sent with a "stale" problem on errors
  bool stale_ = false;          // resync thread only
  std::thread stream_thread_;
  std::thread resync_thread_;
};

}  // namespace edgerouter::controlplane::docker

#endif  // EDGEROUTER_CONTROLPLANE_DOCKER_DOCKER_SOURCE_H_
