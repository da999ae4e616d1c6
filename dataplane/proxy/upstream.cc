#include "dataplane/proxy/upstream.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "dataplane/stats/request_stats.h"
#include "dataplane/tls/errors.h"

namespace edgerouter::proxy {

UpstreamConnection::UpstreamConnection(net::EventLoop* loop, OriginSet* set, int origin_index, int fd)
    : loop_(loop), set_(set), origin_index_(origin_index), fd_(fd) {
  timer.target = this;
}

namespace {
std::string& TrustFile() {
  static std::string* path = new std::string();
  return *path;
}

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

bool IsIpLiteral(const std::string& host) {
  unsigned char tmp[16];
  return inet_pton(AF_INET, host.c_str(), tmp) == 1 || inet_pton(AF_INET6, host.c_str(), tmp) == 1;
}
}  // namespace

void SetUpstreamTrustFile(const std::string& path) { TrustFile() = path; }

UpstreamConnection::~UpstreamConnection() {
  net::TimerList::Disarm(&timer);
  if (send_queued_) loop_->CancelSend(this);
  if (ssl_ != nullptr) SSL_free(ssl_);
}

ssize_t UpstreamConnection::Read(char* dst, size_t len) {
  if (ssl_ == nullptr) {
    ssize_t n = loop_->Receive(fd_, dst, len);
    if (n >= 0) return n;
    return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -1 : -2;
  }
  tls::ClearStaleErrors();
  int n = SSL_read(ssl_, dst, static_cast<int>(std::min<size_t>(len, INT32_MAX)));
  if (n > 0) return n;
  switch (SSL_get_error(ssl_, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    default:
      return -2;
  }
}

ssize_t UpstreamConnection::Write(const char* src, size_t len) {
  if (ssl_ == nullptr) {
    ssize_t n = send(fd_, src, len, MSG_NOSIGNAL);
    if (n >= 0) return n;
    return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -1 : -2;
  }
  tls::ClearStaleErrors();
  int n = SSL_write(ssl_, src, static_cast<int>(std::min<size_t>(len, INT32_MAX)));
  if (n > 0) return n;
  const int err = SSL_get_error(ssl_, n);
  return (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) ? -1 : -2;
}

bool UpstreamConnection::has_buffered_input() const { return ssl_ != nullptr && SSL_pending(ssl_) > 0; }

UpstreamConnection::Handshake UpstreamConnection::ContinueHandshake(SSL_CTX* ctx, const Origin& origin,
                                                                   const ProxyTarget& backend,
                                                                   std::string* error) {
  if (ssl_ == nullptr) {
    ssl_ = SSL_new(ctx);
    SSL_set_fd(ssl_, fd_);
    SSL_set_connect_state(ssl_);
    const std::string& name = backend.tls_server_name.empty() ? origin.host : backend.tls_server_name;
    const bool ip = IsIpLiteral(name);
    if (!ip) SSL_set_tlsext_host_name(ssl_, name.c_str());  // SNI is for names only
    if (!backend.tls_insecure_skip_verify) {
      // The certificate must name the origin (or tls_config.server_name), not just chain to a CA.
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
      if (ip) {
        X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
      } else {
        X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
      }
    }
  }
  tls::ClearStaleErrors();
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) return Handshake::kDone;
  const int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ) return Handshake::kWantRead;
  if (err == SSL_ERROR_WANT_WRITE) return Handshake::kWantWrite;
  const long verify = SSL_get_verify_result(ssl_);
  *error = verify != X509_V_OK ? absl::StrCat("certificate verification failed: ", X509_verify_cert_error_string(verify))
                               : OpenSslError();
  return Handshake::kFailed;
}

void UpstreamConnection::WatchEvents(uint32_t events) {
  if (fd_ < 0) return;
  if (parked_) {
    if (events == 0) return;
    loop_->Add(fd_, events, this);
    parked_ = false;
    watched_ = events;
    return;
  }
  if (events == watched_) return;
  loop_->Modify(fd_, events, this);
  watched_ = events;
}

void UpstreamConnection::Park() {
  if (fd_ < 0 || parked_) return;
  loop_->Remove(fd_);
  parked_ = true;
  watched_ = 0;
}

void UpstreamConnection::OnIo(uint32_t events) {
  if (fd_ < 0) return;
  if (pooled) {
    // An idle keep-alive connection has nothing to say: EOF, an error or stray bytes all mean
    // it cannot be reused. Over TLS, post-handshake records (TLS 1.3 session tickets) are
    // consumed and the connection stays.
    if (ssl_ != nullptr && !(events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))) {
      char probe;
      if (Read(&probe, 1) == -1) return;
    }
    set_->Forget(this);
    Close();
    return;
  }
  if (owner_ != nullptr) owner_->OnUpstreamIo(this, events);
}

