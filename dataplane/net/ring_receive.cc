#include "dataplane/net/ring_receive.h"

#include <liburing.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/log/log.h"
#include "dataplane/net/event_loop.h"

namespace edgerouter::net {
namespace {
// 256 × 16 KiB (4 MiB of address space per worker; pages are touched as bytes arrive). A turn
// that needs more makes the rest of its receives wait for the next one (ENOBUFS, re-armed).
constexpr uint32_t kBuffers = 256;
constexpr uint32_t kBufferSize = 16 * 1024;
constexpr uint16_t kGroup = 0;
constexpr uint64_t kMine = 2ull << 62;
constexpr uint64_t kCancelBit = 1ull << 61;  // completions ignored: a cancel's own, the probe's
constexpr uint32_t kGenerationMask = (1u << 29) - 1;
}  // namespace

io_uring_sqe* NextSqe(io_uring* ring) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe != nullptr) return sqe;
  const int rc = io_uring_submit(ring);  // the ring is full: what is queued goes now
  sqe = io_uring_get_sqe(ring);
  if (sqe == nullptr) {
    log::Error("io_uring submission queue stays full: stopping").Kv("error", std::strerror(rc < 0 ? -rc : EBUSY));
    log::Flush();
    std::abort();  // a lost submission would lose or repeat bytes of some stream
  }
  return sqe;
}

size_t RingReceiver::Slot::held() const {
  size_t n = spill.size() - spill_off;
  for (const Chunk& c : chunks) n += c.len;
  return n;
}

