// A growable byte buffer with a consumed prefix, compacted lazily. One per connection
// direction; capacity is kept while a request is in flight and given back (Release) when a
// keep-alive connection goes idle, so idle connections hold no buffers (nginx does the same).
// Growth does not zero-fill.
#ifndef EDGEROUTER_DATAPLANE_PROXY_IO_BUFFER_H_
#define EDGEROUTER_DATAPLANE_PROXY_IO_BUFFER_H_

#include <algorithm>
#include <cstdlib>
#include <cstdint>
#include <cstring>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/strings/string_view.h"

namespace edgerouter::proxy {

// Bytes read per read() call.
constexpr size_t kReadChunk = 16 * 1024;
// Bytes queued towards a peer before we stop reading from the other side (backpressure).
constexpr size_t kMaxPending = 64 * 1024;
constexpr size_t kMinCapacity = 4 * 1024;  // smallest allocation of a buffer

// Blocks of released buffers, kept per thread for the next buffer that needs one: idle
// connections still hold no memory, but a keep-alive request no longer pays glibc's slow path
// for 4–64 KB blocks (~15 % of a plain HTTP/1.1 request's instructions when every response
// gave its buffers back). Sizes are powers of two; at most kCachedBytes per thread, and up to
// 256 blocks of a class (a busy worker gives back one or two per connection of a turn).
class BlockCache {
 public:
  static constexpr size_t kSmallest = kMinCapacity;
  static constexpr int kClasses = 5;  // 4, 8, 16, 32, 64 KB
  static constexpr size_t kCachedBytes = 2 << 20;

  // A block of exactly `size` bytes (a power of two from kSmallest), or nullptr if none cached.
  static char* Take(size_t size) {
    const int c = Class(size);
    if (c < 0 || !enabled()) return nullptr;
    Lists& l = lists();
    if (l.count[c] == 0) return nullptr;
    l.bytes -= size;
    return l.blocks[c][--l.count[c]];
  }
  // Keeps or frees `block` (allocated with malloc, `size` bytes).
  static void Give(char* block, size_t size) {
    const int c = Class(size);
    if (c < 0 || !enabled()) {
      std::free(block);
      return;
    }
    Lists& l = lists();
    if (l.count[c] == kPerClass || l.bytes + size > kCachedBytes) {
      std::free(block);
      return;
    }
    l.bytes += size;
    l.blocks[c][l.count[c]++] = block;
  }
  // The allocation size for a buffer that needs `n` bytes.
  static size_t RoundUp(size_t n) {
    size_t size = kSmallest;
    while (size < n) size *= 2;
    return size;
  }

 private:
  static constexpr int kPerClass = 256;
  struct Lists {
    char* blocks[kClasses][kPerClass];
    int count[kClasses] = {};
    size_t bytes = 0;
    ~Lists() {
      for (int c = 0; c < kClasses; ++c) {
        for (int i = 0; i < count[c]; ++i) std::free(blocks[c][i]);
        count[c] = 0;
      }
      gone() = true;  // an IoBuffer outliving this thread's cache frees directly
    }
  };
  // Trivially destructible, so still readable while (and after) thread_local Lists goes away.
  static bool& gone() {
    thread_local bool gone = false;
    return gone;
  }
  static bool enabled() {
#if defined(__SANITIZE_ADDRESS__)
    return false;  // reused blocks would hide use-after-free from AddressSanitizer
#else
    return !gone();
#endif
  }
  static Lists& lists() {
    thread_local Lists lists;
    return lists;
  }
  static int Class(size_t size) {
    for (int c = 0; c < kClasses; ++c) {
      if (size == kSmallest << c) return c;
    }
    return -1;
  }
};

class IoBuffer {
 public:
  IoBuffer() = default;
  ~IoBuffer() {
    if (data_ != nullptr) BlockCache::Give(data_, capacity_);
  }
  IoBuffer(const IoBuffer&) = delete;
  IoBuffer& operator=(const IoBuffer&) = delete;

