#include "dataplane/proxy/http_session.h"

#include "dataplane/proxy/h2_connection.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/json_escape.h"
#include "dataplane/proxy/worker.h"
#include "dataplane/routing/route_table.h"

namespace edgerouter::proxy {
namespace {


int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string PeerIp(const sockaddr_storage& peer) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (peer.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&peer)->sin_addr, buf, sizeof(buf));
  } else if (peer.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&peer)->sin6_addr, buf, sizeof(buf));
  }
  return buf;
}

}  // namespace

void RequestState::Reset() {
  // Copied from one constant (a block copy) rather than built on the stack and then copied.
  static const RequestValues kDefaults{};
  static_cast<RequestValues&>(*this) = kDefaults;
  // One clear() each (not a loop over a list of them): this runs for every request.
  method.clear();
  host.clear();
  raw_target.clear();
  app_id.clear();
  client.ip.clear();
  client.forwarded_for.clear();
  client.peer_trusted = false;
  upstream_path.clear();
  upstream_headers.clear();
  client_host_header.clear();
  upstream_error.clear();
  upstream_label.clear();
  response_edit.Clear();
  compressor.reset();
}

DownstreamConnection::DownstreamConnection(Worker* worker, int fd, const sockaddr_storage& peer,
                                           SSL_CTX* tls_base)
    : worker_(worker),
      fd_(fd),
      peer_ip_(PeerIp(peer)),
      peer_trusted_(worker->options().trusted_proxies.Contains(peer_ip_)),
      tls_base_(tls_base),
      secure_(tls_base != nullptr || worker->options().plain_is_https),
      serial_(worker->NextConnectionSerial()) {
  timer_.target = this;
  buffers_timer_.target = this;
  buffers_timer_.kind = kBuffersTimer;
}

DownstreamConnection::DownstreamConnection(Worker* worker, StreamPort* port, const DownstreamConnection& parent)
    : worker_(worker),
      fd_(-1),
      peer_ip_(parent.peer_ip_),
      peer_trusted_(parent.peer_trusted_),
      tls_base_(nullptr),
      secure_(parent.secure_),
      port_(port),
      stream_over_tls_(parent.transport_.tls()) {
  timer_.target = this;
}

DownstreamConnection::~DownstreamConnection() {
  net::TimerList::Disarm(&timer_);
  net::TimerList::Disarm(&buffers_timer_);
}

void DownstreamConnection::Rebind(StreamPort* port, const DownstreamConnection& parent) {
  // Everything a new stream connection starts with; buffers and strings keep their capacity.
  peer_ip_ = parent.peer_ip_;
  peer_trusted_ = parent.peer_trusted_;
  secure_ = parent.secure_;
  stream_over_tls_ = parent.transport_.tls();
  port_ = port;
  state_ = State::kWaitingRequest;
  closing_after_response_ = draining_ = false;
  watched_ = 0;
  in_.Clear();
  out_.Clear();
  head_.Clear();
  head_progress_.Reset();
  response_progress_.Reset();
  // req_ is Reset when the stream's request starts (ProcessInput), as for every request.
  upstream_ = nullptr;
  up_out_.Clear();
  up_in_.Clear();
  response_head_.Clear();
}

void DownstreamConnection::Start() {
  if (port_ != nullptr) {  // the HTTP/2 connection owns socket, timeouts and counts
    watched_ = EPOLLIN;
    ProcessInput();  // the head is there already
    return;
  }
  worker_->stats().connections_active++;
  worker_->stats().connections_accepted++;
  watched_ = EPOLLIN | EPOLLRDHUP;
  // Plain sockets receive through the ring (before Add: EPOLLIN is then not epoll's). TLS ones
  // keep epoll and the batched read-ahead: through the ring, full handshakes cost ~10 % more
  // CPU (six paired rounds) with keep-alive requests no cheaper.
  if (tls_base_ == nullptr) worker_->loop().ReceiveThroughRing(fd_, 0, this);
  worker_->loop().Add(fd_, watched_, this);
  if (tls_base_ == nullptr) {
    transport_.InitPlain(fd_, &worker_->loop());
    timer_.kind = kIdleTimer;
    worker_->idle_timers().Arm(&timer_, worker_->loop().now_ms());
    return;
  }
  // The handshake gets the header timeout: a client that stalls it is a Slowloris too.
  state_ = State::kHandshake;
  timer_.kind = kHeaderTimer;
  worker_->header_timers().Arm(&timer_, worker_->loop().now_ms());
  if (!transport_.InitTls(fd_, tls_base_, &worker_->loop())) Close();
}