RingReceiver::RingReceiver(io_uring* ring) : ring_(ring) {
  void* entries = mmap(nullptr, kBuffers * sizeof(io_uring_buf), PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (entries == MAP_FAILED) return;
  void* pool = mmap(nullptr, static_cast<size_t>(kBuffers) * kBufferSize, PROT_READ | PROT_WRITE,
                    MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (pool == MAP_FAILED) {
    munmap(entries, kBuffers * sizeof(io_uring_buf));
    return;
  }
  buf_ring_ = static_cast<io_uring_buf_ring*>(entries);
  io_uring_buf_ring_init(buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(entries);
  reg.ring_entries = kBuffers;
  reg.bgid = kGroup;
  if (io_uring_register_buf_ring(ring_, &reg, 0) != 0) {
    munmap(pool, static_cast<size_t>(kBuffers) * kBufferSize);
    munmap(entries, kBuffers * sizeof(io_uring_buf));
    buf_ring_ = nullptr;
    return;
  }
  pool_ = static_cast<char*>(pool);
  for (uint32_t i = 0; i < kBuffers; ++i) {
    io_uring_buf_ring_add(buf_ring_, BufferAt(static_cast<uint16_t>(i)), kBufferSize, static_cast<uint16_t>(i),
                          io_uring_buf_ring_mask(kBuffers), static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(kBuffers));
  if (!ProbeCaps()) {
    io_uring_unregister_buf_ring(ring_, kGroup);
    munmap(pool, static_cast<size_t>(kBuffers) * kBufferSize);
    pool_ = nullptr;  // not ok(): the loop keeps epoll's readiness and its own reads
  }
}

RingReceiver::~RingReceiver() {
  // The ring is gone by now (the owner tears it down first): the kernel no longer writes here.
  if (pool_ != nullptr) munmap(pool_, static_cast<size_t>(kBuffers) * kBufferSize);
  if (buf_ring_ != nullptr) munmap(buf_ring_, kBuffers * sizeof(io_uring_buf));
}

char* RingReceiver::BufferAt(uint16_t buffer) const { return pool_ + static_cast<size_t>(buffer) * kBufferSize; }

uint64_t RingReceiver::Tag(uint32_t index) const {
  return kMine | (static_cast<uint64_t>(slots_[index].generation & kGenerationMask) << 32) | index;
}

void RingReceiver::Recycle(uint16_t buffer) {
  io_uring_buf_ring_add(buf_ring_, BufferAt(buffer), kBufferSize, buffer, io_uring_buf_ring_mask(kBuffers), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
}

namespace {
// A multishot receive from the pool with the kernel's two caps (Linux 6.17+): `len` bytes per
// wake-up of the socket (one buffer: a socket with much queued cannot take the whole pool while
// others wait), and `total` bytes in all, after which its last completion comes without
// IORING_CQE_F_MORE. That total is what pauses a socket that does not read: it is armed again
// only once it holds less than kHoldLimit, so TCP's window, not this process, holds the rest.
void PrepCappedReceive(io_uring_sqe* sqe, int fd, uint32_t total, uint64_t tag) {
  io_uring_prep_recv_multishot(sqe, fd, nullptr, kBufferSize, 0);
  sqe->file_index = total;  // `optlen` in newer headers (the same field)
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kGroup;
  io_uring_sqe_set_data64(sqe, tag);
}
}  // namespace

void RingReceiver::Arm(uint32_t index) {
  Slot& s = slots_[index];
  PrepCappedReceive(NextSqe(ring_), s.fd, kHoldLimit, Tag(index));
  s.armed = true;
}

bool RingReceiver::ProbeCaps() {
  // One byte with a total cap of one: a kernel with both caps answers with that byte and ends
  // the receive; an older one refuses the entry (-EINVAL).
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return false;
  bool ok = write(fds[1], "x", 1) == 1;
  if (ok) {
    constexpr uint64_t kProbeTag = kMine | kCancelBit;
    PrepCappedReceive(NextSqe(ring_), fds[0], 1, kProbeTag);
    ok = false;
    bool more = false;
    if (io_uring_submit_and_wait(ring_, 1) >= 1) {
      io_uring_cqe* cqe = nullptr;
      while (io_uring_peek_cqe(ring_, &cqe) == 0) {
        if (cqe->user_data == kProbeTag) {
          ok = cqe->res == 1;
          more = (cqe->flags & IORING_CQE_F_MORE) != 0;
          if (cqe->flags & IORING_CQE_F_BUFFER) Recycle(static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
        }
        io_uring_cqe_seen(ring_, cqe);
      }
    }
    if (more) {  // the cap was not honoured: end it, and do without
      ok = false;
      io_uring_prep_cancel64(NextSqe(ring_), kProbeTag, 0);
      io_uring_submit_and_wait(ring_, 1);
      io_uring_cqe* cqe = nullptr;
      while (io_uring_peek_cqe(ring_, &cqe) == 0) io_uring_cqe_seen(ring_, cqe);
    }
  }
  close(fds[0]);
  close(fds[1]);
  return ok;
}

void RingReceiver::Cancel(uint32_t index) {
  io_uring_sqe* sqe = NextSqe(ring_);
  io_uring_prep_cancel64(sqe, Tag(index), 0);
  io_uring_sqe_set_data64(sqe, kMine | kCancelBit);
}

void RingReceiver::Free(uint32_t index) {
  slots_[index].fd = -1;
  free_slots_.push_back(index);
}

void RingReceiver::MarkReady(uint32_t index) {
  Slot& s = slots_[index];
  if (s.queued_ready || !s.wants_input || s.handler == nullptr) return;
  s.queued_ready = true;
  ready_.push_back(index);
}

void RingReceiver::Attach(int fd, IoHandler* handler, bool wants_input) {
  uint32_t index;
  if (!free_slots_.empty()) {
    index = free_slots_.back();
    free_slots_.pop_back();
  } else {
    index = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[index];
  s.fd = fd;
  s.handler = handler;
  ++s.generation;
  s.armed = s.queued_ready = s.in_holding = s.in_rearm = false;
  s.wants_input = wants_input;
  s.end = 0;
  s.chunks.clear();
  s.spill.clear();
  s.spill_off = 0;
  if (by_fd_.size() <= static_cast<size_t>(fd)) by_fd_.resize(static_cast<size_t>(fd) + 1, -1);
  by_fd_[fd] = static_cast<int32_t>(index);
  Arm(index);
}

void RingReceiver::Detach(int fd) {
  if (!attached(fd)) return;
  const uint32_t index = static_cast<uint32_t>(by_fd_[fd]);
  by_fd_[fd] = -1;
  Slot& s = slots_[index];
  for (const Chunk& c : s.chunks) Recycle(c.buffer);
  s.chunks.clear();
  std::string().swap(s.spill);
  s.spill_off = 0;
  s.handler = nullptr;
  s.wants_input = false;
  if (s.armed) {
    Cancel(index);  // freed at its last completion
  } else {
    Free(index);
  }
}

void RingReceiver::SetWantsInput(int fd, bool wants) {
  if (!attached(fd)) return;
  const uint32_t index = static_cast<uint32_t>(by_fd_[fd]);
  Slot& s = slots_[index];
  s.wants_input = wants;
  if (wants && (s.end != 0 || s.held() > 0)) MarkReady(index);
}

ssize_t RingReceiver::Receive(int fd, char* dst, size_t len) {
  const uint32_t index = static_cast<uint32_t>(by_fd_[fd]);
  Slot& s = slots_[index];
  size_t copied = 0;
  if (s.spill_off < s.spill.size()) {
    const size_t n = std::min(len, s.spill.size() - s.spill_off);
    std::memcpy(dst, s.spill.data() + s.spill_off, n);
    s.spill_off += n;
    copied = n;
    if (s.spill_off == s.spill.size()) {
      s.spill.clear();
      s.spill_off = 0;
    }
  }
  size_t used = 0;  // chunks emptied
  for (; copied < len && used < s.chunks.size(); ++used) {
    Chunk& c = s.chunks[used];
    const size_t n = std::min<size_t>(len - copied, c.len);
    std::memcpy(dst + copied, BufferAt(c.buffer) + c.offset, n);
    copied += n;
    c.offset += static_cast<uint32_t>(n);
    c.len -= static_cast<uint32_t>(n);
    if (c.len != 0) break;
    Recycle(c.buffer);
  }
  if (used > 0) s.chunks.erase(s.chunks.begin(), s.chunks.begin() + static_cast<ptrdiff_t>(used));
  if (!s.armed && s.end == 0 && s.held() < kHoldLimit) Arm(index);  // resumes a paused socket
  if (copied > 0) return static_cast<ssize_t>(copied);
  if (s.end == 1) return 0;
  errno = s.end < 0 ? -s.end : EAGAIN;
  return -1;
}

void RingReceiver::OnCompletion(const io_uring_cqe* cqe) {
  const uint64_t tag = cqe->user_data;
  if (tag & kCancelBit) return;
  const uint32_t index = static_cast<uint32_t>(tag);
  const uint32_t generation = static_cast<uint32_t>(tag >> 32) & kGenerationMask;
  const bool has_buffer = (cqe->flags & IORING_CQE_F_BUFFER) != 0;
  const auto buffer = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
  if (index >= slots_.size() || (slots_[index].generation & kGenerationMask) != generation) {
    if (has_buffer) Recycle(buffer);  // cannot happen: a slot is reused only after its last completion
    return;
  }
  Slot& s = slots_[index];
  if (!(cqe->flags & IORING_CQE_F_MORE)) s.armed = false;
  if (s.handler == nullptr) {  // detached: the bytes have no reader
    if (has_buffer) Recycle(buffer);
    if (!s.armed) Free(index);
    return;
  }
  if (cqe->res > 0 && has_buffer) {
    s.chunks.push_back({buffer, 0, static_cast<uint32_t>(cqe->res)});
    if (!s.in_holding) {
      s.in_holding = true;
      holding_.push_back(index);
    }
    MarkReady(index);
  } else {
    if (has_buffer) Recycle(buffer);
    if (cqe->res == 0) {
      s.end = 1;
      MarkReady(index);
    } else if (cqe->res != -ENOBUFS && cqe->res != -ECANCELED) {
      s.end = cqe->res;
      MarkReady(index);
    }
  }
  if (!s.armed && s.end == 0 && !s.in_rearm) {  // out of buffers, paused, or ended by the kernel
    s.in_rearm = true;
    rearm_.push_back(index);
  }
}

void RingReceiver::Dispatch() {
  if (ready_.empty()) return;
  dispatching_.swap(ready_);
  for (uint32_t index : dispatching_) slots_[index].queued_ready = false;
  for (uint32_t index : dispatching_) {
    Slot& s = slots_[index];
    const size_t held = s.held();
    if (s.handler == nullptr || !s.wants_input || (held == 0 && s.end == 0)) continue;
    uint32_t events = EPOLLIN;
    if (s.end != 0) events |= EPOLLRDHUP;
    if (s.end < 0 && held == 0) events |= EPOLLHUP | EPOLLERR;
    IoHandler* handler = s.handler;
    const uint32_t generation = s.generation;
    handler->OnIo(events);
    // Level-triggered, as epoll: what is still waiting and wanted is reported next turn.
    const Slot& after = slots_[index];  // re-read: OnIo may attach sockets (slots_ grows)
    if (after.handler == handler && after.generation == generation && (after.end != 0 || after.held() > 0)) {
      MarkReady(index);
    }
  }
  dispatching_.clear();
}

void RingReceiver::EndTurn() {
  for (uint32_t index : holding_) {
    Slot& s = slots_[index];
    s.in_holding = false;
    if (s.chunks.empty()) continue;
    if (s.spill_off > 0) {
      s.spill.erase(0, s.spill_off);
      s.spill_off = 0;
    }
    for (const Chunk& c : s.chunks) {
      s.spill.append(BufferAt(c.buffer) + c.offset, c.len);
      Recycle(c.buffer);
    }
    s.chunks.clear();
  }
  holding_.clear();
  for (uint32_t index : rearm_) {
    Slot& s = slots_[index];
    s.in_rearm = false;
    if (s.handler != nullptr && !s.armed && s.end == 0 && s.held() < kHoldLimit) Arm(index);
  }
  rearm_.clear();
}

}  // namespace edgerouter::net
