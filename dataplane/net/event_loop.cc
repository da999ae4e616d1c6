#include "dataplane/net/event_loop.h"

#include <liburing.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "common/log/log.h"
#include "dataplane/net/ring_receive.h"

namespace edgerouter::net {

void TimerList::Arm(Timer* t, int64_t now_ms) {
  if (t->list != nullptr) Disarm(t);
  t->deadline_ms = now_ms + timeout_ms_;
  t->list = this;
  t->next = nullptr;
  t->prev = tail_;
  if (tail_) {
    tail_->next = t;
  } else {
    head_ = t;
  }
  tail_ = t;
}

void TimerList::ArmAt(Timer* t, int64_t deadline_ms) {
  if (t->list != nullptr) Disarm(t);
  t->deadline_ms = deadline_ms;
  t->list = this;
  Timer* after = tail_;
  while (after != nullptr && after->deadline_ms > deadline_ms) after = after->prev;
  t->prev = after;
  t->next = after != nullptr ? after->next : head_;
  if (t->next != nullptr) {
    t->next->prev = t;
  } else {
    tail_ = t;
  }
  if (after != nullptr) {
    after->next = t;
  } else {
    head_ = t;
  }
}

void TimerList::Disarm(Timer* t) {
  TimerList* l = t->list;
  if (l == nullptr) return;
  if (t->prev) {
    t->prev->next = t->next;
  } else {
    l->head_ = t->next;
  }
  if (t->next) {
    t->next->prev = t->prev;
  } else {
    l->tail_ = t->prev;
  }
  t->prev = t->next = nullptr;
  t->list = nullptr;
}

void TimerList::Expire(int64_t now_ms) {
  while (head_ != nullptr && head_->deadline_ms <= now_ms) {
    Timer* t = head_;
    Disarm(t);
    t->target->OnTimer(t->kind);
  }
}

namespace {
// Linux 6.15's IORING_OP_EPOLL_WAIT (an epoll_wait made by the ring: the turn's sends and the
// wait for the next events then take one syscall). Newer than liburing 2.3's headers; the
// kernel's probe says whether it exists.
constexpr int kOpEpollWait = 59;
constexpr uint64_t kEpollTag = UINT64_MAX;  // user data of that entry

// A ring that cannot submit or complete leaves socket calls half made: going on would lose or
// repeat bytes of some stream, so the process stops (a supervisor restarts it).
[[noreturn]] void RingFailed(const char* what, int rc) {
  log::Error("io_uring failed: stopping").Kv("call", what).Kv("error", std::strerror(-rc));
  log::Flush();
  std::abort();
}

ssize_t ReadResult(ssize_t n) {
  if (n >= 0) return n;
  if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR) return -1;
  errno = static_cast<int>(-n);
  return -2;
}
}  // namespace

bool ReadAhead::Take(uint64_t turn, ssize_t* result) {
  if (turn_ != turn) return false;
  turn_ = 0;
  *result = ReadResult(result_);
  return true;
}

EventLoop::EventLoop(bool batch_io, bool ring_wait, bool ring_receive) {
  if (batch_io) {
    // Each submission's reads are non-blocking (MSG_DONTWAIT) and complete inline, so the ring
    // needs no kernel thread; one entry per epoll event of a turn.
    ring_ = new io_uring;
    io_uring_params params{};
    params.flags = IORING_SETUP_COOP_TASKRUN;  // not SINGLE_ISSUER: built on one thread, run on another
    if (io_uring_queue_init_params(kMaxEvents, ring_, &params) < 0) {
      params = io_uring_params{};
      if (io_uring_queue_init_params(kMaxEvents, ring_, &params) < 0) {  // older kernel flags
        delete ring_;
        ring_ = nullptr;  // io_uring disabled (sysctl, seccomp): every handler reads by itself
      }
    }
  }
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // null handler = the wake fd
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  if (ring_ != nullptr && ring_wait) {
    io_uring_probe* probe = io_uring_get_probe_ring(ring_);
    ring_waits_ = probe != nullptr && io_uring_opcode_supported(probe, kOpEpollWait);
    if (probe != nullptr) io_uring_free_probe(probe);
  }
  if (ring_waits_ && ring_receive) {  // the wait must be the ring's: it returns the receives
    receiver_ = std::make_unique<RingReceiver>(ring_);
    if (!receiver_->ok()) receiver_.reset();
  }
  UpdateTime();
}

