// Upstream side of the proxy, per worker: origin sets with load balancing and passive health,
// and pooled keep-alive connections to origins.
//
// Load balancing: power of two choices on outstanding requests (per worker), which needs no
// shared state and avoids herding on one origin. Passive health: `kEjectAfter` consecutive
// connect failures or 5xx responses eject an origin. Once the ejection ends, the next request
// is the probe: its failure ejects again for twice as long; a success resets. Failures reported
// while the origin is ejected (requests that were already under way) change nothing, so an
// outage under load does not pile up backoff. Backoff: connect failures 250 ms … 1 s (the
// request is retried on another origin, and a restarted origin is back within a second); 5xx
// answers 1 s … 30 s (the probe's client sees the error). When every origin is ejected the one
// whose ejection ends first is still tried, so a backend is never fully blackholed.
#ifndef EDGEROUTER_DATAPLANE_PROXY_UPSTREAM_H_
#define EDGEROUTER_DATAPLANE_PROXY_UPSTREAM_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "dataplane/backends/reverse_proxy/proxy_target.h"
#include "common/http/http1_parser.h"
#include "dataplane/net/event_loop.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace edgerouter::stats {
class WorkerStats;
}

namespace edgerouter::proxy {

using backends::Origin;
using backends::ProxyTarget;

class UpstreamConnection;
class OriginSet;

// The owner of an active upstream connection (a client connection's request).
class UpstreamOwner {
 public:
  virtual ~UpstreamOwner() = default;
  virtual void OnUpstreamIo(UpstreamConnection* conn, uint32_t events) = 0;
  virtual void OnUpstreamTimer(UpstreamConnection* conn, int kind) = 0;
  // Batched reads (net::IoHandler): where the connection's next bytes go, and their result
  // once there (the owner commits them at once).
  virtual net::ReadTarget UpstreamReadTarget(UpstreamConnection* conn) { (void)conn; return {}; }
  virtual void OnUpstreamReadAhead(ssize_t result) { (void)result; }
  // Batched writes (net::IoHandler::PendingWrite/OnWritten), for a connection that SendSoon
  // queued.
  virtual net::WriteSource UpstreamPendingWrite(UpstreamConnection* conn) { (void)conn; return {}; }
  virtual void OnUpstreamWritten(UpstreamConnection* conn, ssize_t result) { (void)conn; (void)result; }
};

enum UpstreamTimerKind { kConnectTimer = 10, kResponseTimer = 11, kPoolIdleTimer = 12 };

class UpstreamConnection : public net::IoHandler, public net::TimerTarget {
 public:
  UpstreamConnection(net::EventLoop* loop, OriginSet* set, int origin_index, int fd);
  ~UpstreamConnection() override;

  int fd() const { return fd_; }
  int origin_index() const { return origin_index_; }
  OriginSet* set() const { return set_; }
  bool connected = false;      // ready for HTTP: TCP connected and, for https, TLS established
  bool tcp_connected = false;

  // Byte I/O through TLS when the origin is https. Read: >0 bytes, 0 EOF, -1 would block,
  // -2 error. Write: bytes written (>= 0), -1 would block, -2 error.
  ssize_t Read(char* dst, size_t len);
  ssize_t Write(const char* src, size_t len);
  bool has_buffered_input() const;  // TLS records already decrypted and not yet read
  // This turn's read made ahead by the loop into the owner's buffer, once (see net::ReadAhead).
  bool TakeReadAhead(ssize_t* result) { return read_ahead_.Take(loop_->turn(), result); }
  // Batched writes: plain connections when the loop batches (see net::IoHandler).
  bool batches_writes() const { return ssl_ == nullptr && loop_->batches_io(); }
  // Queues the owner's bytes for the loop's batched send, once until OnWritten.
  void SendSoon() {
    if (send_queued_) return;
    send_queued_ = true;
    loop_->SendSoon(this);
  }
  bool send_queued() const { return send_queued_; }
  bool send_blocked = false;  // the last batched send left bytes over: plain writes until drained

  // TLS client handshake (non-blocking). Starts it on the first call.
  enum class Handshake { kDone, kWantRead, kWantWrite, kFailed };
  Handshake ContinueHandshake(SSL_CTX* ctx, const Origin& origin, const ProxyTarget& backend,
                              std::string* error);
  bool tls() const { return ssl_ != nullptr; }
  bool reused = false;       // came from the pool (a failure before any response may be retried)
  bool hung_up = false;      // epoll reported hang-up/error: never reused
  uint64_t requests = 0;     // served on this connection

  void SetOwner(UpstreamOwner* owner) { owner_ = owner; }
  void WatchEvents(uint32_t events);  // EPOLLIN/EPOLLOUT interest
  // Out of epoll until WatchEvents asks for events again: epoll reports hang-up and errors
  // whatever the interest, so a socket that hung up while its reader is held back by a slow
  // client would otherwise wake the worker in a loop.
  void Park();
  // A plain connection, once connected, receives through the loop's ring (net::RingReceiver).
  void ReceiveThroughRing() {  // inline: called for every request on a connection
    if (ring_ || ssl_ != nullptr || fd_ < 0 || !loop_->receives_through_ring()) return;
    ring_ = loop_->ReceiveThroughRing(fd_, parked_ ? 0 : watched_, this);
  }
  net::Timer timer;                   // connect / response / pool-idle timer

  void OnIo(uint32_t events) override;
  net::ReadTarget ReadAheadTarget() override;
  void OnReadAhead(ssize_t result) override;
  net::WriteSource PendingWrite() override;
  void OnWritten(ssize_t result) override;
  void OnTimer(int kind) override;