net::ReadTarget UpstreamConnection::ReadAheadTarget() {
  // Pooled connections only look for EOF; TLS reads through OpenSSL.
  if (fd_ < 0 || pooled || ssl_ != nullptr || !connected || owner_ == nullptr) return {};
  net::ReadTarget target = owner_->UpstreamReadTarget(this);
  target.fd = fd_;
  return target;
}

void UpstreamConnection::OnReadAhead(ssize_t result) {
  read_ahead_.Set(result, loop_->turn());
  owner_->OnUpstreamReadAhead(result);
}

net::WriteSource UpstreamConnection::PendingWrite() {
  if (fd_ < 0 || owner_ == nullptr) return {};
  net::WriteSource source = owner_->UpstreamPendingWrite(this);
  source.fd = fd_;
  return source;
}

void UpstreamConnection::OnWritten(ssize_t result) {
  send_queued_ = false;
  if (fd_ >= 0 && owner_ != nullptr) owner_->OnUpstreamWritten(this, result);
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
  if (send_queued_) loop_->CancelSend(this);
  if (!parked_) loop_->Remove(fd_);
  loop_->CloseSocket(fd_);
  fd_ = -1;
  owner_ = nullptr;
  UpstreamConnection* self = this;
  set_->DeferDelete([self] { delete self; });
}

OriginSet::OriginSet(const ProxyTarget& config, net::EventLoop* loop, stats::WorkerStats* stats,
                     net::TimerList* idle_timers, std::function<void(std::function<void()>)> defer_delete)
    : config_(&config),
      pool_key_(config.pool_key),
      loop_(loop),
      stats_(stats),
      idle_timers_(idle_timers),
      defer_delete_(std::move(defer_delete)),
      origins_(config.origins.size()),
      rng_(reinterpret_cast<uintptr_t>(this) | 1) {}

absl::StatusOr<SSL_CTX*> UpstreamTlsContext(bool verify) {
  // Built once per process, on the first compile that needs it (never on a worker); shared
  // by every backend and worker (SSL_CTX is safe to use from many threads once set up).
  static absl::Mutex mu(absl::kConstInit);
  static SSL_CTX* contexts[2] ABSL_GUARDED_BY(mu) = {nullptr, nullptr};
  absl::MutexLock lock(&mu);
  SSL_CTX*& slot = contexts[verify ? 1 : 0];
  if (slot != nullptr) return slot;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (!verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    // The system store is read now, not lazily: X509_STORE_load_file reads the bundle at once.
    SSL_CTX_set_default_verify_paths(ctx);
    if (!TrustFile().empty() && SSL_CTX_load_verify_locations(ctx, TrustFile().c_str(), nullptr) != 1) {
      const std::string error = absl::StrCat("cannot load ", TrustFile(), ": ", OpenSslError());
      SSL_CTX_free(ctx);
      return absl::FailedPreconditionError(error);  // not cached: the next compile tries again
    }
  }
  slot = ctx;
  return slot;
}

SSL_CTX* OriginSet::tls_context(std::string* error) {
  if (config_->client_tls == nullptr) {
    *error = config_->client_tls_error.empty() ? "no TLS client context" : config_->client_tls_error;
    return nullptr;
  }
  return config_->client_tls;
}

OriginSet::~OriginSet() {
  for (OriginState& o : origins_) {
    for (UpstreamConnection* c : o.idle) {
      c->pooled = false;
      c->Close();
    }
  }
}

uint64_t OriginSet::NextRandom() {
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  return rng_;
}

bool OriginSet::Usable(int i, int64_t now_ms, bool active) const {
  const ProxyTarget& c = *config_;
  if (!c.weights.empty() && c.weights[i] == 0) return false;
  if (origins_[i].ejected_until_ms > now_ms) return false;
  return !active || c.health.empty() || c.health[i]->healthy.load(std::memory_order_relaxed);
}

int OriginSet::PickAmong(int64_t now_ms, int exclude, bool active) {
  const ProxyTarget& c = *config_;
  const int n = static_cast<int>(origins_.size());
  auto sample = [&] {
    if (c.weights.empty()) return static_cast<int>(NextRandom() % n);
    uint64_t r = NextRandom() % c.total_weight;
    for (int i = 0; i < n; ++i) {
      if (r < c.weights[i]) return i;
      r -= c.weights[i];
    }
    return n - 1;
  };
  int chosen[2] = {-1, -1};
  int count = 0;
  for (int attempt = 0; attempt < 2 * n && count < 2; ++attempt) {
    const int i = sample();
    if (i == exclude || (count == 1 && chosen[0] == i) || !Usable(i, now_ms, active)) continue;
    chosen[count++] = i;
  }
  if (count == 0) {
    for (int i = 0; i < n; ++i) {
      if (i != exclude && Usable(i, now_ms, active)) return i;  // the random walk missed it
    }
    return -1;
  }
  if (count == 1) return chosen[0];
  // Least loaded relative to weight: a 3:1 split stays 3:1 under load too.
  const uint64_t w0 = c.weights.empty() ? 1 : c.weights[chosen[0]];
  const uint64_t w1 = c.weights.empty() ? 1 : c.weights[chosen[1]];
  const uint64_t load0 = static_cast<uint64_t>(origins_[chosen[0]].outstanding) * w1;
  const uint64_t load1 = static_cast<uint64_t>(origins_[chosen[1]].outstanding) * w0;
  return load0 <= load1 ? chosen[0] : chosen[1];
}

