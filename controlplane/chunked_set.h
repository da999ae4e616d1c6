// An immutable sorted set of shared pointers, kept in chunks shared between versions, so a
// snapshot that differs from the last one in k items costs O(k × chunk + chunks/…) to make,
// not O(all items): the set of 100,000 apps is ~1,600 chunks; changing one app copies the chunk
// pointer list and one chunk.
//
// Chunk boundaries depend on the keys only (content-defined: a chunk ends after each key whose
// FNV-1a hash is 0 mod kBoundaryModulus), never on the order of the changes that made the set, so
// equal sets have equal chunks on every replica, whether built at once or change by change. That
// makes a per-chunk digest (`Traits::Digest`) a deterministic Merkle level for the snapshot
// version, and lets a diff skip every chunk two versions share by pointer.
#ifndef EDGEROUTER_CONTROLPLANE_CHUNKED_SET_H_
#define EDGEROUTER_CONTROLPLANE_CHUNKED_SET_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace edgerouter::controlplane {

inline constexpr uint64_t kBoundaryModulus = 64;  // mean chunk size

// Fixed across builds and hosts (absl::Hash is seeded per process).
inline bool IsChunkBoundary(absl::string_view key) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  return h % kBoundaryModulus == 0;
}

// Traits: `static absl::string_view Key(const T&)` and `static std::string Digest(const
// std::vector<T>&)` (a summary of one chunk, "" when the set needs none).
template <typename T, typename Traits>
class ChunkedSet {
 public:
  struct Chunk {
    std::vector<T> items;  // sorted by key, non-empty
    std::string digest;
  };
  using ChunkPtr = std::shared_ptr<const Chunk>;
  using Chunks = std::vector<ChunkPtr>;
  // An upsert (value non-null) or a removal (value null) of `key`.
  using Change = std::pair<std::string, T>;

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;

    const_iterator() = default;
    const_iterator(const Chunks* chunks, size_t chunk, size_t item) : chunks_(chunks), chunk_(chunk), item_(item) {}
    const T& operator*() const { return (*chunks_)[chunk_]->items[item_]; }
    const T* operator->() const { return &**this; }
    const_iterator& operator++() {
      if (++item_ == (*chunks_)[chunk_]->items.size()) {
        ++chunk_;
        item_ = 0;
      }
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const const_iterator& o) const { return chunk_ == o.chunk_ && item_ == o.item_; }
    bool operator!=(const const_iterator& o) const { return !(*this == o); }

