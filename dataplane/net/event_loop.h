// A worker's epoll loop: fd readiness, FIFO timer lists, and cross-thread posts.
//
// Timers: every timer of one kind has the same duration (header read, keep-alive idle,
// upstream connect, …), so a FIFO list per kind is always sorted by deadline: arming and
// disarming are O(1) list operations with no allocation, and the loop only looks at list heads.
#ifndef EDGEROUTER_DATAPLANE_NET_EVENT_LOOP_H_
#define EDGEROUTER_DATAPLANE_NET_EVENT_LOOP_H_

#include <sys/epoll.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"

struct io_uring;
struct io_uring_cqe;

namespace edgerouter::net {

class RingReceiver;

// Bytes a handler has for its socket (IoHandler::PendingWrite); no `len`: none.
struct WriteSource {
  int fd = -1;
  const char* data = nullptr;
  size_t len = 0;
};

// Where a read made ahead by the loop lands (IoHandler::ReadAheadTarget); no `dst`: none.
struct ReadTarget {
  int fd = -1;
  char* dst = nullptr;
  size_t len = 0;
};

class IoHandler {
 public:
  virtual ~IoHandler() = default;
  virtual void OnIo(uint32_t events) = 0;  // EPOLLIN / EPOLLOUT / EPOLLERR / EPOLLHUP bits

  // Batched reads. A syscall costs about 1 µs on hosts that isolate kernel page tables without
  // PCID (most VMs), more than the TCP work of a small read. So when epoll reports sockets
  // readable, the loop asks each handler where its next bytes should go and makes all of the
  // turn's reads with one io_uring submission, before any handler runs. Each handler gets its
  // result (bytes written to the target, 0 at EOF, -errno) in OnReadAhead, committed by the
  // handler at once, then OnIo as usual. A handler that reads by itself (TLS, no buffer
  // wanted now) returns an empty target.
  virtual ReadTarget ReadAheadTarget() { return {}; }
  virtual void OnReadAhead(ssize_t result) { (void)result; }

  // Batched writes, for the same reason: a handler with bytes for its socket calls
  // EventLoop::SendSoon instead of writing. Before the loop waits again it asks every such
  // handler for its bytes, sends them all with one submission and hands each result (bytes
  // the socket took, -errno; 0 when there was nothing to send) to OnWritten. Bytes stay the
  // handler's until then, so a handler that closes first simply calls CancelSend.
  virtual WriteSource PendingWrite() { return {}; }
  virtual void OnWritten(ssize_t result) { (void)result; }
};

// A read-ahead result as its handler keeps it until its own read asks (the same loop turn
// only: a result nobody took is stale afterwards, its bytes are in the buffer either way).
class ReadAhead {
 public:
  void Set(ssize_t result, uint64_t turn) {
    result_ = result;
    turn_ = turn;
  }
  // Once per read-ahead: >0 bytes (already in the target buffer), 0 EOF, -1 would block, -2
  // error (errno set).
  bool Take(uint64_t turn, ssize_t* result);

 private:
  ssize_t result_ = 0;
  uint64_t turn_ = 0;
};

class TimerTarget {
 public:
  virtual ~TimerTarget() = default;
  virtual void OnTimer(int kind) = 0;
};

class TimerList;

// Embedded in its owner; must be disarmed before the owner dies.
struct Timer {
  Timer* prev = nullptr;
  Timer* next = nullptr;
  TimerList* list = nullptr;
  int64_t deadline_ms = 0;
  TimerTarget* target = nullptr;
  int kind = 0;
  bool armed() const { return list != nullptr; }
};

class TimerList {
 public:
  explicit TimerList(int64_t timeout_ms) : timeout_ms_(timeout_ms) {}
  void Arm(Timer* timer, int64_t now_ms);  // (re)arms at now + timeout; moves to the tail
  // (Re)arms at `deadline_ms`, kept in deadline order (for lists whose timers' durations vary:
  // an insertion walks from the tail, so short lists only).
  void ArmAt(Timer* timer, int64_t deadline_ms);
  static void Disarm(Timer* timer);
  int64_t next_deadline() const { return head_ ? head_->deadline_ms : INT64_MAX; }
  // Fires every timer whose deadline has passed (each is disarmed before its callback runs).
  void Expire(int64_t now_ms);
  int64_t timeout_ms() const { return timeout_ms_; }

 private:
  int64_t timeout_ms_;
  Timer* head_ = nullptr;
  Timer* tail_ = nullptr;
};

class EventLoop {
 public:
  // `batch_io`: batch the reads and sends of a turn with io_uring (IoHandler) when the kernel
  // allows io_uring; otherwise each handler reads and writes by itself. `ring_wait`: also wait
  // for events through the ring when the kernel can (false: epoll_wait, and the sends in one
  // submission at the end of the turn, as on kernels before 6.15). `ring_receive`: with the
  // ring's wait, sockets handed to ReceiveThroughRing get their bytes from the ring
  // (ring_receive.h).
  explicit EventLoop(bool batch_io = true, bool ring_wait = true, bool ring_receive = true);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  void Add(int fd, uint32_t events, IoHandler* handler);
  void Modify(int fd, uint32_t events, IoHandler* handler);
  void Remove(int fd);

