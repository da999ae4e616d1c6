#include "dataplane/turbocharger/runtime.h"

#include "absl/strings/str_cat.h"

namespace edgerouter::turbocharger {
namespace {
Runtime* g_runtime = nullptr;
}  // namespace

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::Create(absl::string_view store, std::string cache_dir,
                                                         uint64_t cache_bytes) {
  absl::StatusOr<StoreLocation> location = ParseStoreLocation(store);
  if (!location.ok()) return location.status();
  if (cache_dir.empty()) return absl::InvalidArgumentError("--turbocharger_cache_dir is empty");
  absl::StatusOr<std::unique_ptr<DiskCache>> disk = DiskCache::Open(std::move(cache_dir), cache_bytes);
  if (!disk.ok()) return disk.status();
  return std::unique_ptr<Runtime>(new Runtime(*std::move(location), *std::move(disk)));
}

Runtime* Runtime::Get() { return g_runtime; }
void Runtime::Install(std::unique_ptr<Runtime> runtime) { g_runtime = runtime.release(); }

std::shared_ptr<const Manifest> Runtime::FindManifest(const std::string& id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = manifests_.find(id);
    if (it != manifests_.end()) return it->second;
  }
  std::optional<std::string> bytes = disk_->Read(Layout::kUncompressed, id);
  if (!bytes) return nullptr;
  absl::StatusOr<Manifest> m = ParseManifest(*bytes);
  if (!m.ok()) return nullptr;  // a bad cached copy: downloaded again (and checked again)
  auto shared = std::make_shared<const Manifest>(*std::move(m));
  absl::MutexLock lock(&mu_);
  return manifests_.emplace(id, std::move(shared)).first->second;
}

absl::StatusOr<std::shared_ptr<const Manifest>> Runtime::AddManifest(const std::string& id, absl::string_view json) {
  if (ObjectId::ForContent(json).ToString() != id) {
    return absl::DataLossError(absl::StrCat("manifest ", id, ": the store's bytes do not hash to its id"));
  }
  absl::StatusOr<Manifest> m = ParseManifest(json);
  if (!m.ok()) return absl::Status(m.status().code(), absl::StrCat("manifest ", id, ": ", m.status().message()));
  // A failed cache write only costs a later download; serving goes on from memory.
  disk_->Write(Layout::kUncompressed, id, json).IgnoreError();
  auto shared = std::make_shared<const Manifest>(*std::move(m));
  absl::MutexLock lock(&mu_);
  return manifests_.emplace(id, std::move(shared)).first->second;
}

bool Runtime::BeginDownload(const std::string& key, std::function<void()> wake) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = downloads_.try_emplace(key);
  if (inserted) return true;
  it->second.push_back(std::move(wake));
  return false;
}

void Runtime::EndDownload(const std::string& key) {
  std::vector<std::function<void()>> waiters;
  {
    absl::MutexLock lock(&mu_);
    auto it = downloads_.find(key);
    if (it == downloads_.end()) return;
    waiters = std::move(it->second);
    downloads_.erase(it);
  }
  for (auto& wake : waiters) wake();
}

}  // namespace edgerouter::turbocharger
