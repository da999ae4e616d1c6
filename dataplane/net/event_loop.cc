#include "dataplane/net/event_loop.h"

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

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

EventLoop::EventLoop() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // null handler = the wake fd
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  UpdateTime();
}

EventLoop::~EventLoop() {
  close(wake_fd_);
  close(epoll_fd_);
}

void EventLoop::UpdateTime() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  now_ms_ = static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void EventLoop::Add(int fd, uint32_t events, IoHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
}

void EventLoop::Modify(int fd, uint32_t events, IoHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::Remove(int fd) { epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

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

void EventLoop::Run() {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  while (!stopping_) {
    int64_t next = INT64_MAX;
    for (TimerList* l : timer_lists_) next = std::min(next, l->next_deadline());
    int timeout = -1;
    if (next != INT64_MAX) {
      UpdateTime();
      timeout = next <= now_ms_ ? 0 : static_cast<int>(std::min<int64_t>(next - now_ms_, INT_MAX));
    }
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout);
    if (n < 0 && errno != EINTR) break;
    UpdateTime();
    for (int i = 0; i < n; ++i) {
      auto* handler = static_cast<IoHandler*>(events[i].data.ptr);
      if (handler == nullptr) {
        uint64_t value;
        (void)!read(wake_fd_, &value, sizeof(value));
        RunPosted();
        continue;
      }
      handler->OnIo(events[i].events);
    }
    for (TimerList* l : timer_lists_) l->Expire(now_ms_);
    for (auto& hook : hooks_) {
      if (hook) hook();
    }
  }
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
  }
}

}  // namespace edgerouter::net
