#include "dataplane/turbocharger/stats.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/metrics.h"
#include "dataplane/turbocharger/disk_cache.h"

namespace edgerouter::turbocharger {
AppStats* Stats::App(absl::string_view app_id) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<AppStats>& entry = apps_[app_id];
  if (entry == nullptr) entry = std::make_unique<AppStats>();
  return entry.get();
}

std::string Stats::RenderPrometheus(const DiskCache& disk) {
  std::vector<std::pair<std::string, const AppStats*>> apps;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, s] : apps_) apps.emplace_back(id, s.get());
  }
  std::sort(apps.begin(), apps.end());
  std::string out;
  metrics::AppendFamilyHeader(&out, "er_dp_turbocharger_requests_total", "counter",
                              "Requests answered from a turbocharger manifest (the backend kind, or the "
                              "middleware of an app whose origin advertises).");
  for (const auto& [id, s] : apps) {
    const uint64_t n = s->served.load(std::memory_order_relaxed);
    if (n != 0) absl::StrAppend(&out, "er_dp_turbocharger_requests_total{app=\"", metrics::EscapeLabelValue(id), "\"} ", n, "\n");
  }
  metrics::AppendFamilyHeader(&out, "er_dp_turbocharger_revalidations_total", "counter",
                              "Middleware re-validations (HEAD <prefix>) by outcome: renewed, reloaded "
                              "(another manifest), detached.");
  for (const auto& [id, s] : apps) {
    const std::string app = metrics::EscapeLabelValue(id);
    const std::pair<const char*, uint64_t> results[] = {{"renewed", s->renewed.load(std::memory_order_relaxed)},
                                                        {"reloaded", s->reloaded.load(std::memory_order_relaxed)},
                                                        {"detached", s->detached.load(std::memory_order_relaxed)}};
    for (const auto& [result, n] : results) {
      if (n != 0) {
        absl::StrAppend(&out, "er_dp_turbocharger_revalidations_total{app=\"", app, "\",result=\"", result, "\"} ", n, "\n");
      }
    }
  }
  metrics::AppendFamilyHeader(&out, "er_dp_turbocharger_cache_hits_total", "counter",
                              "Turbocharger files found in a worker's memory cache or in the disk cache.");
  absl::StrAppend(&out, "er_dp_turbocharger_cache_hits_total{tier=\"memory\"} ", memory_hits.load(), "\n",
                  "er_dp_turbocharger_cache_hits_total{tier=\"disk\"} ", disk_hits.load(), "\n");
  metrics::AppendFamilyHeader(&out, "er_dp_turbocharger_cache_misses_total", "counter",
                              "Turbocharger files in neither cache: fetched from the store.");
  absl::StrAppend(&out, "er_dp_turbocharger_cache_misses_total ", misses.load(), "\n");
  metrics::AppendFamilyHeader(&out, "er_dp_turbocharger_downloads_total", "counter",
                              "Store GETs of manifests and files, by result.");
  absl::StrAppend(&out, "er_dp_turbocharger_downloads_total{result=\"ok\"} ", downloads.load(), "\n",
                  "er_dp_turbocharger_downloads_total{result=\"error\"} ", download_errors.load(), "\n");
  metrics::AppendFamilyHeader(&out, "er_dp_turbocharger_disk_cache_prunes_total", "counter",
                              "Disk cache entries deleted to stay within --turbocharger_cache_bytes.");
  absl::StrAppend(&out, "er_dp_turbocharger_disk_cache_prunes_total ", disk.evictions(), "\n");
  metrics::AppendFamilyHeader(&out, "er_dp_turbocharger_disk_cache_bytes", "gauge",
                              "Bytes in the turbocharger disk cache.");
  absl::StrAppend(&out, "er_dp_turbocharger_disk_cache_bytes ", disk.bytes(), "\n");
  metrics::AppendFamilyHeader(&out, "er_dp_turbocharger_disk_cache_entries", "gauge",
                              "Entries in the turbocharger disk cache.");
  absl::StrAppend(&out, "er_dp_turbocharger_disk_cache_entries ", disk.entries(), "\n");
  return out;
}

}  // namespace edgerouter::turbocharger