void DownstreamConnection::DriveHandshake() {
  tls::HandshakeError error = tls::HandshakeError::kNone;
  const char* detail = "";
  uint32_t events = EPOLLRDHUP;
  switch (transport_.ContinueHandshake(&error, &detail)) {
    case tls::Transport::Handshake::kDone:
      worker_->stats().tls_handshakes++;
      if (transport_.session_reused()) worker_->stats().tls_resumed++;
      // From here on the record buffers stay while requests (HTTP/1.1) or streams (HTTP/2)
      // keep coming, and go a second after the last one (OnTimer): not a free and two ~17 KB
      // mallocs per request. The timer runs now too: a client may send nothing at all.
      transport_.KeepRecordBuffers();
      worker_->tls_buffer_timers().Arm(&buffers_timer_, worker_->loop().now_ms());
      if (transport_.alpn() == "h2") {
        StartH2("");
        return;
      }
      state_ = State::kWaitingRequest;
      timer_.kind = kIdleTimer;
      worker_->idle_timers().Arm(&timer_, worker_->loop().now_ms());
      OnReadable();  // the request may have come with the client's Finished
      UpdateClientInterest();
      return;
    case tls::Transport::Handshake::kWantRead:
      events |= EPOLLIN;
      break;
    case tls::Transport::Handshake::kWantWrite:
      events |= EPOLLOUT;
      break;
    case tls::Transport::Handshake::kFailed:
      worker_->NoteHandshakeFailure(error, detail, peer_ip_);
      Close();
      return;
  }
  if (events != watched_) {
    worker_->loop().Modify(fd_, events, this);
    watched_ = events;
  }
}

void DownstreamConnection::StartH2(absl::string_view initial) {
  state_ = State::kH2;
  h2_ = std::make_unique<H2Connection>(this);
  h2_->Start(initial);
}

void DownstreamConnection::Drain() {
  draining_ = true;
  if (state_ == State::kH2) {
    h2_->Drain();
    return;
  }
  if ((state_ == State::kWaitingRequest || state_ == State::kHandshake) && out_.empty()) Close();
}

void DownstreamConnection::ProcessInput() {
  while (state_ == State::kWaitingRequest || state_ == State::kReadingHead) {
    http::ParseStatus st;
    if (port_ != nullptr) {
      st = port_->ReadRequestHead(&head_, &parse_error_);  // decoded by the HTTP/2 codec
      if (st == http::ParseStatus::kIncomplete) return;    // the stream is going: Abort follows
    } else {
      if (in_.empty()) {
        UpdateClientInterest();
        return;
      }
      if (state_ == State::kWaitingRequest && worker_->options().h2c && !transport_.tls()) {
        // Prior-knowledge HTTP/2: the connection preface instead of a request line.
        static constexpr absl::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
        const absl::string_view seen = in_.view().substr(0, kPreface.size());
        if (kPreface.substr(0, seen.size()) == seen) {
          if (seen.size() < kPreface.size()) {
            UpdateClientInterest();
            return;
          }
          const std::string initial(in_.view());
          in_.Clear();
          StartH2(initial);
          return;
        }
      }
      if (state_ == State::kWaitingRequest) {
        // The head must now arrive within the header timeout (Slowloris defence).
        state_ = State::kReadingHead;
        timer_.kind = kHeaderTimer;
        worker_->header_timers().Arm(&timer_, worker_->loop().now_ms());
        head_progress_.Reset();
      }
      if (!head_progress_.ShouldParse(in_.view(), worker_->options().limits)) {
        UpdateClientInterest();  // nothing the parser could answer yet: no line ended
        return;
      }
      st = http::ParseRequestHead(in_.view(), worker_->options().limits, &head_, &parse_error_);
      if (st == http::ParseStatus::kIncomplete) {
        UpdateClientInterest();
        return;
      }
    }
    net::TimerList::Disarm(&timer_);
    req_.Reset();
    req_.start_ns = MonotonicNs();
    worker_->stats().requests_in_flight++;
    if (st == http::ParseStatus::kError) {
      worker_->stats().parse_errors++;
      req_.client.ip = peer_ip_;  // no head to take a forwarded address from
      req_.keep_alive = false;
      closing_after_response_ = true;
      in_.Clear();  // never look at anything after a malformed head
      SendLocal(parse_error_.status, "text/plain; charset=utf-8",
                absl::StrCat(parse_error_.reason, "\n"));
    } else {
      HandleRequest();
    }
    if (state_ == State::kLocalResponse) {
      if (!FlushToClient()) return;
      if (!out_.empty()) {
        UpdateClientInterest();
        return;
      }
      FinishRequest();
    }
  }
  UpdateClientInterest();
}