int OriginSet::PickWithPolicies(int64_t now_ms, int exclude) {
  // Healthy by both measures; the same origin again rather than one failing its checks.
  for (int ex : {exclude, -1}) {
    const int i = PickAmong(now_ms, ex, true);
    if (i >= 0) return i;
  }
  if (!config_->health.empty()) {
    // Every origin fails its active checks: fail open (Envoy's panic mode) on passive health.
    stats_->health_fail_open++;
    for (int ex : {exclude, -1}) {
      const int i = PickAmong(now_ms, ex, false);
      if (i >= 0) return i;
    }
  }
  // All passively ejected too: the one that comes back first (weight 0 stays out).
  int first_back = -1;
  for (int i = 0; i < static_cast<int>(origins_.size()); ++i) {
    if (!config_->weights.empty() && config_->weights[i] == 0) continue;
    if (first_back < 0 || origins_[i].ejected_until_ms < origins_[first_back].ejected_until_ms) first_back = i;
  }
  return first_back < 0 ? 0 : first_back;
}

int OriginSet::Pick(int64_t now_ms, int exclude) {
  const int n = static_cast<int>(origins_.size());
  if (!config_->weights.empty() || !config_->health.empty()) return PickWithPolicies(now_ms, exclude);
  if (n == 1) return 0;
  // Healthy candidates; if none, the one that comes back first.
  int healthy[2] = {-1, -1};
  int healthy_count = 0;
  int first_back = -1;
  for (int attempt = 0; attempt < 2 * n && healthy_count < 2; ++attempt) {
    const int i = static_cast<int>(NextRandom() % n);
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

void OriginSet::ReportFailure(int i, int64_t now_ms, Failure kind) {
  OriginState& o = origins_[i];
  // Ejected already: this request was under way before (or is the fallback when every origin
  // is out); it tells nothing new, and must not push the origin's return further away.
  if (o.ejected_until_ms > now_ms) return;
  const int64_t* range = kind == Failure::kConnect ? kConnectBackoffMs : kStatusBackoffMs;
  if (o.backoff_ms > 0) {
    // No success since the last ejection ended: this was the probe, and it failed.
    o.backoff_ms = std::clamp(o.backoff_ms * 2, range[0], range[1]);
  } else {
    if (++o.consecutive_failures < kEjectAfter) return;
    o.backoff_ms = range[0];
  }
  o.ejected_until_ms = now_ms + o.backoff_ms;
  o.consecutive_failures = 0;
  stats_->origin(config_->origins[i].url).ejections++;
}

UpstreamConnection* OriginSet::Acquire(int i, std::string* error, bool fresh) {
  OriginState& o = origins_[i];
  while (!fresh && !o.idle.empty()) {
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
  c->tcp_connected = rc == 0;
  c->connected = rc == 0 && !origin.tls;
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

OriginSet* UpstreamPools::Find(const ProxyTarget& config, int64_t now_ms) {
  auto it = sets_.find(config.pool_id);
  if (it == sets_.end()) return nullptr;
  OriginSet* set = it->second.get();
  // The config the set last served has this key; another object is checked against the full
  // key: a 64-bit hash collision must never share pools between different backends.
  if (!set->LastConfigIs(config)) {
    if (set->pool_key() != config.pool_key) {
      sets_.erase(it);
      return nullptr;
    }
    set->set_config(config);  // same content, a newer config object: the one requests use now
  }
  set->last_used_ms = now_ms;
  return set;
}

OriginSet* UpstreamPools::Add(const ProxyTarget& config, net::EventLoop* loop, stats::WorkerStats* stats,
                              net::TimerList* idle_timers, std::function<void(std::function<void()>)> defer_delete,
                              int64_t now_ms) {
  auto set = std::make_unique<OriginSet>(config, loop, stats, idle_timers, std::move(defer_delete));
  set->last_used_ms = now_ms;
  return sets_.insert_or_assign(config.pool_id, std::move(set)).first->second.get();
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
