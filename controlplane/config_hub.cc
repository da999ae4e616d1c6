#include "controlplane/config_hub.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/app_config.h"
#include "common/log/log.h"
#include "controlplane/ip_rules_hcl.h"

namespace edgerouter::controlplane {

ConfigHub::ConfigHub(EventLog* log, HubOptions options)
    : log_(log),
      options_(std::move(options)),
      lb_("/t-" + options_.tenant + "/loadbalancer"),
      certs_("/t-" + options_.tenant + "/certbus") {
  file_source_.name = "file";
  docker_source_.name = "docker";
}

ConfigHub::~ConfigHub() { Stop(); }

void ConfigHub::AddListener(Listener listener) { listeners_.push_back(std::move(listener)); }

absl::Status ConfigHub::Start() {
  // Replaying the streams happens inside Watch (backlog first), then new entries follow.
  auto lb = log_->Watch(loadbalancer_stream(), 0, [this](const LogEntry& entry) {
    absl::MutexLock lock(&mu_);
    lb_.Apply(entry);
    MarkDirty();
  });
  if (!lb.ok()) return lb.status();
  lb_watch_ = *std::move(lb);
  auto certs = log_->Watch(certbus_stream(), 0, [this](const LogEntry& entry) {
    absl::MutexLock lock(&mu_);
    certs_.Apply(entry);
    MarkDirty();
  });
  if (!certs.ok()) return certs.status();
  cert_watch_ = *std::move(certs);

  if (!options_.apps_file.empty() || !options_.ip_rules_file.empty()) {
    inotify_fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (inotify_fd_ < 0 || wake_fd_ < 0) return absl::InternalError("inotify/eventfd failed");
    if (!options_.apps_file.empty()) {
      ReloadFile();
      if (absl::Status s = WatchFile(options_.apps_file, &ConfigHub::ReloadFile); !s.ok()) return s;
    }
    if (!options_.ip_rules_file.empty()) {
      ReloadIpRulesFile();
      if (absl::Status s = WatchFile(options_.ip_rules_file, &ConfigHub::ReloadIpRulesFile); !s.ok()) return s;
    }
    file_watcher_ = std::thread([this] { FileWatchLoop(); });
  }
  // The first snapshot is built before Start returns: nothing is served from a half-read state.
  BuildAndPublish();
  builder_ = std::thread([this] { BuilderLoop(); });
  return absl::OkStatus();
}

absl::Status ConfigHub::WatchFile(const std::string& path, void (ConfigHub::*reload)()) {
  std::string dir = path.substr(0, path.find_last_of('/') + 1);
  if (dir.empty()) dir = ".";
  // Watch the directory, not the file: editors and `mv` replace the file's inode.
  const int wd = inotify_add_watch(inotify_fd_, dir.c_str(),
                                   IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM);
  if (wd < 0) return absl::InternalError(absl::StrCat("watch ", dir, " for ", path, " failed"));
  watched_.push_back({wd, path.substr(path.find_last_of('/') + 1), reload});
  return absl::OkStatus();
}

void ConfigHub::Stop() {
  lb_watch_.reset();
  cert_watch_.reset();
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }
  if (builder_.joinable()) builder_.join();
  if (file_watcher_.joinable()) file_watcher_.join();
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  inotify_fd_ = wake_fd_ = -1;
}

void ConfigHub::MarkDirty() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
  const absl::Time now = absl::Now();
  if (!dirty_) first_dirty_ = now;
  last_dirty_ = now;
  dirty_ = true;
}

namespace {
bool SameRejections(const std::vector<snapshot::v1::RejectedItem>& a,
                    const std::vector<snapshot::v1::RejectedItem>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].source() != b[i].source() || a[i].id() != b[i].id() || a[i].reason() != b[i].reason()) {
      return false;
    }
  }
  return true;
}
}  // namespace

void ConfigHub::BuilderLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ConfigHub* hub) ABSL_NO_THREAD_SAFETY_ANALYSIS { return hub->dirty_ || hub->stopping_; },
          this));
      // A change after a quiet period is built at once (leading edge). Changes that follow
      // soon after a build are coalesced: wait until the sources have been quiet for the
      // window, but no longer than max_delay after the first of them.
      const bool burst = first_dirty_ - last_build_end_ < options_.quiet_window;
      while (burst && !stopping_) {
        const absl::Time deadline =
            std::min(last_dirty_ + options_.quiet_window, first_dirty_ + options_.max_delay);
        if (absl::Now() >= deadline) break;
        mu_.AwaitWithDeadline(absl::Condition(
                                  +[](bool* stopping) { return *stopping; }, &stopping_),
                              deadline);
      }
      if (stopping_) return;
    }
    BuildAndPublish();
    absl::MutexLock lock(&mu_);
    last_build_end_ = absl::Now();
  }
}