EventLoop::~EventLoop() {
  if (ring_ != nullptr) {
    if (receiver_ != nullptr) {
      // Ends every receive before the ring goes: its teardown is asynchronous, and a receive
      // still running then would write into pool memory that is unmapped below.
      io_uring_sync_cancel_reg cancel{};
      cancel.fd = -1;
      cancel.flags = IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL;
      cancel.timeout.tv_sec = -1;
      cancel.timeout.tv_nsec = -1;
      io_uring_register_sync_cancel(ring_, &cancel);
    }
    io_uring_queue_exit(ring_);
    receiver_.reset();  // its buffers, after the ring that wrote into them
    delete ring_;
  }
  close(wake_fd_);
  close(epoll_fd_);
}

void EventLoop::UpdateTime() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  now_ms_ = static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

bool EventLoop::Attached(int fd) const { return receiver_ != nullptr && receiver_->attached(fd); }

void EventLoop::Add(int fd, uint32_t events, IoHandler* handler) {
  if (Attached(fd)) {
    WatchAttached(fd, events, handler);
    return;
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
}

void EventLoop::Modify(int fd, uint32_t events, IoHandler* handler) {
  if (Attached(fd)) {
    WatchAttached(fd, events, handler);
    return;
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::Remove(int fd) {
  if (Attached(fd)) {
    WatchAttached(fd, 0, nullptr);
    return;
  }
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

bool EventLoop::ReceiveThroughRing(int fd, uint32_t events, IoHandler* handler) {
  if (receiver_ == nullptr || fd < 0) return false;
  if (receiver_->attached(fd)) return true;
  receiver_->Attach(fd, handler, (events & EPOLLIN) != 0);
  if (attached_epoll_.size() <= static_cast<size_t>(fd)) attached_epoll_.resize(static_cast<size_t>(fd) + 1, 0);
  attached_epoll_[fd] = events;  // what Add registered (0: not added yet)
  if (events != 0) WatchAttached(fd, events, handler);
  return true;
}

void EventLoop::WatchAttached(int fd, uint32_t events, IoHandler* handler) {
  receiver_->SetWantsInput(fd, (events & EPOLLIN) != 0);
  // Bytes and their end come from the ring; epoll only says when a full socket takes sends
  // again. Without EPOLLOUT the socket leaves epoll, which would report a hang-up for ever.
  const uint32_t want = (events & EPOLLOUT) ? events & ~(EPOLLIN | EPOLLRDHUP) : 0;
  uint32_t& registered = attached_epoll_[fd];
  if (want == registered) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.ptr = handler;
  if (want == 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  } else {
    epoll_ctl(epoll_fd_, registered == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
  }
  registered = want;
}

ssize_t EventLoop::ReceiveAttachedOrRead(int fd, char* dst, size_t len) {
  return receiver_->attached(fd) ? receiver_->Receive(fd, dst, len) : read(fd, dst, len);
}

void EventLoop::CloseSocket(int fd) {
  if (Attached(fd)) {
    if (attached_epoll_[fd] != 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    attached_epoll_[fd] = 0;
    receiver_->Detach(fd);
  }
  close(fd);
}

bool EventLoop::Post(std::function<void()> fn) {
  {
    absl::MutexLock lock(&post_mu_);
    if (ended_) return false;
    posted_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  return true;
}

void EventLoop::RunOnLoop(std::function<void()> fn) {
  {
    absl::MutexLock lock(&post_mu_);
    if (!ended_) {
      posted_.push_back(std::move(fn));
      fn = nullptr;
    }
  }
  if (fn == nullptr) {
    uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
    return;
  }
  fn();  // ended_ was set under post_mu_ after the loop's last touch: this read sees it all
}

void EventLoop::Stop() {
  {
    absl::MutexLock lock(&post_mu_);
    stop_requested_ = true;
  }
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void EventLoop::RunPosted() {
  std::vector<std::function<void()>> batch;
  {
    absl::MutexLock lock(&post_mu_);
    batch.swap(posted_);
    if (stop_requested_) stopping_ = true;
  }
  for (auto& fn : batch) fn();
}

void EventLoop::ReadAheadAll(const epoll_event* events, int n) {
  IoHandler* handlers[kMaxEvents];
  ReadTarget targets[kMaxEvents];
  int count = 0;
  for (int i = 0; i < n; ++i) {
    auto* handler = static_cast<IoHandler*>(events[i].data.ptr);
    if (handler == nullptr || !(events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) continue;
    const ReadTarget t = handler->ReadAheadTarget();
    if (t.dst == nullptr || Attached(t.fd)) continue;
    handlers[count] = handler;
    targets[count++] = t;
  }
  if (count == 1) {  // one read: the plain syscall is cheaper than a submission
    const ssize_t r = recv(targets[0].fd, targets[0].dst, targets[0].len, MSG_DONTWAIT);
    handlers[0]->OnReadAhead(r >= 0 ? r : -errno);
    return;
  }
  if (count == 0) return;
  for (int i = 0; i < count; ++i) {
    io_uring_sqe* sqe = NextSqe(ring_);
    io_uring_prep_recv(sqe, targets[i].fd, targets[i].dst, targets[i].len, MSG_DONTWAIT);
    io_uring_sqe_set_data64(sqe, static_cast<uint64_t>(i));
  }
  ssize_t results[kMaxEvents];
  SubmitAndCollect(count, results);
  for (int i = 0; i < count; ++i) handlers[i]->OnReadAhead(results[i]);
}

void EventLoop::SubmitAndCollect(int count, ssize_t* results) {
  // Every entry is a non-blocking socket call: each completes during the submission.
  while (io_uring_sq_ready(ring_) > 0) {  // NextSqe may have submitted some already
    const int rc = io_uring_submit(ring_);
    if (rc == -EINTR) continue;
    if (rc <= 0) RingFailed("submit", rc);
  }
  for (int got = 0; got < count;) {
    io_uring_cqe* cqe = nullptr;
    const int rc = io_uring_wait_cqe(ring_, &cqe);
    if (rc == -EINTR) continue;
    if (rc < 0) RingFailed("wait", rc);
    const uint64_t tag = io_uring_cqe_get_data64(cqe);
    if (RingReceiver::Owns(tag)) {
      receiver_->OnCompletion(cqe);
    } else if (tag == kEpollTag) {  // the armed wait ended while this turn runs: stale (RingWait)
      epoll_armed_ = false;
    } else {
      results[tag] = cqe->res;
      ++got;
    }
    io_uring_cqe_seen(ring_, cqe);
  }
}

int EventLoop::RingWait(int timeout_ms) {
  // A wait left armed by the last call (it returned with send results only) may have ended
  // while the turn ran: its events can name handlers the turn closed and freed. They are
  // dropped and the wait is made again below; epoll is level-triggered, so whatever is still
  // ready is reported again.
  io_uring_cqe* stale = nullptr;
  while (epoll_armed_ && io_uring_peek_cqe(ring_, &stale) == 0) {
    const uint64_t tag = io_uring_cqe_get_data64(stale);
    if (RingReceiver::Owns(tag)) {
      receiver_->OnCompletion(stale);  // bytes, kept for the next turn's Dispatch
    } else if (tag == kEpollTag) {
      epoll_armed_ = false;
    }
    io_uring_cqe_seen(ring_, stale);
  }
  if (receiver_ != nullptr && receiver_->has_ready()) timeout_ms = 0;
  // This turn's sends (at most what the ring holds besides the wait; the rest go next turn).
  const size_t sends = std::min<size_t>(sends_.size(), kMaxEvents - 1);
  sending_.assign(sends_.begin(), sends_.begin() + static_cast<ptrdiff_t>(sends));
  sends_.erase(sends_.begin(), sends_.begin() + static_cast<ptrdiff_t>(sends));
  send_results_.assign(sending_.size(), 0);
  const int queued = PrepareSends(0, sending_.size());
  if (!epoll_armed_) {
    io_uring_sqe* sqe = NextSqe(ring_);
    io_uring_prep_rw(kOpEpollWait, sqe, epoll_fd_, events_, kMaxEvents, 0);
    io_uring_sqe_set_data64(sqe, kEpollTag);
    epoll_armed_ = true;
  }
  // Sends complete during the submission, so with any queued this does not block: their
  // results are handled first (OnWritten may answer more), and the loop comes back to wait.
  __kernel_timespec ts{};
  ts.tv_sec = timeout_ms / 1000;
  ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
  io_uring_cqe* first = nullptr;
  int rc = io_uring_submit_and_wait_timeout(ring_, &first, 1, timeout_ms >= 0 ? &ts : nullptr, nullptr);
  if (rc < 0 && rc != -ETIME && rc != -EINTR) RingFailed("wait", rc);
  int events = 0;
  for (int got = 0;;) {
    io_uring_cqe* cqe = nullptr;
    if (got < queued) {
      rc = io_uring_wait_cqe(ring_, &cqe);
      if (rc == -EINTR) continue;
      if (rc < 0) RingFailed("wait", rc);
    } else if (io_uring_peek_cqe(ring_, &cqe) != 0) {
      break;
    }
    const uint64_t tag = io_uring_cqe_get_data64(cqe);
    if (RingReceiver::Owns(tag)) {
      receiver_->OnCompletion(cqe);
    } else if (tag == kEpollTag) {
      events = cqe->res > 0 ? cqe->res : 0;  // -EINTR and the like: none this time
      epoll_armed_ = false;
    } else {
      send_results_[tag] = cqe->res;
      ++got;
    }
    io_uring_cqe_seen(ring_, cqe);
  }
  if (queued > 0) UpdateTime();  // what OnWritten arms (idle timers) counts from now
  HandOverSends(0, sending_.size());
  sending_.clear();
  return events;
}

void EventLoop::CancelSend(IoHandler* handler) {
  for (IoHandler*& h : sends_) {
    if (h == handler) h = nullptr;
  }
  for (IoHandler*& h : sending_) {
    if (h == handler) h = nullptr;
  }
}

int EventLoop::PrepareSends(size_t from, size_t count) {
  int queued = 0;
  for (size_t i = from; i < from + count; ++i) {
    if (sending_[i] == nullptr) continue;
    const WriteSource src = sending_[i]->PendingWrite();
    if (src.len == 0) continue;
    io_uring_sqe* sqe = NextSqe(ring_);
    io_uring_prep_send(sqe, src.fd, src.data, src.len, MSG_DONTWAIT | MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, i);
    ++queued;
  }
  return queued;
}

void EventLoop::HandOverSends(size_t from, size_t count) {
  for (size_t i = from; i < from + count; ++i) {
    // Looked up again: an earlier OnWritten may have closed (and cancelled) this handler.
    if (IoHandler* h = sending_[i]) h->OnWritten(send_results_[i]);
  }
}

void EventLoop::FlushSends() {
  // OnWritten may queue the same handler again (its next response): that is the next round.
  while (!sends_.empty()) {
    sending_.swap(sends_);
    send_results_.assign(sending_.size(), 0);
    for (size_t from = 0; from < sending_.size(); from += kMaxEvents) {  // what the ring holds
      const size_t count = std::min<size_t>(kMaxEvents, sending_.size() - from);
      const int queued = PrepareSends(from, count);
      if (queued > 0) SubmitAndCollect(queued, send_results_.data());
      HandOverSends(from, count);
    }
    sending_.clear();
  }
}

void EventLoop::Run() {
  while (!stopping_) {
    ++turn_;  // before RingWait: the OnWritten it calls belong to this turn
    int64_t next = INT64_MAX;
    for (TimerList* l : timer_lists_) next = std::min(next, l->next_deadline());
    int timeout = -1;
    if (next != INT64_MAX) {
      UpdateTime();
      timeout = next <= now_ms_ ? 0 : static_cast<int>(std::min<int64_t>(next - now_ms_, INT_MAX));
    }
    int n;
    if (ring_waits_) {
      n = RingWait(timeout);  // also sends what the last turn queued
    } else {
      n = epoll_wait(epoll_fd_, events_, kMaxEvents, timeout);
      if (n < 0 && errno != EINTR) break;
    }
    UpdateTime();
    if (ring_ != nullptr && n > 1) ReadAheadAll(events_, n);
    for (int i = 0; i < n; ++i) {
      auto* handler = static_cast<IoHandler*>(events_[i].data.ptr);
      if (handler == nullptr) {
        uint64_t value;
        (void)!read(wake_fd_, &value, sizeof(value));
        RunPosted();
        continue;
      }
      handler->OnIo(events_[i].events);
    }
    if (receiver_ != nullptr) receiver_->Dispatch();
    for (TimerList* l : timer_lists_) l->Expire(now_ms_);
    if (ring_waits_) {  // queued sends leave with the next wait
      for (auto& hook : hooks_) {
        if (hook) hook();
      }
      if (receiver_ != nullptr) receiver_->EndTurn();
      continue;
    }
    do {  // hooks may queue sends (their tasks answer requests), and sends' results tasks
      FlushSends();
      for (auto& hook : hooks_) {
        if (hook) hook();
      }
    } while (!sends_.empty());
  }
  FlushSends();  // what the last turn queued for the next wait
  // Tasks posted before the end still run (someone may be waiting for them); later ones are
  // refused, so no poster waits for a loop that is gone.
  for (;;) {
    std::vector<std::function<void()>> batch;
    {
      absl::MutexLock lock(&post_mu_);
      if (posted_.empty()) {
        ended_ = true;
        break;
      }
      batch.swap(posted_);
    }
    for (auto& fn : batch) fn();
    FlushSends();
  }
}

}  // namespace edgerouter::net
