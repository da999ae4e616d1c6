// Turbocharger's counters for the data plane's /metrics, process-wide (workers share them:
// plain atomics, bumped once per request at most). Per-app entries are made on the compile
// thread and never freed, so the hot path holds a stable pointer and takes no lock.
#ifndef EDGEROUTER_DATAPLANE_TURBOCHARGER_STATS_H_
#define EDGEROUTER_DATAPLANE_TURBOCHARGER_STATS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace edgerouter::turbocharger {

class DiskCache;

struct AppStats {
  std::atomic<uint64_t> served{0};    // requests answered from a manifest (backend or middleware)
  std::atomic<uint64_t> renewed{0};   // re-validations: same advertisement, trusted again
  std::atomic<uint64_t> reloaded{0};  // re-validations that switched manifest (a deploy)
  std::atomic<uint64_t> detached{0};  // re-validations that detached
};

class Stats {
 public:
  // The entry of `app_id` (made on first use; stable for the process's life).
  AppStats* App(absl::string_view app_id);

  std::atomic<uint64_t> memory_hits{0};  // files found in a worker's memory cache
  std::atomic<uint64_t> disk_hits{0};    // files read from the disk cache
  std::atomic<uint64_t> misses{0};       // files in neither: fetched from the store (or waited for)
  std::atomic<uint64_t> downloads{0};    // store GETs (manifests and files) that succeeded
  std::atomic<uint64_t> download_errors{0};

  // The er_dp_turbocharger_* series; `disk`: the disk cache's prunes, bytes and entries.
  std::string RenderPrometheus(const DiskCache& disk);

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<AppStats>> apps_ ABSL_GUARDED_BY(mu_);
};

}  // namespace edgerouter::turbocharger

#endif  // EDGEROUTER_DATAPLANE_TURBOCHARGER_STATS_H_
