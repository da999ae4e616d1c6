#include "dataplane/proxy/worker.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/net/socket_address.h"
#include "dataplane/proxy/http_session.h"

namespace edgerouter::proxy {

void ConfigSource::Publish(std::shared_ptr<const RuntimeConfig> config) {
  std::atomic_store(&config_, std::move(config));
  generation_.fetch_add(1, std::memory_order_release);
  absl::MutexLock lock(&watchers_mu_);
  // An empty task: the iteration it wakes ends with RefreshConfig. A loop that has ended refuses it.
  for (net::EventLoop* loop : watchers_) loop->Post([] {});
}

void ConfigSource::Watch(net::EventLoop* loop) {
  absl::MutexLock lock(&watchers_mu_);
  watchers_.push_back(loop);
}

void ConfigSource::Unwatch(net::EventLoop* loop) {
  absl::MutexLock lock(&watchers_mu_);
  watchers_.erase(std::remove(watchers_.begin(), watchers_.end(), loop), watchers_.end());
}

absl::StatusOr<int> ListenReusePort(const std::string& address) {
  absl::StatusOr<net::SocketAddress> sa = net::ParseListenAddress(address, /*empty_host_is_any=*/true);
  if (!sa.ok()) return sa.status();
  int fd = socket(sa->storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  // Accepted sockets inherit it (Linux copies the listener's TCP state): no setsockopt per
  // connection.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (bind(fd, sa->get(), sa->len) != 0 || listen(fd, 4096) != 0) {
    const std::string err = std::strerror(errno);
    close(fd);
    return absl::UnavailableError(absl::StrCat("listen ", address, ": ", err));
  }
  return fd;
}

Worker::Worker(int index, const ProxyOptions& options, ConfigSource* configs)
    : index_(index),
      options_(options),
      configs_(configs),
      loop_(options.batch_io, /*ring_wait=*/true, options.ring_receive),
      header_timers_(options.header_timeout_ms),
      idle_timers_(options.idle_timeout_ms),
      connect_timers_(options.upstream_connect_timeout_ms),
      response_timers_(options.upstream_response_timeout_ms),
      upstream_idle_timers_(options.upstream_idle_timeout_ms) {
  for (net::TimerList* l : {&header_timers_, &idle_timers_, &tls_buffer_timers_, &connect_timers_,
                            &response_timers_, &upstream_idle_timers_, &deadline_timers_}) {
    loop_.AddTimerList(l);
  }
  loop_.AddIterationHook([this] { EndOfIteration(); });
  configs_->Watch(&loop_);
}

Worker::~Worker() {
  configs_->Unwatch(&loop_);
  for (DownstreamConnection* conn : stream_pool_) delete conn;
  // Upstream connections close through DeferDelete: run those before deferred_ goes away.
  pools_.Clear();
  RunQueued(&deferred_);
  if (listen_fd_ >= 0) close(listen_fd_);
  if (https_fd_ >= 0) close(https_fd_);
  FlushAccessLog();
}

absl::Status Worker::Listen() {
  if (!options_.http_listen.empty()) {
    absl::StatusOr<int> fd = ListenReusePort(options_.http_listen);
    if (!fd.ok()) return fd.status();
    listen_fd_ = *fd;
    loop_.Add(listen_fd_, EPOLLIN, this);
  }
  if (!options_.https_listen.empty()) {
    absl::StatusOr<tls::SslCtxPtr> base = tls::NewServerContext();
    if (!base.ok()) return base.status();
    tls_base_ = *std::move(base);
    tls::InstallCertSelector(tls_base_.get(), &tls_slot_);
    tls_slot_.store = options_.fallback_certs.get();
    absl::StatusOr<int> fd = ListenReusePort(options_.https_listen);
    if (!fd.ok()) return fd.status();
    https_fd_ = *fd;
    tls_listener_.worker = this;
    loop_.Add(https_fd_, EPOLLIN, &tls_listener_);
  }
  return absl::OkStatus();
}

namespace {
int BoundPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (fd < 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  return ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                  : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}
}  // namespace

int Worker::port() const { return BoundPort(listen_fd_); }
int Worker::https_port() const { return BoundPort(https_fd_); }

void Worker::Start() {
  thread_ = std::thread([this] {
    RefreshConfig();
    loop_.Run();
    log::Info("worker stopped").Kv("worker", index_);
  });
}

void Worker::BeginDrain() {
  loop_.Post([this] {
    draining_ = true;
    for (int* fd : {&listen_fd_, &https_fd_}) {
      if (*fd < 0) continue;
      loop_.Remove(*fd);
      close(*fd);
      *fd = -1;
    }
    // Copy: Drain() may close (and remove) connections.
    std::vector<DownstreamConnection*> conns(connections_.begin(), connections_.end());
    for (DownstreamConnection* c : conns) c->Drain();
    // After the fact, so whoever waits for it knows every connection has been told.
    log::Info("worker draining").Kv("worker", index_).Kv("connections", conns.size());
  });
}

void Worker::Stop() { loop_.Stop(); }

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::OnIo(uint32_t) { Accept(listen_fd_, nullptr); }

void Worker::Accept(int listen_fd, SSL_CTX* tls_base) {
  // Accept a bounded batch per wakeup so one busy listener cannot starve the connections.
  for (int i = 0; i < 64 && listen_fd >= 0; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (connection_count_ >= options_.max_connections_per_worker) {
      close(fd);
      continue;
    }
    auto* conn = new DownstreamConnection(this, fd, peer, tls_base);
    connections_.insert(conn);
    ++connection_count_;
    conn->Start();
  }
}

void Worker::ReadSoon(DownstreamConnection* conn) {
  if (conn->read_soon_) return;
  conn->read_soon_ = true;
  // Posted, not RunSoon: the loop polls epoll first, so one busy client cannot starve the rest.
  // The serial tells this connection from a new one that got the address of a deleted one.
  loop_.Post([this, conn, serial = conn->serial_] {
    if (!connections_.contains(conn) || conn->serial_ != serial) return;  // closed meanwhile
    conn->read_soon_ = false;
    conn->OnIo(EPOLLIN);
  });
}

void Worker::OnConnectionClosed(DownstreamConnection* conn) {
  connections_.erase(conn);
  --connection_count_;
  DeferDelete([conn] { delete conn; });
}

void Worker::NoteHandshakeFailure(tls::HandshakeError error, const char* detail, const std::string& peer_ip) {
  stats_.tls_handshake_errors[static_cast<int>(error)]++;
  // EOFs are ordinary (port scanners, health checks, clients giving up): counted, not logged.
  if (error == tls::HandshakeError::kEof) return;
  // Rate-limited across workers: a flood of bad handshakes must not flood the log.
  log::Line line = log::Every(log::Level::kWarn, "tls handshake failed", "tls handshake failed");
  line.Kv("reason", tls::HandshakeErrorName(error)).Kv("detail", detail).Kv("client", peer_ip);
  if (error == tls::HandshakeError::kNoCertificate) line.Kv("sni", tls_slot_.last_failed_sni);
  line.Kv("worker", index_);
}

void Worker::RefreshConfig() {
  const uint64_t generation = configs_->generation();
  if (generation == seen_generation_) return;
  seen_generation_ = generation;
  std::shared_ptr<const RuntimeConfig> next = configs_->Load();
  if (next == current_) return;
  if (current_ != nullptr && current_refs_ > 0) retained_.emplace_back(current_, current_refs_);
  current_ = std::move(next);
  current_refs_ = 0;
  // Handshakes from now on select certificates from the new config (contexts are refcounted,
  // so handshakes under way keep theirs).
  tls_slot_.store = current_ != nullptr && current_->certs != nullptr ? current_->certs.get()
                                                                       : options_.fallback_certs.get();
}

void Worker::RefConfig(const RuntimeConfig* config) {
  if (config == current_.get()) {
    ++current_refs_;
    return;
  }
  for (auto& [ptr, count] : retained_) {
    if (ptr.get() == config) ++count;
  }
}

void Worker::UnrefConfig(const RuntimeConfig* config) {
  if (config == current_.get()) {
    --current_refs_;
    return;
  }
  for (auto it = retained_.begin(); it != retained_.end(); ++it) {
    if (it->first.get() == config) {
      if (--it->second == 0) retained_.erase(it);
      return;
    }
  }
}

DownstreamConnection* Worker::AcquireStreamConnection(StreamPort* port, const DownstreamConnection& parent) {
  if (stream_pool_.empty()) return new DownstreamConnection(this, port, parent);
  DownstreamConnection* conn = stream_pool_.back();
  stream_pool_.pop_back();
  conn->Rebind(port, parent);
  return conn;
}

void Worker::RecycleStreamConnection(DownstreamConnection* conn) {
  // Bounded: a burst of streams does not keep its memory for ever.
  if (stream_pool_.size() >= 256) {
    delete conn;
    return;
  }
  stream_pool_.push_back(conn);
}

void Worker::AppendAccessLog(absl::string_view line) {
  access_log_buffer_.append(line.data(), line.size());
  ++access_log_lines_;
  // Only the hand-over: callers are deep inside connection code, where running deferred work
  // (deletes, HTTP/2 flushes) would pull objects out from under them.
  if (access_log_buffer_.size() > 64 * 1024) FlushAccessLog();
}

void Worker::FlushAccessLog() {
  if (options_.access_log_writer != nullptr) {
    options_.access_log_writer->Submit(&access_log_buffer_, access_log_lines_);
  }
  access_log_buffer_.clear();
  access_log_lines_ = 0;
}

aws::AwsWorkerContext& Worker::aws() {
  if (aws_ == nullptr) aws_ = std::make_unique<aws::AwsWorkerContext>(&loop_, options_.aws);
  return *aws_;
}

std::shared_ptr<const std::string> Worker::metrics_text() const {
  if (metrics_source_ == nullptr) return nullptr;
  return metrics_source_->load();
}

void Worker::RunQueued(std::vector<std::function<void()>>* queue) {
  // Swapped out first: a task may (indirectly) queue another. The two vectors trade storage,
  // so neither is reallocated on every loop turn.
  while (!queue->empty()) {
    running_.swap(*queue);
    for (auto& fn : running_) fn();
    running_.clear();
  }
}

void Worker::EndOfIteration() {
  RunQueued(&soon_);
  RunQueued(&deferred_);
  FlushAccessLog();
  RefreshConfig();
  // Origin sets of backends that left the config are dropped once idle for a minute.
  if (loop_.now_ms() - last_sweep_ms_ > 10000) {
    last_sweep_ms_ = loop_.now_ms();
    pools_.Sweep(last_sweep_ms_, 60000);
  }
  if (draining_ && connection_count_ == 0) loop_.Stop();
}

}  // namespace edgerouter::proxy