  absl::string_view view() const { return absl::string_view(data_ + start_, end_ - start_); }
  size_t size() const { return end_ - start_; }
  bool empty() const { return start_ == end_; }
  void Consume(size_t n) {
    start_ += n;
    if (start_ == end_) start_ = end_ = 0;
  }
  void Append(absl::string_view bytes) {
    char* dst = Reserve(bytes.size());
    std::memcpy(dst, bytes.data(), bytes.size());
    Commit(bytes.size());
  }
  // Space for at least `n` more bytes at the end; Commit() what was written. The check is
  // inline and the rare growth is not, so an append of a few bytes stays a few instructions.
  char* Reserve(size_t n) {
    if (ABSL_PREDICT_FALSE(capacity_ - end_ < n)) MakeRoom(n);
    return data_ + end_;
  }
  size_t writable() const { return capacity_ - end_; }
  void Commit(size_t n) { end_ += n; }
  void Clear() { start_ = end_ = 0; }
  // Gives the memory back if the buffer is empty (an idle connection keeps none).
  void Release() {
    if (start_ != end_ || data_ == nullptr) return;
    BlockCache::Give(data_, capacity_);
    data_ = nullptr;
    capacity_ = start_ = end_ = 0;
  }

 private:
  ABSL_ATTRIBUTE_NOINLINE void MakeRoom(size_t n) {
    if (start_ > 0) {  // compact first
      std::memmove(data_, data_ + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
    }
    if (capacity_ - end_ < n) Grow(std::max(capacity_ * 2, end_ + n));
  }
  void Grow(size_t needed) {
    // Power-of-two sizes from 4 KB: a released buffer refilled piece by piece (status line,
    // each field, ...) gets one block for a whole ordinary head, and blocks are reusable.
    const size_t size = BlockCache::RoundUp(needed);
    char* block = data_ == nullptr ? BlockCache::Take(size) : nullptr;
    if (block == nullptr) {
      block = static_cast<char*>(data_ == nullptr ? std::malloc(size) : std::realloc(data_, size));
      if (block == nullptr) std::abort();  // out of memory: nothing sensible to do per request
    }
    data_ = block;
    capacity_ = size;
  }

  char* data_ = nullptr;
  size_t capacity_ = 0;
  size_t start_ = 0;
  size_t end_ = 0;
};

// Writes a head into space reserved beforehand (IoBuffer::Reserve with an upper bound): one
// capacity check per head instead of one per piece. The caller commits written() bytes.
// The first and the last kWidth bytes of n (kWidth <= n <= 2 * kWidth): two loads, two stores.
template <size_t kWidth>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void CopyEnds(char* dst, const char* src, size_t n) {
  char head[kWidth], tail[kWidth];
  std::memcpy(head, src, kWidth);
  std::memcpy(tail, src + n - kWidth, kWidth);
  std::memcpy(dst, head, kWidth);
  std::memcpy(dst + n - kWidth, tail, kWidth);
}

// memcpy for the short pieces heads are made of (names, values, request lines): inline, at most
// two overlapping loads and stores per size class, where a library call per piece costs more
// than the copy. n may be 0 (then src is not read, so null is fine).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void CopyShort(char* dst, const char* src, size_t n) {
  if (n > 32) {
    std::memcpy(dst, src, n);
  } else if (n >= 16) {
    CopyEnds<16>(dst, src, n);
  } else if (n >= 8) {
    CopyEnds<8>(dst, src, n);
  } else if (n >= 4) {
    CopyEnds<4>(dst, src, n);
  } else if (n > 0) {
    const char a = src[0], b = src[n / 2], c = src[n - 1];
    dst[0] = a;
    dst[n / 2] = b;
    dst[n - 1] = c;
  }
}

class RawWriter {
 public:
  explicit RawWriter(char* at) : start_(at), p_(at) {}
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Put(absl::string_view s) {
    CopyShort(p_, s.data(), s.size());
    p_ += s.size();
  }
  void Put2(char a, char b) {
    p_[0] = a;
    p_[1] = b;
    p_ += 2;
  }
  // name ": " value CRLF
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Field(absl::string_view name, absl::string_view value) {
    Put(name);
    Put2(':', ' ');
    Put(value);
    Put2('\r', '\n');
  }
  static size_t FieldSize(absl::string_view name, absl::string_view value) { return name.size() + value.size() + 4; }
  size_t written() const { return static_cast<size_t>(p_ - start_); }

 private:
  char* start_;
  char* p_;
};

}  // namespace edgerouter::proxy

#endif  // EDGEROUTER_DATAPLANE_PROXY_IO_BUFFER_H_
