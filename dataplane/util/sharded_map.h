// A string-keyed map split into a fixed number of shards held by shared_ptr, so a copy shares
// every shard and a change to the copy clones only the shard it touches. This is how one
// snapshot delta costs O(shard) instead of O(all apps): the resource map, the compiled apps and
// the route table's hosts are each one of these, shared between successive configs.
//
// A copy never mutates a shard it shares; it clones the shard on its first write (copy on
// write, decided by an ownership flag per shard rather than use_count, which another thread
// may be changing). Readers of a const map need no lock.
#ifndef EDGEROUTER_DATAPLANE_UTIL_SHARDED_MAP_H_
#define EDGEROUTER_DATAPLANE_UTIL_SHARDED_MAP_H_

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

namespace edgerouter::util {

template <typename V>
class ShardedMap {
 public:
  using Shard = absl::flat_hash_map<std::string, V>;
  static constexpr size_t kShards = 1024;

  ShardedMap() : shards_(kShards), owned_(kShards, false) {}
  // Shares every shard; neither side's later writes show in the other (both clone first).
  // Copying writes the source's ownership flags: copy a map on the thread that writes it.
  ShardedMap(const ShardedMap& other) : shards_(other.shards_), owned_(kShards, false), size_(other.size_) {
    other.Disown();
  }
  ShardedMap& operator=(const ShardedMap& other) {
    if (this == &other) return *this;
    other.Disown();
    shards_ = other.shards_;
    owned_.assign(kShards, false);
    size_ = other.size_;
    return *this;
  }
  ShardedMap(ShardedMap&&) noexcept = default;
  ShardedMap& operator=(ShardedMap&&) noexcept = default;

  const V* Find(absl::string_view key) const {
    const Shard* shard = shards_[Index(key)].get();
    if (shard == nullptr) return nullptr;
    auto it = shard->find(key);
    return it == shard->end() ? nullptr : &it->second;
  }
  // Inserts or replaces.
  void Set(absl::string_view key, V value) {
    Shard& shard = Mutable(Index(key));
    auto [it, inserted] = shard.try_emplace(key, std::move(value));
    if (!inserted) {
      it->second = std::move(value);
    } else {
      ++size_;
    }
  }
  // The value for `key`, default-constructed if absent (in a shard now owned by this map).
  V& operator[](absl::string_view key) {
    Shard& shard = Mutable(Index(key));
    auto [it, inserted] = shard.try_emplace(key);
    size_ += inserted;
    return it->second;
  }
  bool Erase(absl::string_view key) {
    const size_t i = Index(key);
    if (shards_[i] == nullptr || !shards_[i]->contains(key)) return false;
    Mutable(i).erase(key);
    --size_;
    return true;
  }
  void Clear() { *this = ShardedMap(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Calls fn(key, value) for every entry, in no particular order.
  template <typename F>
  void ForEach(F&& fn) const {
    for (const auto& shard : shards_) {
      if (shard == nullptr) continue;
      for (const auto& [key, value] : *shard) fn(key, value);
    }
  }
  // Entries sorted by key (for dumps and files: O(n log n), never on the apply path).
  std::vector<std::pair<const std::string*, const V*>> Sorted() const {
    std::vector<std::pair<const std::string*, const V*>> out;
    out.reserve(size_);
    ForEach([&](const std::string& k, const V& v) { out.emplace_back(&k, &v); });
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
    return out;
  }

  // Whether shard `i` is the same object in both maps (for tests of the sharing).
  bool SharesShardWith(const ShardedMap& other, absl::string_view key) const {
    const size_t i = Index(key);
    return shards_[i] == other.shards_[i];
  }

 private:
  static size_t Index(absl::string_view key) { return absl::Hash<absl::string_view>()(key) % kShards; }

  void Disown() const {
    if (std::find(owned_.begin(), owned_.end(), true) != owned_.end()) owned_.assign(kShards, false);
  }

  Shard& Mutable(size_t i) {
    if (!owned_[i]) {
      shards_[i] = shards_[i] == nullptr ? std::make_shared<Shard>() : std::make_shared<Shard>(*shards_[i]);
      owned_[i] = true;
    }
    return *shards_[i];
  }

  std::vector<std::shared_ptr<Shard>> shards_;
  // Shards this map created and nobody else has seen through a copy (mutable: a copy takes
  // them away from the source too).
  mutable std::vector<bool> owned_;
  size_t size_ = 0;
};

}  // namespace edgerouter::util

#endif  // EDGEROUTER_DATAPLANE_UTIL_SHARDED_MAP_H_
