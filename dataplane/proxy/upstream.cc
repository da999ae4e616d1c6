#include "dataplane/proxy/upstream.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "dataplane/stats/request_stats.h"

namespace edgerouter::proxy {

UpstreamConnection::UpstreamConnection(net::EventLoop* loop, OriginSet* set, int origin_index, int fd)
    : loop_(loop), set_(set), origin_index_(origin_index), fd_(fd) {
  timer.target = this;
}

UpstreamConnection::~UpstreamConnection() { net::TimerList::Disarm(&timer); }

void UpstreamConnection::WatchEvents(uint32_t events) {
  if (fd_ < 0 || events == watched_) return;
  loop_->Modify(fd_, events, this);
  watched_ = events;
}

void UpstreamConnection::OnIo(uint32_t events) {
  if (fd_ < 0) return;
  if (pooled) {
    // An idle keep-alive connection has nothing to say: EOF, an error or stray bytes all mean
    // it cannot be reused.
    set_->Forget(this);
    Close();
    return;
  }
  if (owner_ != nullptr) owner_->OnUpstreamIo(this, events);
}

void UpstreamConnection::OnTimer(int kind) {
  if (fd_ < 0) return;
  if (pooled) {
    set_->Forget(this);
    Close();
    return;
  }
  if (owner_ != nullptr) owner_->OnUpstreamTimer(this, kind);
}

void UpstreamConnection::Close() {
  if (fd_ < 0) return;
  net::TimerList::Disarm(&timer);
  loop_->Remove(fd_);
  close(fd_);
  fd_ = -1;
  owner_ = nullptr;
  UpstreamConnection* self = this;
  set_->DeferDelete([self] { delete self; });
}

OriginSet::OriginSet(const BackendConfig& config, net::EventLoop* loop, stats::WorkerStats* stats,
                     net::TimerList* idle_timers, std::function<void(std::function<void()>)> defer_delete)
    : config_(&config),
      pool_key_(config.pool_key),
      loop_(loop),
      stats_(stats),
      idle_timers_(idle_timers),
      defer_delete_(std::move(defer_delete)),
      origins_(config.origins.size()),
      rng_(reinterpret_cast<uintptr_t>(this) | 1) {}

OriginSet::~OriginSet() {
  for (OriginState& o : origins_) {
    for (UpstreamConnection* c : o.idle) {
      c->pooled = false;
      c->Close();
    }
  }
}

int OriginSet::Pick(int64_t now_ms, int exclude) {
  const int n = static_cast<int>(origins_.size());
  if (n == 1) return 0;
  // Healthy candidates; if none, the one that comes back first.
  int healthy[2] = {-1, -1};
  int healthy_count = 0;
  int first_back = -1;
  for (int attempt = 0; attempt < 2 * n && healthy_count < 2; ++attempt) {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    const int i = static_cast<int>(rng_ % n);
    if (i == exclude || (healthy_count == 1 && healthy[0] == i)) continue;
    if (origins_[i].ejected_until_ms <= now_ms) healthy[healthy_count++] = i;
  }
  if (healthy_count == 0) {
    for (int i = 0; i < n; ++i) {
      if (i == exclude && n > 1) continue;
      if (origins_[i].ejected_until_ms <= now_ms) return i;  // the random walk missed it
      if (first_back < 0 || origins_[i].ejected_until_ms < origins_[first_back].ejected_until_ms) {
        first_back = i;
      }
    }
    return first_back < 0 ? 0 : first_back;
  }
  if (healthy_count == 1) return healthy[0];
  return origins_[healthy[0]].outstanding <= origins_[healthy[1]].outstanding ? healthy[0] : healthy[1];
}

void OriginSet::ReportSuccess(int i) {
  OriginState& o = origins_[i];
  o.consecutive_failures = 0;
  o.backoff_ms = 0;
}

void OriginSet::ReportFailure(int i, int64_t now_ms) {
  OriginState& o = origins_[i];
  if (++o.consecutive_failures < kEjectAfter) return;
  o.backoff_ms = o.backoff_ms == 0 ? 1000 : std::min<int64_t>(o.backoff_ms * 2, 30000);
  const bool was_ejected = o.ejected_until_ms > now_ms;
  o.ejected_until_ms = now_ms + o.backoff_ms;
  o.consecutive_failures = 0;
  if (!was_ejected) stats_->origin(config_->origins[i].url).ejections++;
}

UpstreamConnection* OriginSet::Acquire(int i, std::string* error) {
  OriginState& o = origins_[i];
  while (!o.idle.empty()) {
    UpstreamConnection* c = o.idle.back();
    o.idle.pop_back();
    net::TimerList::Disarm(&c->timer);
    c->pooled = false;
    c->reused = true;
    return c;
  }
  const Origin& origin = config_->origins[i];
  if (!origin.resolve_error.empty()) {
    *error = origin.resolve_error;
    return nullptr;
  }
  int fd = socket(origin.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = absl::StrCat("socket: ", std::strerror(errno));
    return nullptr;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  int rc = connect(fd, reinterpret_cast<const sockaddr*>(&origin.addr), origin.addr_len);
  if (rc != 0 && errno != EINPROGRESS) {
    *error = absl::StrCat("connect ", origin.authority, ": ", std::strerror(errno));
    close(fd);
    return nullptr;
  }
  auto* c = new UpstreamConnection(loop_, this, i, fd);
  c->connected = rc == 0;
  loop_->Add(fd, EPOLLOUT | EPOLLIN | EPOLLRDHUP, c);
  c->WatchEvents(EPOLLOUT | EPOLLIN | EPOLLRDHUP);
  return c;
}

void OriginSet::Release(UpstreamConnection* conn, bool reusable) {
  conn->SetOwner(nullptr);
  if (!reusable || conn->fd() < 0) {
    conn->Close();
    return;
  }
  conn->pooled = true;
  conn->WatchEvents(EPOLLIN | EPOLLRDHUP);
  idle_timers_->Arm(&conn->timer, loop_->now_ms());
  conn->timer.kind = kPoolIdleTimer;
  origins_[conn->origin_index()].idle.push_back(conn);
}

void OriginSet::Forget(UpstreamConnection* conn) {
  auto& idle = origins_[conn->origin_index()].idle;
  idle.erase(std::remove(idle.begin(), idle.end(), conn), idle.end());
  conn->pooled = false;
}

OriginSet* UpstreamPools::Get(const BackendConfig& config, net::EventLoop* loop,
                              stats::WorkerStats* stats, net::TimerList* idle_timers,
                              std::function<void(std::function<void()>)> defer_delete, int64_t now_ms) {
  auto it = sets_.find(config.pool_id);
  if (it != sets_.end() && it->second->pool_key() != config.pool_key) {
    sets_.erase(it);  // a 64-bit hash collision: never share pools between different backends
    it = sets_.end();
  }
  if (it == sets_.end()) {
    it = sets_.emplace(config.pool_id, std::make_unique<OriginSet>(config, loop, stats, idle_timers,
                                                                 std::move(defer_delete)))
             .first;
  }
  // Same content, possibly a newer config object: point at the one the request uses.
  it->second->set_config(config);
  it->second->last_used_ms = now_ms;
  return it->second.get();
}

int UpstreamPools::EjectedCount(int64_t now_ms) {
  int n = 0;
  for (auto& [key, set] : sets_) {
    for (size_t i = 0; i < set->size(); ++i) n += set->state(i).ejected_until_ms > now_ms;
  }
  return n;
}

void UpstreamPools::Sweep(int64_t now_ms, int64_t max_idle_ms) {
  for (auto it = sets_.begin(); it != sets_.end();) {
    bool busy = false;
    for (size_t i = 0; i < it->second->size(); ++i) busy |= it->second->state(i).outstanding > 0;
    if (!busy && now_ms - it->second->last_used_ms > max_idle_ms) {
      sets_.erase(it++);
    } else {
      ++it;
    }
  }
}

}  // namespace edgerouter::proxy
