// Per-worker LRU cache of S3 objects. Objects of a deployed version never change (a deploy
// writes a new version prefix), so entries keyed by (app, version, key) need no revalidation;
// the only policy is the byte bound. Single-threaded: one instance per worker loop.
#ifndef EDGEROUTER_DATAPLANE_AWS_S3_CACHE_H_
#define EDGEROUTER_DATAPLANE_AWS_S3_CACHE_H_

#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace edgerouter::aws {

struct S3Object {
  std::string etag;
  std::string last_modified;
  std::string content_type;
  std::string cache_control;
  std::string body;
  size_t charge() const {
    return body.size() + etag.size() + last_modified.size() + content_type.size() + cache_control.size() + 128;
  }
};

class S3Cache {
 public:
  explicit S3Cache(size_t capacity_bytes) : capacity_(capacity_bytes) {}
  // nullptr on a miss; a hit becomes the most recently used entry.
  std::shared_ptr<const S3Object> Find(absl::string_view key);
  // Inserts (or replaces) and evicts least recently used entries beyond the capacity.
  void Insert(absl::string_view key, std::shared_ptr<const S3Object> object);
  size_t bytes() const { return bytes_; }
  size_t entries() const { return index_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

  // "app\nversion\nkey" into `out` (reused buffer, so lookups do not allocate in steady state).
  static void MakeKey(absl::string_view app, absl::string_view version, absl::string_view key, std::string* out);

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const S3Object> object;
    size_t charge;
  };
  size_t capacity_;
  size_t bytes_ = 0;
  uint64_t hits_ = 0, misses_ = 0;
  std::list<Entry> lru_;  // front = most recent
  absl::flat_hash_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace edgerouter::aws

#endif  // EDGEROUTER_DATAPLANE_AWS_S3_CACHE_H_
