// A worker's epoll loop: fd readiness, FIFO timer lists, and cross-thread posts.
//
// Timers: every timer of one kind has the same duration (header read, keep-alive idle,
// upstream connect, …), so a FIFO list per kind is always sorted by deadline: arming and
// disarming are O(1) list operations with no allocation, and the loop only looks at list heads.
#ifndef EDGEROUTER_DATAPLANE_NET_EVENT_LOOP_H_
#define EDGEROUTER_DATAPLANE_NET_EVENT_LOOP_H_

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace edgerouter::net {

class IoHandler {
 public:
  virtual ~IoHandler() = default;
  virtual void OnIo(uint32_t events) = 0;  // EPOLLIN / EPOLLOUT / EPOLLERR / EPOLLHUP bits
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
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  void Add(int fd, uint32_t events, IoHandler* handler);
  void Modify(int fd, uint32_t events, IoHandler* handler);
  void Remove(int fd);

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

 private:
  void RunPosted();

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  bool stopping_ = false;
  int64_t now_ms_ = 0;
  std::vector<TimerList*> timer_lists_;
  std::vector<std::function<void()>> hooks_;
  absl::Mutex post_mu_;
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(post_mu_);
  bool stop_requested_ ABSL_GUARDED_BY(post_mu_) = false;
  bool ended_ ABSL_GUARDED_BY(post_mu_) = false;  // Run() returned: Post refuses
};

}  // namespace edgerouter::net

#endif  // EDGEROUTER_DATAPLANE_NET_EVENT_LOOP_H_
