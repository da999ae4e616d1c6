// Memory for one nghttp2 session: nghttp2 allocates a few small blocks per stream (the stream,
// its outbound frames, the copied response fields, received field buffers) and frees them when
// the stream ends. Freed blocks are kept by power-of-two size class and handed back to the
// session's next allocations, so a busy connection stops going to malloc for each request.
// One per session, used from the session's thread only; destroyed after the session.
#ifndef EDGEROUTER_DATAPLANE_H2_SESSION_MEMORY_H_
#define EDGEROUTER_DATAPLANE_H2_SESSION_MEMORY_H_

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>

namespace edgerouter::h2 {

class SessionMemory {
 public:
  SessionMemory() = default;
  ~SessionMemory();
  SessionMemory(const SessionMemory&) = delete;
  SessionMemory& operator=(const SessionMemory&) = delete;

  // Inline: nghttp2 calls these a few times per stream; a cached block is a handful of
  // instructions, and only malloc/free themselves are out of line.
  void* Allocate(size_t size) {
    if (size > kLargestClass) return AllocateNew(size);
    // The smallest class holding `size`: 2^(c+6) >= size.
    const int c = size <= kSmallestClass ? 0 : 64 - __builtin_clzll(size - 1) - kSmallestShift;
    if (count_[c] == 0) return AllocateNew(kSmallestClass << c);
    cached_bytes_ -= kSmallestClass << c;
    return free_[c][--count_[c]];
  }
  void Free(void* p) {
    if (p == nullptr) return;
    const size_t capacity = CapacityOf(p);
    // A capacity up to the largest class is a class size (a power of two): larger blocks
    // were allocated at exactly their size and are never kept.
    if (capacity <= kLargestClass) {
      const int c = __builtin_ctzll(capacity) - kSmallestShift;
      if (count_[c] < kPerClass && cached_bytes_ + capacity <= kCachedBytes) {
        free_[c][count_[c]++] = p;
        cached_bytes_ += capacity;
        return;
      }
    }
    FreeBlock(p);
  }
  void* Reallocate(void* p, size_t size);

  // The allocator to pass to nghttp2_session_server_new3 (points at this).
  nghttp2_mem* mem() { return &mem_; }
  // Blocks kept for reuse (for tests).
  size_t cached_blocks() const;

  static constexpr size_t kSmallestClass = 64;
  static constexpr int kSmallestShift = 6;      // kSmallestClass == 1 << kSmallestShift
  static constexpr int kClasses = 7;            // 64 B .. 4 KB
  static constexpr size_t kLargestClass = kSmallestClass << (kClasses - 1);
  static constexpr int kPerClass = 16;
  // Kept bytes per session at most: a request needs a few small blocks, and idle connections
  // should not hold much.
  static constexpr size_t kCachedBytes = 8 * 1024;

 private:
  // Each block starts with a header holding its capacity; 16 bytes keep malloc's alignment.
  static constexpr size_t kHeader = 16;
  static size_t& CapacityOf(void* p) { return *reinterpret_cast<size_t*>(static_cast<char*>(p) - kHeader); }
  void* AllocateNew(size_t capacity);  // malloc, with the header
  void FreeBlock(void* p);             // back to malloc

  nghttp2_mem mem_ = {this, &MallocCb, &FreeCb, &CallocCb, &ReallocCb};
  void* free_[kClasses][kPerClass];
  int count_[kClasses] = {};
  size_t cached_bytes_ = 0;

  static void* MallocCb(size_t size, void* self) { return static_cast<SessionMemory*>(self)->Allocate(size); }
  static void FreeCb(void* p, void* self) { static_cast<SessionMemory*>(self)->Free(p); }
  static void* CallocCb(size_t n, size_t size, void* self);
  static void* ReallocCb(void* p, size_t size, void* self) {
    return static_cast<SessionMemory*>(self)->Reallocate(p, size);
  }
};

}  // namespace edgerouter::h2

#endif  // EDGEROUTER_DATAPLANE_H2_SESSION_MEMORY_H_