void DownstreamConnection::RecordRequest() {
  const int64_t end_ns = MonotonicNs();
  const double seconds = static_cast<double>(end_ns - req_.start_ns) / 1e9;
  const absl::string_view app = req_.app_id.empty() ? absl::string_view("appNotFound") : absl::string_view(req_.app_id);
  worker_->stats().RecordRequest(app, req_.status, req_.method, seconds);
  ++(port_ != nullptr ? worker_->stats().requests_h2 : worker_->stats().requests_h1);
  worker_->stats().requests_in_flight--;
  if (worker_->options().access_log != "off") {
    std::string line;
    line.reserve(256);
    absl::StrAppend(&line, "{\"time\":\"", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                    "\",\"node\":\"", JsonEscape(worker_->options().node_id), "\",\"app\":\"", JsonEscape(app),
                    "\",\"method\":\"", JsonEscape(req_.method), "\",\"host\":\"", JsonEscape(req_.host),
                    "\",\"path\":\"", JsonEscape(req_.raw_target), "\",\"status\":", req_.status,
                    ",\"bytes\":", req_.response_bytes, ",\"duration_ms\":", seconds * 1000.0,
                    ",\"upstream\":\"", JsonEscape(req_.upstream_label), "\",\"client\":\"", req_.client.ip,
                    "\",\"peer\":\"", peer_ip_,
                    "\",\"proto\":\"", port_ != nullptr ? "h2" : "http/1.1",
                    "\",\"tls\":", (port_ != nullptr ? stream_over_tls_ : transport_.tls()) ? "true" : "false", ",\"worker\":", worker_->index(), "}\n");
    worker_->AppendAccessLog(line);
  }
  if (req_.config != nullptr) worker_->UnrefConfig(req_.config);
  req_.config = nullptr;  // unreferenced: never again, even if Close follows
}

void DownstreamConnection::FinishRequest() {
  RecordRequest();
  state_ = State::kWaitingRequest;  // nothing in flight any more (Close must not count it again)
  if (closing_after_response_ || draining_ || !req_.keep_alive || port_ != nullptr) {
    Close();
    return;
  }
  timer_.kind = kIdleTimer;
  worker_->idle_timers().Arm(&timer_, worker_->loop().now_ms());
  if (transport_.tls()) worker_->tls_buffer_timers().Arm(&buffers_timer_, worker_->loop().now_ms());
  // Idle keep-alive connections give their buffers back (the next request reallocates them;
  // cheaper than holding 16-40 KB per idle client). Pipelined bytes keep in_.
  in_.Release();
  out_.Release();
  if (upstream_ == nullptr) {
    up_in_.Release();
    up_out_.Release();
  }
  UpdateClientInterest();
}

void DownstreamConnection::OnTimer(int kind) {
  if (state_ == State::kClosed) return;
  if (kind == kBuffersTimer) {  // still between requests a second after the last one
    const bool idle = state_ == State::kWaitingRequest || (state_ == State::kH2 && h2_->quiet());
    if (idle && transport_.ReleaseRecordBuffers()) {
      worker_->stats().tls_buffers_released++;
    }
    return;
  }
  if (kind == kRetryTimer) {  // a retry's backoff is over (RetryAttempt)
    if (state_ == State::kProxying && upstream_ == nullptr) ConnectAttempt(req_.retry_fresh);
    return;
  }
  if (state_ == State::kH2) {
    if (kind == kHeaderTimer) {
      h2_->OnHeaderTimer();
    } else {
      h2_->OnIdleTimer();
    }
    return;
  }
  if (state_ == State::kHandshake) {
    worker_->NoteHandshakeFailure(tls::HandshakeError::kTimeout, "handshake timeout", peer_ip_);
    Close();
    return;
  }
  if (kind == kHeaderTimer && state_ == State::kReadingHead && out_.empty()) {
    // 408 with the request counted like any other (app unknown at this point).
    req_.Reset();
    req_.start_ns = MonotonicNs();
    worker_->stats().requests_in_flight++;
    req_.client.ip = peer_ip_;
    closing_after_response_ = true;
    SendLocal(408, "text/plain; charset=utf-8", "request head timeout\n");
    if (FlushToClient() && out_.empty()) FinishRequest();
    return;
  }
  Close();
}

void DownstreamConnection::Close() {
  if (state_ == State::kClosed) return;
  const bool in_flight = state_ == State::kReadingHead ? false
                         : (state_ == State::kProxying || state_ == State::kTunnel ||
                            state_ == State::kLocalResponse || state_ == State::kAwsWaiting);
  if (upstream_ != nullptr) ReleaseUpstream(false);
  EndRetryInFlight();  // one waiting out its backoff
  if (state_ == State::kAwsWaiting) CancelAws();
  if (in_flight) {
    if (req_.status == 0) req_.status = 499;  // client went away before a response (nginx's convention)
    RecordRequest();
  }
  state_ = State::kClosed;
  net::TimerList::Disarm(&timer_);
  net::TimerList::Disarm(&buffers_timer_);
  if (send_queued_) worker_->loop().CancelSend(this);  // what was not sent is dropped, as before
  send_queued_ = false;
  req_.compressor.reset();  // codec state (up to ~1 MB) is not kept by pooled or closing connections
  if (port_ != nullptr) {
    port_->ExchangeClosed();
    port_ = nullptr;
    // Pooled, not deleted, once nothing on the stack can still refer to it.
    DownstreamConnection* self = this;
    Worker* worker = worker_;
    worker_->DeferDelete([worker, self] { worker->RecycleStreamConnection(self); });
    return;
  }
  h2_.reset();  // resets its streams (their exchanges end as 499) before the socket goes
  worker_->loop().Remove(fd_);
  transport_.Shutdown();
  worker_->loop().CloseSocket(fd_);
  fd_ = -1;
  worker_->stats().connections_active--;
  worker_->OnConnectionClosed(this);
}

}  // namespace edgerouter::proxy