   private:
    const Chunks* chunks_ = nullptr;
    size_t chunk_ = 0;
    size_t item_ = 0;
  };

  ChunkedSet() : chunks_(std::make_shared<Chunks>()) {}
  // From items sorted by key with unique keys.
  explicit ChunkedSet(std::vector<T> sorted) : ChunkedSet() {
    std::vector<Change> changes;
    changes.reserve(sorted.size());
    for (T& item : sorted) {
      std::string key(Traits::Key(item));
      changes.emplace_back(std::move(key), std::move(item));
    }
    *this = With(std::move(changes));
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const_iterator begin() const { return const_iterator(chunks_.get(), 0, 0); }
  const_iterator end() const { return const_iterator(chunks_.get(), chunks_->size(), 0); }
  const Chunks& chunks() const { return *chunks_; }

  // The first item whose key is >= `key`.
  const_iterator LowerBound(absl::string_view key) const {
    const Chunks& c = *chunks_;
    const size_t i = ChunkFor(key);
    if (i == c.size()) return end();
    const std::vector<T>& items = c[i]->items;
    auto it = std::lower_bound(items.begin(), items.end(), key,
                               [](const T& a, absl::string_view k) { return Traits::Key(a) < k; });
    return const_iterator(chunks_.get(), i, it - items.begin());
  }
  // The item with `key`, or null.
  const T* Find(absl::string_view key) const {
    const_iterator it = LowerBound(key);
    return it != end() && Traits::Key(*it) == key ? &*it : nullptr;
  }
  // The i-th item: walks the chunks (tests, small sets).
  const T& operator[](size_t i) const {
    for (const ChunkPtr& chunk : *chunks_) {
      if (i < chunk->items.size()) return chunk->items[i];
      i -= chunk->items.size();
    }
    return chunks_->back()->items.back();  // out of range: undefined for callers
  }

  // A new set with `changes` (sorted by key, unique keys) applied; unchanged chunks are shared.
  ChunkedSet With(std::vector<Change> changes) const {
    if (changes.empty()) return *this;
    const Chunks& old = *chunks_;
    auto out = std::make_shared<Chunks>();
    out->reserve(old.size() + changes.size() / kBoundaryModulus + 1);
    size_t size = size_;
    std::vector<T> pending;  // items since the last boundary, not yet in a chunk
    size_t c = 0;            // next change
    size_t i = 0;            // next old chunk
    auto flush = [&](bool final) {
      // Cuts `pending` after every boundary key; the rest waits for more items unless final.
      size_t start = 0;
      for (size_t k = 0; k < pending.size(); ++k) {
        if (IsChunkBoundary(Traits::Key(pending[k])) || (final && k + 1 == pending.size())) {
          auto chunk = std::make_shared<Chunk>();
          chunk->items.assign(std::make_move_iterator(pending.begin() + start),
                              std::make_move_iterator(pending.begin() + k + 1));
          chunk->digest = Traits::Digest(chunk->items);
          out->push_back(std::move(chunk));
          start = k + 1;
        }
      }
      pending.erase(pending.begin(), pending.begin() + start);
    };
    while (i < old.size() || c < changes.size()) {
      if (pending.empty() && c < changes.size()) {
        // Chunks before the one the next change falls in are taken as they are.
        const size_t target = std::min(ChunkFor(changes[c].first), old.size() == 0 ? 0 : old.size() - 1);
        if (target > i) {  // always, as changes are sorted; kept as a guard on the range
          out->insert(out->end(), old.begin() + i, old.begin() + target);
          i = target;
        }
      } else if (pending.empty()) {
        out->insert(out->end(), old.begin() + i, old.end());
        break;
      }
      // Merge one old chunk (past the end: the remaining changes) into `pending`. Changes up to
      // the chunk's last key belong to it; the last chunk takes the rest.
      const bool last = i + 1 >= old.size();
      const std::vector<T>* items = i < old.size() ? &old[i]->items : nullptr;
      const size_t n = items != nullptr ? items->size() : 0;
      auto in_chunk = [&] {
        return c < changes.size() && (last || changes[c].first <= Traits::Key(items->back()));
      };
      size_t k = 0;
      while (k < n || in_chunk()) {
        if (!in_chunk() || (k < n && Traits::Key((*items)[k]) < changes[c].first)) {
          pending.push_back((*items)[k++]);
          continue;
        }
        if (k < n && Traits::Key((*items)[k]) == changes[c].first) {  // replaced or removed
          ++k;
          --size;
        }
        if (changes[c].second != nullptr) {
          pending.push_back(std::move(changes[c].second));
          ++size;
        }
        ++c;
      }
      if (i < old.size()) ++i;
      flush(i >= old.size() && c >= changes.size());
    }
    flush(true);
    ChunkedSet result;
    result.chunks_ = std::move(out);
    result.size_ = size;
    return result;
  }

 private:
  // The chunk whose key range holds `key`: the first whose last key is >= key (or size()).
  size_t ChunkFor(absl::string_view key) const {
    const Chunks& c = *chunks_;
    auto it = std::lower_bound(c.begin(), c.end(), key, [](const ChunkPtr& chunk, absl::string_view k) {
      return Traits::Key(chunk->items.back()) < k;
    });
    return it - c.begin();
  }

  std::shared_ptr<const Chunks> chunks_;
  size_t size_ = 0;
};

// Walks two versions of a set, skipping every chunk they share by pointer: `removed(item)` for a
// key only in `from`, `upserted(old, item)` for a key only in `to` (old null) or whose items
// differ by `same(old, item)`. In key order. Chunk boundaries are content-defined, so past a
// differing stretch both walks reach the start of a chunk together again, and equal pointers
// there mean equal chunks: the cost is that of the chunks that differ.
template <typename T, typename Traits, typename Same, typename Removed, typename Upserted>
void DiffSets(const ChunkedSet<T, Traits>& from, const ChunkedSet<T, Traits>& to, Same same, Removed removed,
              Upserted upserted) {
  const auto& a = from.chunks();
  const auto& b = to.chunks();
  size_t ai = 0, ak = 0, bi = 0, bk = 0;
  while (ai < a.size() || bi < b.size()) {
    if (ak == 0 && bk == 0 && ai < a.size() && bi < b.size() && a[ai] == b[bi]) {
      ++ai;
      ++bi;
      continue;
    }
    const T* x = ai < a.size() ? &a[ai]->items[ak] : nullptr;
    const T* y = bi < b.size() ? &b[bi]->items[bk] : nullptr;
    const int cmp = x == nullptr ? 1 : y == nullptr ? -1 : Traits::Key(*x).compare(Traits::Key(*y));
    if (cmp < 0) {
      removed(*x);
    } else if (cmp > 0) {
      upserted(static_cast<const T*>(nullptr), *y);
    } else if (!same(*x, *y)) {
      upserted(x, *y);
    }
    if (cmp <= 0 && ++ak == a[ai]->items.size()) {
      ++ai;
      ak = 0;
    }
    if (cmp >= 0 && ++bk == b[bi]->items.size()) {
      ++bi;
      bk = 0;
    }
  }
}

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_CHUNKED_SET_H_