  // Receives for `fd` (added with `events`) through the ring from now on, when the loop can
  // (false: epoll and the handler's own reads as before). Its handler then reads with Receive
  // only and closes it with CloseSocket; EPOLLIN in Add/Modify/Remove says whether it wants
  // input. Idempotent.
  bool ReceiveThroughRing(int fd, uint32_t events, IoHandler* handler);
  bool receives_through_ring() const { return receiver_ != nullptr; }
  // As read(2) (>0, 0 at EOF, -1 with errno): the ring's bytes for an attached socket, a read()
  // for any other.
  ssize_t Receive(int fd, char* dst, size_t len) {
    return receiver_ != nullptr ? ReceiveAttachedOrRead(fd, dst, len) : ::read(fd, dst, len);
  }
  // Detaches `fd` from the ring (its receive is cancelled, which lets the socket go) and closes it.
  void CloseSocket(int fd);

  // Timer lists are owned by the caller and checked every iteration.
  void AddTimerList(TimerList* list) { timer_lists_.push_back(list); }

  // Thread-safe: runs `fn` on the loop thread soon. Once Run() has returned nothing runs there
  // any more: tasks queued before that ran on the way out, later ones are refused (false).
  bool Post(std::function<void()> fn);
  // Post, or, when the loop has ended, `fn` right here on the caller's thread: the loop's state
  // is no longer touched by its own thread then (for readers such as a metrics scrape during
  // shutdown, which would otherwise wait for ever).
  void RunOnLoop(std::function<void()> fn);
  // Runs `fn` at the end of every iteration (e.g. flushing buffered access-log lines).
  // Returns a handle for RemoveIterationHook (an object that dies before the loop must remove it).
  size_t AddIterationHook(std::function<void()> fn) {
    hooks_.push_back(std::move(fn));
    return hooks_.size() - 1;
  }
  void RemoveIterationHook(size_t handle) { hooks_[handle] = nullptr; }

  void Run();   // until Stop()
  void Stop();  // thread-safe

  // Monotonic milliseconds, refreshed once per iteration (cheap to read on the hot path).
  int64_t now_ms() const { return now_ms_; }
  void UpdateTime();
  // Counts loop iterations from 1 (ReadAhead results are valid within one).
  uint64_t turn() const { return turn_; }
  RingReceiver* ring_receiver_for_test() { return receiver_.get(); }
  // Whether reads and writes are batched (IoHandler); when not, handlers do their own.
  bool batches_io() const { return ring_ != nullptr; }
  // Queues `handler` for this turn's batched send (once per OnWritten: the caller keeps a
  // flag); only when batches_io().
  void SendSoon(IoHandler* handler) { sends_.push_back(handler); }
  // Takes a queued handler out (it is closing; it must not be asked after it is gone).
  void CancelSend(IoHandler* handler);

 private:
  void RunPosted();
  ssize_t ReceiveAttachedOrRead(int fd, char* dst, size_t len);
  void ReadAheadAll(const epoll_event* events, int n);
  void FlushSends();
  // The ring's epoll wait, submitted with the queued sends (whose results it hands over
  // first); returns the number of events in events_.
  int RingWait(int timeout_ms);
  // Submits the `count` entries prepared on the ring and stores each result at its user data.
  void SubmitAndCollect(int count, ssize_t* results);
  // A send entry for each handler of sending_[from, from + count) with bytes (user data: its
  // index there); returns how many. HandOverSends gives each its send_results_ entry.
  int PrepareSends(size_t from, size_t count);
  void HandOverSends(size_t from, size_t count);
  bool Attached(int fd) const;  // receives through the ring
  // An attached socket's epoll registration: only EPOLLOUT (and errors) come from epoll.
  void WatchAttached(int fd, uint32_t events, IoHandler* handler);

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  bool stopping_ = false;
  int64_t now_ms_ = 0;
  uint64_t turn_ = 1;
  ::io_uring* ring_ = nullptr;  // null: no batched reads or writes
  std::unique_ptr<RingReceiver> receiver_;  // null: no socket receives through the ring
  std::vector<uint32_t> attached_epoll_;    // per attached fd: the events registered (0: none)
  std::vector<IoHandler*> sends_;    // queued by SendSoon this turn
  std::vector<IoHandler*> sending_;  // the batch being sent (entries null once cancelled)
  std::vector<ssize_t> send_results_;
  bool ring_waits_ = false;          // the kernel has IORING_OP_EPOLL_WAIT: RingWait
  bool epoll_armed_ = false;         // a ring epoll wait is submitted and not completed
  static constexpr int kMaxEvents = 256;  // per turn; also the ring's size
  epoll_event events_[kMaxEvents];        // the kernel writes here while a ring wait is armed
  std::vector<TimerList*> timer_lists_;
  std::vector<std::function<void()>> hooks_;
  absl::Mutex post_mu_;
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(post_mu_);
  bool stop_requested_ ABSL_GUARDED_BY(post_mu_) = false;
  bool ended_ ABSL_GUARDED_BY(post_mu_) = false;  // Run() returned: Post refuses
};

}  // namespace edgerouter::net

#endif  // EDGEROUTER_DATAPLANE_NET_EVENT_LOOP_H_
