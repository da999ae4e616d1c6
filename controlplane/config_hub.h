// Owns the sources (the tenant's streams in the event log, applications.json) and turns their
// changes into snapshots, re-resolving only the app ids that changed: changes mark the hub dirty; a builder thread rebuilds at once after a
// quiet period, or, during a burst, waits for a quiet window (bounded by a max delay, so a
// steady trickle cannot starve it), and publishes the snapshot when it changed.
#ifndef EDGEROUTER_CONTROLPLANE_CONFIG_HUB_H_
#define EDGEROUTER_CONTROLPLANE_CONFIG_HUB_H_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controlplane/event_log.h"
#include "controlplane/snapshot_builder.h"
#include "controlplane/stream_state.h"

namespace edgerouter::controlplane {

struct HubOptions {
  std::string tenant = "1";
  std::string apps_file;  // empty: no file source
  // edgerouter's ip-rules.hcl (empty: none; a missing file: no filtering). IpRulesUpdated
  // events on the loadbalancer stream take precedence over it.
  std::string ip_rules_file;
  absl::Duration quiet_window = absl::Milliseconds(20);
  absl::Duration max_delay = absl::Milliseconds(100);
};

struct HubStats {
  uint64_t builds = 0;
  double last_build_seconds = 0;
  uint64_t skipped_events = 0;
  size_t rejected_items = 0;
};

class ConfigHub {
 public:
  using Listener = std::function<void(std::shared_ptr<const BuiltSnapshot>)>;

  ConfigHub(EventLog* log, HubOptions options);
  ~ConfigHub();

  // Subscribe before Start: listeners run on the builder thread.
  void AddListener(Listener listener);
  absl::Status Start();
  void Stop();

  std::shared_ptr<const BuiltSnapshot> Current();
  // Blocks until a snapshot built from at least these stream versions is current.
  bool WaitForStreamVersion(uint64_t loadbalancer_version, absl::Duration timeout);
  bool WaitForCertbusVersion(uint64_t certbus_version, absl::Duration timeout);

  std::string loadbalancer_stream() const { return "/t-" + options_.tenant + "/loadbalancer"; }
  std::string certbus_stream() const { return "/t-" + options_.tenant + "/certbus"; }
  // Whether the loadbalancer stream holds app `id`, and the stream version it was read at.
  bool StreamHasApp(const std::string& id, uint64_t* stream_version);
  HubStats Stats();
  std::vector<SkippedEvent> RecentSkippedEvents();
  // Replaces the Docker discovery apps (lowest precedence). Thread-safe; marks the hub dirty.
  void SetDockerSource(AppSource source);
  // Replaces the pending ACME HTTP-01 challenges ("acme/<token>" resources, built by
  // controlplane/acme from the /t-<tenant>/acme stream). Thread-safe; marks the hub dirty.
  void SetAcmeChallenges(std::vector<ResourcePtr> challenges);

 private:
  void MarkDirty();
  void BuilderLoop();
  // Builds from the current source state and publishes when the snapshot changed.
  void BuildAndPublish();
  // Replaces a file or Docker source: its old and new ids are re-resolved by the next build.
  void ReplaceSource(AppSource* slot, AppSource source) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FileWatchLoop();
  void ReloadFile();
  void ReloadIpRulesFile();
  absl::Status WatchFile(const std::string& path, void (ConfigHub::*reload)());

  EventLog* log_;
  const HubOptions options_;
  std::vector<Listener> listeners_;

  absl::Mutex mu_;
  LoadBalancerState lb_ ABSL_GUARDED_BY(mu_);
  CertBusState certs_ ABSL_GUARDED_BY(mu_);
  AppSource file_source_ ABSL_GUARDED_BY(mu_);
  AppSource docker_source_ ABSL_GUARDED_BY(mu_);
  std::vector<ResourcePtr> acme_challenges_ ABSL_GUARDED_BY(mu_);
  ResourcePtr file_ip_rules_ ABSL_GUARDED_BY(mu_);
  std::vector<snapshot::v1::RejectedItem> ip_rules_rejected_ ABSL_GUARDED_BY(mu_);
  // Apps of the file and Docker sources by id (source order kept), for re-resolving one id.
  std::map<std::string, std::vector<PreparedAppPtr>> file_by_id_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<PreparedAppPtr>> docker_by_id_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> pending_ids_ ABSL_GUARDED_BY(mu_);  // besides the stream's changed ids
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time first_dirty_ ABSL_GUARDED_BY(mu_);
  absl::Time last_dirty_ ABSL_GUARDED_BY(mu_);
  absl::Time last_build_end_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<const BuiltSnapshot> current_ ABSL_GUARDED_BY(mu_);
  uint64_t built_lb_version_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t built_cert_version_ ABSL_GUARDED_BY(mu_) = 0;
  HubStats stats_ ABSL_GUARDED_BY(mu_);

  // Used by the one thread that builds (Start, then the builder thread).
  SnapshotBuilder builder_state_;

  std::unique_ptr<WatchHandle> lb_watch_;
  std::unique_ptr<WatchHandle> cert_watch_;
  std::thread builder_;
  std::thread file_watcher_;
  struct WatchedFile {
    int wd;
    std::string base;  // the file's name in the watched directory
    void (ConfigHub::*reload)();
  };
  std::vector<WatchedFile> watched_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;
};

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_CONFIG_HUB_H_
