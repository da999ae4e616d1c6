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

  void* Allocate(size_t size);
  void Free(void* p);
  void* Reallocate(void* p, size_t size);

  // The allocator to pass to nghttp2_session_server_new3 (points at this).
  nghttp2_mem* mem() { return &mem_; }
  // Blocks kept for reuse (for tests).
  size_t cached_blocks() const;

  static constexpr size_t kSmallestClass = 64;
  static constexpr int kClasses = 7;            // 64 B .. 4 KB
  static constexpr int kPerClass = 16;
  // Kept bytes per session at most: a request needs a few small blocks, and idle connections
  // should not hold much.
  static constexpr size_t kCachedBytes = 8 * 1024;

 private:
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