void ConfigHub::BuildAndPublish() {
  std::vector<AppCandidates> candidates;
  std::vector<ResourceSet::Change> cert_changes;
  std::vector<ResourcePtr> others;
  std::vector<snapshot::v1::RejectedItem> source_rejections;
  uint64_t lb_version, cert_version;
  const absl::Time start = absl::Now();
  absl::Time first_dirty;
  {
    // Only the changed ids' candidates (pointer copies) under the lock; the sources keep
    // changing meanwhile.
    absl::MutexLock lock(&mu_);
    first_dirty = dirty_ ? first_dirty_ : start;
    dirty_ = false;
    std::set<std::string> ids = lb_.TakeChangedIds();
    if (ids.empty()) {
      ids = std::move(pending_ids_);
    } else {
      ids.merge(pending_ids_);
    }
    pending_ids_.clear();
    candidates.reserve(ids.size());
    for (const std::string& id : ids) {
      AppCandidates& c = candidates.emplace_back();
      c.id = id;
      // Precedence: the loadbalancer stream, then the file, then Docker.
      if (auto it = lb_.apps().find(id); it != lb_.apps().end()) c.apps.push_back(it->second);
      for (const auto* index : {&file_by_id_, &docker_by_id_}) {
        if (auto it = index->find(id); it != index->end()) c.apps.insert(c.apps.end(), it->second.begin(), it->second.end());
      }
    }
    source_rejections = file_source_.rejected;
    source_rejections.insert(source_rejections.end(), docker_source_.rejected.begin(), docker_source_.rejected.end());
    // Rules from the stream win over the file's; a bad file is reported with the others.
    const ResourcePtr& ip_rules = lb_.ip_rules() != nullptr ? lb_.ip_rules() : file_ip_rules_;
    source_rejections.insert(source_rejections.end(), ip_rules_rejected_.begin(), ip_rules_rejected_.end());
    for (const std::string& id : certs_.TakeChangedIds()) {
      auto it = certs_.resources().find(id);
      cert_changes.emplace_back(absl::StrCat("cert/", id), it != certs_.resources().end() ? it->second : nullptr);
    }
    others.insert(others.end(), acme_challenges_.begin(), acme_challenges_.end());
    if (ip_rules != nullptr) others.push_back(ip_rules);
    lb_version = lb_.version();
    cert_version = certs_.version();
  }
  std::shared_ptr<const BuiltSnapshot> built =
      builder_state_.Build(candidates, std::move(cert_changes), others, std::move(source_rejections));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  bool changed;
  {
    absl::MutexLock lock(&mu_);
    changed = current_ == nullptr || current_->version != built->version ||
              !SameRejections(current_->rejected, built->rejected);
    if (changed) current_ = built;
    built_lb_version_ = lb_version;
    built_cert_version_ = cert_version;
    stats_.builds++;
    stats_.last_build_seconds = seconds;
    stats_.skipped_events = lb_.skipped().total() + certs_.skipped().total();
    stats_.rejected_items = built->rejected.size();
  }
  if (!changed) return;
  log::Info("snapshot built")
      .Kv("version", built->version)
      .Kv("resources", built->resources.size())
      .Kv("rejected", built->rejected.size())
      .Kv("seconds", absl::StrFormat("%.4f", seconds))
      .Ms("queued_ms", start - first_dirty)
      .Kv("changed_ids", candidates.size());
  for (const auto& r : built->rejected) {
    log::Warn("app rejected").Kv("source", r.source()).Kv("id", r.id()).Kv("reason", r.reason());
  }
  const absl::Time notify = absl::Now();
  for (const Listener& listener : listeners_) listener(built);
  log::Debug("snapshot handed out").Kv("version", built->version).Ms("listeners_ms", absl::Now() - notify);
}

