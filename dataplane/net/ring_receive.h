// Receives through the worker's io_uring instead of epoll readiness plus a read per socket.
//
// Where syscalls are cheap, what is left of a proxy's own kernel time is the readiness machinery:
// epoll's callback, its level-triggered re-poll of every reported socket, and a read
// submission per turn. An attached socket has one multishot receive armed on the ring: the
// kernel copies arriving bytes into a buffer of a pool provided to it and posts a completion,
// so the loop's single wait returns the bytes themselves.
//
// The handler's side does not change: the loop calls OnIo(EPOLLIN) while bytes (or the end)
// wait and the handler wants input, level-triggered as epoll would, and the handler's read goes
// through EventLoop::Receive, which copies from the held bytes. Pool buffers never outlive a
// loop turn (what a handler did not take moves to its socket's own spill buffer), so one socket
// that does not read cannot starve the others. A receive ends after kHoldLimit bytes and is
// armed again only while its socket holds less than that, so a socket that does not read keeps
// at most 2 × kHoldLimit here and the kernel's socket buffer (TCP's window) holds the rest.
// Needs the receive caps of Linux 6.17+ (probed; without them nothing is attached).
#ifndef EDGEROUTER_DATAPLANE_NET_RING_RECEIVE_H_
#define EDGEROUTER_DATAPLANE_NET_RING_RECEIVE_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

struct io_uring;
struct io_uring_buf_ring;
struct io_uring_cqe;
struct io_uring_sqe;

namespace edgerouter::net {

class IoHandler;

// The ring's next free entry; submits what is queued first when the ring is full.
io_uring_sqe* NextSqe(io_uring* ring);

class RingReceiver {
 public:
  // Registers the buffer pool on `ring`; ok() is false where the kernel refuses (nothing is
  // attached then). The ring must be torn down before this object (it owns the pool memory).
  explicit RingReceiver(io_uring* ring);
  ~RingReceiver();
  RingReceiver(const RingReceiver&) = delete;
  RingReceiver& operator=(const RingReceiver&) = delete;
  bool ok() const { return pool_ != nullptr; }

  // User data of this receiver's ring entries (its completions go to OnCompletion).
  static bool Owns(uint64_t user_data) { return (user_data >> 62) == 2; }

  // From now on `fd`'s bytes arrive through the ring; `wants_input`: the handler's EPOLLIN.
  void Attach(int fd, IoHandler* handler, bool wants_input);
  bool attached(int fd) const { return fd >= 0 && static_cast<size_t>(fd) < by_fd_.size() && by_fd_[fd] >= 0; }
  // Before `fd` is closed: its receive is cancelled (the ring holds the socket open until
  // then) and what it held is dropped.
  void Detach(int fd);
  // The handler's EPOLLIN interest (OnIo is only called while it is wanted).
  void SetWantsInput(int fd, bool wants);
  // As read(2): bytes copied, 0 at the end, -1 with errno (EAGAIN: nothing held now).
  ssize_t Receive(int fd, char* dst, size_t len);

  void OnCompletion(const io_uring_cqe* cqe);
  // OnIo for every attached handler that wants input and has bytes or the end waiting.
  void Dispatch();
  // End of a loop turn: unread pool bytes move to their sockets' spill buffers, and receives
  // that ran out of pool buffers are armed again.
  void EndTurn();
  // A handler wants input that is already here: the loop must not sleep.
  bool has_ready() const { return !ready_.empty(); }
  size_t slot_count() const { return slots_.size(); }  // tests: the table never shrinks
  // Bytes held for `fd`, and whether its receive is off because of them (tests).
  size_t held(int fd) const { return attached(fd) ? slots_[by_fd_[fd]].held() : 0; }
  bool paused(int fd) const {
    if (!attached(fd)) return false;
    const Slot& s = slots_[by_fd_[fd]];
    return !s.armed && s.end == 0 && s.held() >= kHoldLimit;
  }

  // Bytes one armed receive takes; it is armed again while its socket holds less than this.
  static constexpr size_t kHoldLimit = 64 * 1024;

 private:
  struct Chunk {
    uint16_t buffer;
    uint32_t offset;
    uint32_t len;
  };
  struct Slot {
    int fd = -1;
    IoHandler* handler = nullptr;  // null: detached, waiting for its receive's last completion
    uint32_t generation = 0;
    bool armed = false;        // a multishot receive is on the ring
    bool wants_input = false;
    bool queued_ready = false;  // in ready_
    bool in_holding = false;    // in holding_
    bool in_rearm = false;      // in rearm_
    int end = 0;                // 1: EOF, <0: -errno; after the held bytes
    std::vector<Chunk> chunks;  // pool bytes of this turn, in order
    std::string spill;          // bytes kept from earlier turns (before `chunks`)
    size_t spill_off = 0;
    size_t held() const;
  };

  uint64_t Tag(uint32_t index) const;
  void Arm(uint32_t index);
  bool ProbeCaps();
  void Cancel(uint32_t index);
  void Recycle(uint16_t buffer);
  void Free(uint32_t index);
  void MarkReady(uint32_t index);
  char* BufferAt(uint16_t buffer) const;

  io_uring* ring_;
  io_uring_buf_ring* buf_ring_ = nullptr;
  char* pool_ = nullptr;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::vector<int32_t> by_fd_;  // slot index, -1: not attached
  std::vector<uint32_t> ready_;
  std::vector<uint32_t> dispatching_;  // Dispatch's copy of ready_
  std::vector<uint32_t> holding_;  // slots with pool chunks this turn
  std::vector<uint32_t> rearm_;    // attached, no receive armed, not at the end
};

}  // namespace edgerouter::net

#endif  // EDGEROUTER_DATAPLANE_NET_RING_RECEIVE_H_
