// Process-wide turbocharger state, shared by every worker: where the store is (S3 bucket and
// region), the disk cache, the parsed manifests, and the downloads in flight (one per object
// at a time: later requests for the same id wait on their own loops and then read the cache).
// Installed once by the data plane's main when TURBOCHARGER_STORE is set.
#ifndef EDGEROUTER_DATAPLANE_TURBOCHARGER_RUNTIME_H_
#define EDGEROUTER_DATAPLANE_TURBOCHARGER_RUNTIME_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/turbocharger/manifest.h"
#include "dataplane/turbocharger/disk_cache.h"
#include "dataplane/turbocharger/stats.h"

namespace edgerouter::turbocharger {

class Runtime {
 public:
  // `store`: the TURBOCHARGER_STORE value. `cache_bytes` 0: unbounded.
  static absl::StatusOr<std::unique_ptr<Runtime>> Create(absl::string_view store, std::string cache_dir,
                                                         uint64_t cache_bytes);
  // The process's runtime (null when turbocharger is not configured). Install before workers run.
  static Runtime* Get();
  static void Install(std::unique_ptr<Runtime> runtime);

  const StoreLocation& store() const { return store_; }
  // How long the middleware trusts an advertisement before re-validating it (edgerouter: 5 s;
  // the data plane's --turbocharger_trust_ms). Set before workers run.
  absl::Duration trust() const { return trust_; }
  void set_trust(absl::Duration trust) { trust_ = trust; }
  DiskCache& disk() { return *disk_; }
  Stats& stats() { return stats_; }

  // A parsed manifest from memory, else from the disk cache (then kept in memory).
  std::shared_ptr<const Manifest> FindManifest(const std::string& id);
  // Stores the manifest bytes on disk and the parsed manifest in memory.
  absl::StatusOr<std::shared_ptr<const Manifest>> AddManifest(const std::string& id, absl::string_view json);

  // True: the caller downloads `key` and must call EndDownload. False: someone else is
  // downloading it; `wake` runs (on that downloader's thread) when it ends.
  bool BeginDownload(const std::string& key, std::function<void()> wake);
  void EndDownload(const std::string& key);

 private:
  Runtime(StoreLocation store, std::unique_ptr<DiskCache> disk) : store_(std::move(store)), disk_(std::move(disk)) {}
  const StoreLocation store_;
  absl::Duration trust_ = absl::Seconds(5);
  std::unique_ptr<DiskCache> disk_;
  Stats stats_;
  absl::Mutex mu_;
  // Manifests are small and few (one per deployed site version): kept for the process's life.
  absl::flat_hash_map<std::string, std::shared_ptr<const Manifest>> manifests_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<std::function<void()>>> downloads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace edgerouter::turbocharger

#endif  // EDGEROUTER_DATAPLANE_TURBOCHARGER_RUNTIME_H_