void ConfigHub::ReloadFile() {
  AppSource source;
  source.name = "file";
  const std::string origin = "file:" + options_.apps_file;
  std::ifstream in(options_.apps_file, std::ios::binary);
  if (!in) {
    // A missing file means "no apps from the file", not an error that freezes the config.
    absl::MutexLock lock(&mu_);
    ReplaceSource(&file_source_, std::move(source));
    MarkDirty();
    return;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  absl::StatusOr<config::ParsedApplications> parsed =
      config::ParseApplicationsFile(buffer.str(), config::InputMode::kStrict);
  absl::MutexLock lock(&mu_);
  if (!parsed.ok()) {
    // Keep serving the apps of the last good read; report the broken file.
    source.apps = file_source_.apps;
    snapshot::v1::RejectedItem item;
    item.set_source(origin);
    item.set_reason(std::string(parsed.status().message()));
    source.rejected.push_back(item);
  } else {
    for (config::v1::Application& app : parsed->apps) {
      source.apps.push_back(std::make_shared<const PreparedApp>(PrepareApp(std::move(app), origin)));
    }
    for (const config::AppProblems& p : parsed->problems) {
      snapshot::v1::RejectedItem item;
      item.set_source(origin);
      item.set_id(p.label);
      item.set_reason(absl::StrJoin(p.details, "; "));
      source.rejected.push_back(item);
    }
  }
  ReplaceSource(&file_source_, std::move(source));
  MarkDirty();
}

void ConfigHub::ReplaceSource(AppSource* slot, AppSource source) {
  auto& index = slot == &file_source_ ? file_by_id_ : docker_by_id_;
  for (const auto& [id, apps] : index) pending_ids_.insert(id);
  index.clear();
  for (const PreparedAppPtr& app : source.apps) {
    index[app->id].push_back(app);
    pending_ids_.insert(app->id);
  }
  *slot = std::move(source);
}

void ConfigHub::ReloadIpRulesFile() {
  const std::string& path = options_.ip_rules_file;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    // As edgerouter: no file, no filtering.
    absl::MutexLock lock(&mu_);
    file_ip_rules_ = nullptr;
    ip_rules_rejected_.clear();
    MarkDirty();
    return;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  absl::StatusOr<config::v1::IpRules> rules = ParseIpRulesHcl(buffer.str());
  absl::MutexLock lock(&mu_);
  ip_rules_rejected_.clear();
  if (!rules.ok()) {
    // The rules of the last good read keep applying; the broken file is reported.
    snapshot::v1::RejectedItem item;
    item.set_source("file:" + path);
    item.set_id("iprules");
    item.set_reason(absl::StrCat(path, ":", rules.status().message()));
    ip_rules_rejected_.push_back(std::move(item));
    std::fprintf(stderr, "level=WARN msg=\"ip rules file rejected; previous rules still apply\" error=\"%s:%s\"\n",
                 path.c_str(), std::string(rules.status().message()).c_str());
  } else {
    file_ip_rules_ = PrepareIpRules(*std::move(rules), "file:" + path);
  }
  MarkDirty();
}

void ConfigHub::FileWatchLoop() {
  alignas(inotify_event) char buf[4096];
  while (true) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents) return;
    ssize_t n = read(inotify_fd_, buf, sizeof(buf));
    std::vector<void (ConfigHub::*)()> reloads;
    for (ssize_t off = 0; off < n;) {
      auto* ev = reinterpret_cast<inotify_event*>(buf + off);
      for (const WatchedFile& w : watched_) {
        if (ev->wd == w.wd && ev->len > 0 && w.base == ev->name &&
            std::find(reloads.begin(), reloads.end(), w.reload) == reloads.end()) {
          reloads.push_back(w.reload);
        }
      }
      off += sizeof(inotify_event) + ev->len;
    }
    for (auto reload : reloads) (this->*reload)();
  }
}

void ConfigHub::SetDockerSource(AppSource source) {
  absl::MutexLock lock(&mu_);
  source.name = "docker";
  ReplaceSource(&docker_source_, std::move(source));
  MarkDirty();
}

void ConfigHub::SetAcmeChallenges(std::vector<ResourcePtr> challenges) {
  absl::MutexLock lock(&mu_);
  acme_challenges_ = std::move(challenges);
  MarkDirty();
}

std::shared_ptr<const BuiltSnapshot> ConfigHub::Current() {
  absl::MutexLock lock(&mu_);
  return current_;
}

bool ConfigHub::WaitForStreamVersion(uint64_t version, absl::Duration timeout) {
  std::pair<ConfigHub*, uint64_t> arg(this, version);
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(
      absl::Condition(
          +[](std::pair<ConfigHub*, uint64_t>* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return a->first->built_lb_version_ >= a->second && !a->first->dirty_;
          },
          &arg),
      timeout);
}

bool ConfigHub::WaitForCertbusVersion(uint64_t version, absl::Duration timeout) {
  std::pair<ConfigHub*, uint64_t> arg(this, version);
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(
      absl::Condition(
          +[](std::pair<ConfigHub*, uint64_t>* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return a->first->built_cert_version_ >= a->second && !a->first->dirty_;
          },
          &arg),
      timeout);
}

bool ConfigHub::StreamHasApp(const std::string& id, uint64_t* stream_version) {
  absl::MutexLock lock(&mu_);
  *stream_version = lb_.version();
  return lb_.apps().count(id) > 0;
}

HubStats ConfigHub::Stats() {
  absl::MutexLock lock(&mu_);
  return stats_;
}

std::vector<SkippedEvent> ConfigHub::RecentSkippedEvents() {
  absl::MutexLock lock(&mu_);
  std::vector<SkippedEvent> out(lb_.skipped().recent().begin(), lb_.skipped().recent().end());
  out.insert(out.end(), certs_.skipped().recent().begin(), certs_.skipped().recent().end());
  return out;
}

}  // namespace edgerouter::controlplane