  // Pooled: waiting for reuse. Any readiness (EOF, stray bytes) or the idle timer closes it.
  bool pooled = false;
  void Close();  // closes the socket and schedules deletion

 private:
  net::EventLoop* loop_;
  OriginSet* set_;
  int origin_index_;
  int fd_;
  uint32_t watched_ = 0;
  bool parked_ = false;
  bool ring_ = false;  // receives through the loop's ring
  UpstreamOwner* owner_ = nullptr;
  SSL* ssl_ = nullptr;
  net::ReadAhead read_ahead_;
  bool send_queued_ = false;
};

// Extra trust anchors (PEM file) for verifying https origins, in addition to the system store.
void SetUpstreamTrustFile(const std::string& path);
// The client TLS context for https origins (verifying or not): built with its trust store on
// the first call, from the config compile (files are read there, never on a worker).
absl::StatusOr<SSL_CTX*> UpstreamTlsContext(bool verify);

struct OriginState {
  int outstanding = 0;
  int consecutive_failures = 0;
  int64_t ejected_until_ms = 0;
  int64_t backoff_ms = 0;  // of the last ejection; 0 once a request succeeded after it
  std::vector<UpstreamConnection*> idle;  // most recently used last
};

class OriginSet {
 public:
  static constexpr int kEjectAfter = 3;
  enum class Failure { kConnect, kStatus5xx };
  static constexpr int64_t kConnectBackoffMs[2] = {250, 1000};  // first, cap
  static constexpr int64_t kStatusBackoffMs[2] = {1000, 30000};
  OriginSet(const ProxyTarget& config, net::EventLoop* loop, stats::WorkerStats* stats,
            net::TimerList* idle_timers, std::function<void(std::function<void()>)> defer_delete);
  ~OriginSet();

  // Valid only while a request that uses this set is in flight (configs come and go).
  const ProxyTarget& config() const { return *config_; }
  const std::string& pool_key() const { return pool_key_; }
  void set_config(const ProxyTarget& config) { config_ = &config; }
  // `config` is the object set_config last named (compares addresses only; it may be gone).
  bool LastConfigIs(const ProxyTarget& config) const { return config_ == &config; }
  size_t size() const { return origins_.size(); }
  OriginState& state(int i) { return origins_[i]; }

  // Index of the origin for the next attempt, never `exclude` unless it is the only one.
  // With origin_weights: P2C over two weighted samples; weight 0 gets nothing. With active
  // health checks: origins failing them get nothing while any passes (else fail open).
  int Pick(int64_t now_ms, int exclude);
  // Whether origin `i` may take a new request now (a sticky session's origin, say): weight
  // above 0, not ejected and, when `active`, passing its health checks.
  bool Usable(int i, int64_t now_ms, bool active) const;
  // Retry budget (policies.retry): retries in flight on this worker, and requests at origins.
  int retries_in_flight = 0;
  int ActiveRequests() const {
    int n = 0;
    for (const OriginState& o : origins_) n += o.outstanding;
    return n;
  }
  uint64_t NextRandom();
  void ReportSuccess(int i);
  void ReportFailure(int i, int64_t now_ms, Failure kind);

  // A pooled connection to origin `i`, or a new one (connecting). Null with `error` set when a
  // socket cannot even be created.
  // `fresh`: a new connection even if idle ones wait (a retry after a pooled one turned out
  // closed: its idle siblings were likely closed by the origin at the same time).
  UpstreamConnection* Acquire(int i, std::string* error, bool fresh = false);
  // Returns a healthy connection after a complete response, or closes it.
  void Release(UpstreamConnection* conn, bool reusable);
  void Forget(UpstreamConnection* conn);  // a pooled connection closed by itself
  void DeferDelete(std::function<void()> fn) { defer_delete_(std::move(fn)); }
  net::TimerList* idle_timers() { return idle_timers_; }
  // Client TLS context for this backend's https origins (verification per tls_config), made
  // by the config compile.
  SSL_CTX* tls_context(std::string* error);
  stats::WorkerStats* stats() { return stats_; }
  int64_t last_used_ms = 0;

 private:
  const ProxyTarget* config_;
  const std::string pool_key_;
  net::EventLoop* loop_;
  stats::WorkerStats* stats_;
  net::TimerList* idle_timers_;
  std::function<void(std::function<void()>)> defer_delete_;
  int PickWithPolicies(int64_t now_ms, int exclude);
  int PickAmong(int64_t now_ms, int exclude, bool active);  // -1: none usable

  std::vector<OriginState> origins_;
  uint64_t rng_;
};

// Origin sets by backend pool_key: pools and health survive snapshots that leave a backend
// unchanged.
class UpstreamPools {
 public:
  // The set for `config`'s pool, or null when there is none yet (then Add it).
  OriginSet* Find(const ProxyTarget& config, int64_t now_ms);
  OriginSet* Add(const ProxyTarget& config, net::EventLoop* loop, stats::WorkerStats* stats,
                 net::TimerList* idle_timers, std::function<void(std::function<void()>)> defer_delete,
                 int64_t now_ms);
  int EjectedCount(int64_t now_ms);
  // Drops sets unused for `max_idle_ms` that have no outstanding requests.
  void Sweep(int64_t now_ms, int64_t max_idle_ms);
  // Drops every set (worker shutdown; their connections queue deferred deletes).
  void Clear() { sets_.clear(); }

 private:
  // Keyed by ProxyTarget::pool_id; the full pool_key is compared on a hit.
  absl::flat_hash_map<uint64_t, std::unique_ptr<OriginSet>> sets_;
};

}  // namespace edgerouter::proxy

#endif  // EDGEROUTER_DATAPLANE_PROXY_UPSTREAM_H_
