#include "dataplane/aws/s3_cache.h"

#include "absl/strings/str_cat.h"

namespace edgerouter::aws {

void S3Cache::MakeKey(absl::string_view app, absl::string_view version, absl::string_view key, std::string* out) {
  out->clear();
  absl::StrAppend(out, app, "\n", version, "\n", key);
}

std::shared_ptr<const S3Object> S3Cache::Find(absl::string_view key) {
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->object;
}

void S3Cache::Insert(absl::string_view key, std::shared_ptr<const S3Object> object) {
  const size_t charge = object->charge() + key.size();
  if (charge > capacity_) return;
  if (auto it = index_.find(key); it != index_.end()) {
    bytes_ -= it->second->charge;
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front(Entry{std::string(key), std::move(object), charge});
  index_.emplace(lru_.front().key, lru_.begin());
  bytes_ += charge;
  while (bytes_ > capacity_ && !lru_.empty()) {
    Entry& last = lru_.back();
    bytes_ -= last.charge;
    index_.erase(last.key);
    lru_.pop_back();
  }
}

}  // namespace edgerouter::aws
