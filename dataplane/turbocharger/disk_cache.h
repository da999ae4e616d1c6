// Turbocharger's local disk cache, in edgerouter's layout: <dir>/gzipped/<id> holds the gzip
// bytes of compressible files, <dir>/uncompressed/<id> the raw bytes of the others and the
// manifests. Objects are immutable (named by their hash), so an entry is never rewritten.
// Writes are atomic (temp file in the same directory, fsync, rename). Unlike edgerouter the
// cache is bounded: past `max_bytes` the least recently used entries are deleted. Recency is
// the file's mtime (touched on reads), so the order survives restarts. Thread-safe.
#ifndef EDGEROUTER_DATAPLANE_TURBOCHARGER_DISK_CACHE_H_
#define EDGEROUTER_DATAPLANE_TURBOCHARGER_DISK_CACHE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace edgerouter::turbocharger {

enum class Layout { kGzipped, kUncompressed };

class DiskCache {
 public:
  // Creates the directories, deletes leftover temp files and indexes what is there (pruning
  // to the bound at once). `max_bytes` 0: unbounded.
  static absl::StatusOr<std::unique_ptr<DiskCache>> Open(std::string dir, uint64_t max_bytes);

  // The bytes, or nullopt when absent (or unreadable: the entry is forgotten then).
  std::optional<std::string> Read(Layout layout, absl::string_view id);
  // Stores `bytes` unless present; then prunes least recently used entries (never this one)
  // until the total fits the bound.
  absl::Status Write(Layout layout, absl::string_view id, absl::string_view bytes);

  uint64_t bytes() const;
  size_t entries() const;
  uint64_t evictions() const;
  const std::string& dir() const { return dir_; }

 private:
  DiskCache(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  struct Entry {
    uint64_t size;
    uint64_t seq;  // recency: larger = more recent
  };
  std::string PathOf(absl::string_view name) const { return dir_ + "/" + std::string(name); }
  void TouchLocked(const std::string& name, Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PruneLocked(const std::string& keep) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  const uint64_t max_bytes_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);  // "gzipped/<id>"
  std::map<uint64_t, std::string> by_recency_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t evictions_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t temp_counter_ ABSL_GUARDED_BY(mu_) = 0;
};

std::string LayoutDir(Layout layout);  // "gzipped" or "uncompressed"

}  // namespace edgerouter::turbocharger

#endif  // EDGEROUTER_DATAPLANE_TURBOCHARGER_DISK_CACHE_H_
