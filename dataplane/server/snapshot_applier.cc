#include "dataplane/server/snapshot_applier.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"

namespace edgerouter::dataplane {

SnapshotApplier::SnapshotApplier(SnapshotApplierOptions options, proxy::ConfigSource* configs)
    : options_(std::move(options)), configs_(configs) {}

size_t SnapshotApplier::CountApps(const xds::SnapshotView& update, const proxy::RuntimeConfig* previous) const {
  size_t apps = 0;
  if (update.full_state || previous == nullptr) {
    update.resources->ForEach([&](const std::string&, const auto& r) { apps += r->has_app(); });
    return apps;
  }
  apps = app_count_;
  for (const std::string& name : update.changed) {
    const auto* now = update.resources->Find(name);  // null if the same delta removed it again
    apps += now != nullptr && (*now)->has_app() && previous->apps.Find(name) == nullptr;
  }
  for (const std::string& name : update.removed) apps -= previous->apps.Find(name) != nullptr;
  return apps;
}

absl::Status SnapshotApplier::Apply(const xds::SnapshotView& update) {
  std::shared_ptr<const proxy::RuntimeConfig> previous = configs_->Load();  // keeps its store alive
  const size_t apps = CountApps(update, previous.get());
  if (apps > options_.max_apps) {
    return absl::ResourceExhaustedError(
        absl::StrCat("snapshot has ", apps, " apps, more than --max_apps=", options_.max_apps));
  }
  const absl::Time started = absl::Now();
  proxy::CompileOptions compile;
  compile.certs = options_.certs;
  compile.certs.previous = previous != nullptr ? previous->certs.get() : nullptr;
  compile.certs.now = started;
  compile.workers = options_.workers;
  absl::StatusOr<std::shared_ptr<const proxy::RuntimeConfig>> compiled =
      proxy::CompileUpdate(update, previous.get(), compile);
  if (!compiled.ok()) return compiled.status();
  configs_->Publish(*std::move(compiled));
  app_count_ = apps;
  log::Info("config published")
      .Kv("version", update.version)
      .Kv("resources", update.resources->size())
      .Kv("changed", update.changed.size())
      .Kv("removed", update.removed.size())
      .Ms("compile_ms", absl::Now() - started);
  return absl::OkStatus();
}

}  // namespace edgerouter::dataplane
