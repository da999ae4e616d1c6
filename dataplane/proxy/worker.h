// One data-plane worker: an event loop thread that owns its listening socket (SO_REUSEPORT),
// its client connections, its upstream connection pools and its statistics. Nothing here is
// shared with other workers, so the request path takes no locks.
#ifndef EDGEROUTER_DATAPLANE_PROXY_WORKER_H_
#define EDGEROUTER_DATAPLANE_PROXY_WORKER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "dataplane/aws/aws_context.h"
#include "common/http/http1_parser.h"
#include "dataplane/net/event_loop.h"
#include "common/net/ip_prefix.h"
#include "dataplane/proxy/access_log.h"
#include "dataplane/proxy/runtime_config.h"
#include "dataplane/proxy/upstream.h"
#include "dataplane/stats/request_stats.h"
#include "dataplane/tls/cert_store.h"
#include "dataplane/tls/transport.h"

namespace edgerouter::proxy {

struct ProxyOptions {
  std::string http_listen = ":80";   // "" = no plain listener
  std::string https_listen = ":443";  // "" = no TLS listener
  int max_connections_per_worker = 20000;
  int64_t header_timeout_ms = 60000;       // whole request head must arrive within this
  int64_t idle_timeout_ms = 60000;         // keep-alive connection with no request
  int64_t upstream_connect_timeout_ms = 5000;
  int64_t upstream_response_timeout_ms = 60000;  // no upstream bytes for this long -> 504/close
  int64_t upstream_idle_timeout_ms = 30000;      // pooled idle upstream connections
  http::ParserLimits limits;
  std::string access_log = "off";  // off | stdout | PATH
  AccessLogWriter* access_log_writer = nullptr;  // where workers hand their lines (main owns it)
  std::string node_id;
  bool plain_is_https = false;     // behind a TLS terminator: don't redirect to https
  net::CidrSet trusted_proxies;    // peers whose X-Forwarded-For (and other client-IP fields) count
  bool h2c = false;                // prior-knowledge HTTP/2 on the plain listener
  uint64_t max_request_body_bytes = 0;  // 0 = unlimited; over: 413 (HTTP/1.1 and HTTP/2 alike)
  size_t read_budget_bytes = 64 * 1024;  // read from one client connection per loop turn
  bool batch_io = true;            // a loop turn's socket reads and sends batched with io_uring
  bool ring_receive = true;        // plain sockets receive through the ring (net::RingReceiver)
  // Certificates served before the first config arrives (--dev_cert / --default_cert only).
  std::shared_ptr<const tls::CertStore> fallback_certs;
  aws::AwsSettings aws;            // endpoints, credentials, client limits, S3 cache size
};

// Where workers find the current config: one atomic pointer, read once per loop iteration.
class ConfigSource {
 public:
  // Stores the config, then wakes every watching loop: a worker moves to a new config at the
  // end of a loop iteration, and an idle one would otherwise keep the old config (and what it
  // holds: health checkers of removed origins, certificates) until its next connection.
  void Publish(std::shared_ptr<const RuntimeConfig> config);
  std::shared_ptr<const RuntimeConfig> Load() const { return std::atomic_load(&config_); }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // A loop to wake on Publish; it must be unwatched before it is destroyed.
  void Watch(net::EventLoop* loop);
  void Unwatch(net::EventLoop* loop);

 private:
  std::shared_ptr<const RuntimeConfig> config_;
  std::atomic<uint64_t> generation_{0};
  absl::Mutex watchers_mu_;  // Publish and worker start/stop only, never the request path
  std::vector<net::EventLoop*> watchers_ ABSL_GUARDED_BY(watchers_mu_);
};

class DownstreamConnection;
class StreamPort;

class Worker : public net::IoHandler {
 public:
  Worker(int index, const ProxyOptions& options, ConfigSource* configs);
  ~Worker() override;

  absl::Status Listen();  // binds this worker's SO_REUSEPORT sockets (HTTP and HTTPS)
  int port() const;       // the bound HTTP port
  int https_port() const;
  void Start();           // runs the loop on a new thread
  // Stops accepting; idle connections close, busy ones after their current response; the loop
  // ends when none is left (or Stop() is called at the drain deadline).
  void BeginDrain();
  void Stop();
  void Join();

  // --- used by connections (loop thread only) ---
  net::EventLoop& loop() { return loop_; }
  const ProxyOptions& options() const { return options_; }
  const RuntimeConfig* current_config() const { return current_.get(); }
  // Request-lifetime reference to the config a request started on.
  void RefConfig(const RuntimeConfig* config);
  void UnrefConfig(const RuntimeConfig* config);
  UpstreamPools& pools() { return pools_; }
  // The worker's AWS client and S3 cache, created on first use (loop thread only).
  aws::AwsWorkerContext& aws();
  const aws::AwsWorkerContext* aws_if_created() const { return aws_.get(); }
  stats::WorkerStats& stats() { return stats_; }
  net::TimerList& header_timers() { return header_timers_; }
  net::TimerList& idle_timers() { return idle_timers_; }
  // A second: how long a TLS connection waits for its next request (HTTP/1.1) or stream
  // (HTTP/2) before giving its record buffers back.
  net::TimerList& tls_buffer_timers() { return tls_buffer_timers_; }
  net::TimerList& connect_timers() { return connect_timers_; }
  net::TimerList& response_timers() { return response_timers_; }
  net::TimerList& upstream_idle_timers() { return upstream_idle_timers_; }
  // Timers of varying durations (retry backoff, per-try timeouts): armed with ArmAt.
  net::TimerList& deadline_timers() { return deadline_timers_; }
  void AppendAccessLog(absl::string_view line);
  void OnConnectionClosed(DownstreamConnection* conn);
  // Counts a failed TLS handshake and logs it, at most once a second per worker.
  void NoteHandshakeFailure(tls::HandshakeError error, const char* detail, const std::string& peer_ip);
  void DeferDelete(std::function<void()> deleter) { deferred_.push_back(std::move(deleter)); }
  // Port-mode connections for HTTP/2 streams, recycled (see DownstreamConnection::Rebind).
  DownstreamConnection* AcquireStreamConnection(StreamPort* port, const DownstreamConnection& parent);
  void RecycleStreamConnection(DownstreamConnection* conn);
  // Runs `fn` at the end of this loop iteration, before deferred deletes; `fn` may queue more.
  void RunSoon(std::function<void()> fn) { soon_.push_back(std::move(fn)); }
  // A synthetic EPOLLIN for `conn` in the next loop iteration (after other connections had
  // their turn): for bytes OpenSSL holds that epoll will never announce.
  void ReadSoon(DownstreamConnection* conn);
  uint64_t NextConnectionSerial() { return ++connection_serial_; }
  int index() const { return index_; }
  bool draining() const { return draining_; }
  int active_connections() const { return connection_count_; }
  // Rendered Prometheus text of the whole data plane, refreshed by the admin thread; served
  // by prom_metrics apps.
  std::shared_ptr<const std::string> metrics_text() const;
  void set_metrics_source(std::atomic<std::shared_ptr<const std::string>>* source) {
    metrics_source_ = source;
  }

  void OnIo(uint32_t events) override;  // the plain listening socket

 private:
  // Runs the queue's tasks, and those they queue there, until it is empty.
  void RunQueued(std::vector<std::function<void()>>* queue);
  // The HTTPS listening socket's handler (the Worker itself handles the plain one).
  struct TlsListener : net::IoHandler {
    Worker* worker = nullptr;
    void OnIo(uint32_t) override { worker->Accept(worker->https_fd_, worker->tls_base_.get()); }
  };
  void Accept(int listen_fd, SSL_CTX* tls_base);
  void RefreshConfig();
  void EndOfIteration();
  void FlushAccessLog();

  const int index_;
  const ProxyOptions& options_;  // shared; workers read it, main() sets it up before Start
  ConfigSource* configs_;
  net::EventLoop loop_;
  std::thread thread_;
  int listen_fd_ = -1;
  int https_fd_ = -1;
  TlsListener tls_listener_;
  tls::SslCtxPtr tls_base_;    // this worker's TLS entry context (ClientHello → cert context)
  tls::WorkerTlsSlot tls_slot_;  // the cert store the ClientHello callback reads
  bool draining_ = false;
  int connection_count_ = 0;
  uint64_t seen_generation_ = 0;
  int64_t last_sweep_ms_ = 0;
  std::shared_ptr<const RuntimeConfig> current_;
  // Older configs still used by in-flight requests, with their counts.
  std::vector<std::pair<std::shared_ptr<const RuntimeConfig>, int>> retained_;
  int current_refs_ = 0;
  net::TimerList header_timers_;
  net::TimerList idle_timers_;
  net::TimerList tls_buffer_timers_{1000};
  net::TimerList connect_timers_;
  net::TimerList response_timers_;
  net::TimerList upstream_idle_timers_;
  net::TimerList deadline_timers_{0};
  UpstreamPools pools_;
  std::unique_ptr<aws::AwsWorkerContext> aws_;
  stats::WorkerStats stats_;
  std::string access_log_buffer_;  // this loop turn's lines, handed to the writer at its end
  uint64_t access_log_lines_ = 0;
  std::vector<std::function<void()>> deferred_;
  std::vector<std::function<void()>> soon_;
  std::vector<std::function<void()>> running_;  // the batch RunQueued is running (storage kept)
  uint64_t connection_serial_ = 0;
  std::vector<DownstreamConnection*> stream_pool_;
  std::atomic<std::shared_ptr<const std::string>>* metrics_source_ = nullptr;
  absl::flat_hash_set<DownstreamConnection*> connections_;
};

// "host:port", ":port", "[v6]:port" -> a bound, listening, non-blocking SO_REUSEPORT socket.
absl::StatusOr<int> ListenReusePort(const std::string& address);

}  // namespace edgerouter::proxy

#endif  // EDGEROUTER_DATAPLANE_PROXY_WORKER_H_
