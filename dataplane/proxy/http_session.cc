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
      if (transport_.alpn() == "h2") {
        StartH2("");
        return;
      }
      state_ = State::kWaitingRequest;
      timer_.kind = kIdleTimer;
      worker_->idle_timers().Arm(&timer_, worker_->loop().now_ms());
      // Record buffers stay while requests keep coming and go after a second without one
      // (FinishRequest, OnTimer): not a free and two ~17 KB mallocs per request.
      transport_.KeepRecordBuffers();
      worker_->tls_buffer_timers().Arm(&buffers_timer_, worker_->loop().now_ms());
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
  // One connection carries many streams: its record buffers stay until a second without one
  // (also before the first: a client may open a connection and send nothing).
  transport_.KeepRecordBuffers();
  if (transport_.tls()) worker_->tls_buffer_timers().Arm(&buffers_timer_, worker_->loop().now_ms());
  h2_ = std::make_unique<H2Connection>(this);
  h2_->Start(initial);
}

ssize_t DownstreamConnection::ReadSome() {
  if (port_ != nullptr) return port_->ReadRequest(&in_);
  ssize_t ahead;
  const bool took = read_ahead_.Take(worker_->loop().turn(), &ahead);
  if (took && !transport_.tls()) return ahead;  // already in in_
  // TLS: the loop's read is ciphertext for OpenSSL, and no syscall follows it this turn.
  transport_.ReadFromAheadOnly(took);
  // Drains what OpenSSL already holds (epoll will never announce it), but at most the read
  // budget per call: UpdateClientInterest comes back for the rest (ReadSoon).
  ssize_t total = 0;
  for (;;) {
    char* dst = in_.Reserve(kReadChunk);
    const ssize_t n = transport_.Read(dst, in_.writable());
    if (n <= 0) {
      if (total == 0) total = n;
      break;
    }
    in_.Commit(n);
    total += n;
    if (!transport_.has_pending() || static_cast<size_t>(total) >= worker_->options().read_budget_bytes) break;
  }
  transport_.ReadFromAheadOnly(false);
  return total;
}

void DownstreamConnection::Drain() {
  draining_ = true;
  if (state_ == State::kH2) {
    h2_->Drain();
    return;
  }
  if ((state_ == State::kWaitingRequest || state_ == State::kHandshake) && out_.empty()) Close();
}

void DownstreamConnection::UpdateClientInterest() {
  if (state_ == State::kClosed || state_ == State::kHandshake || state_ == State::kH2) return;
  uint32_t events = EPOLLRDHUP;
  if ((!out_.empty() && !send_queued_) || transport_.read_wants_write()) events |= EPOLLOUT;
  if (transport_.write_wants_read()) events |= EPOLLIN;
  switch (state_) {
    case State::kWaitingRequest:
    case State::kReadingHead:
      if (out_.empty()) events |= EPOLLIN;
      break;
    case State::kProxying:
    case State::kLocalResponse:
      // Reading stays on while the body flows, and afterwards too: pipelined bytes are simply
      // buffered, which saves two epoll_ctl calls per keep-alive request.
      if (!req_.body_done) {
        if (state_ == State::kProxying && upstream_ != nullptr && upstream_->connected &&
            !req_.upstream_write_failed && up_out_.size() < kMaxPending) {
          events |= EPOLLIN;
        }
      } else if (in_.size() < kMaxPending) {
        events |= EPOLLIN;
      }
      break;
    case State::kTunnel:
      if (up_out_.size() < kMaxPending) events |= EPOLLIN;
      break;
    case State::kAwsWaiting:
      if (AwsWantsBody()) events |= EPOLLIN;  // a Lambda request body being buffered
      break;
    default:
      break;
  }
  if (port_ != nullptr) {  // no socket: the port delivers while EPOLLIN is wanted
    const bool newly_wanted = (events & EPOLLIN) && !(watched_ & EPOLLIN);
    watched_ = events;
    if (newly_wanted) port_->InputWanted();
    return;
  }
  if (events != watched_) {
    worker_->loop().Modify(fd_, events, this);
    watched_ = events;
  }
  if ((events & EPOLLIN) && transport_.readable_without_event()) worker_->ReadSoon(this);
}

void DownstreamConnection::OnIo(uint32_t events) {
  if (state_ == State::kClosed) return;
  if (state_ == State::kH2) {
    h2_->OnIo(events);
    return;
  }
  if (events & EPOLLERR) {
    if (state_ == State::kHandshake) {
      worker_->NoteHandshakeFailure(tls::HandshakeError::kEof, "socket error", peer_ip_);
    }
    Close();
    return;
  }
  if (state_ == State::kHandshake) {
    DriveHandshake();
    return;
  }
  // TLS may need the opposite readiness to make progress (see tls::Transport).
  if ((events & EPOLLOUT) || ((events & EPOLLIN) && transport_.write_wants_read())) {
    if (!FlushToClient()) return;
    if (out_.empty()) {
      if (state_ == State::kLocalResponse || (state_ == State::kProxying && req_.response_done)) {
        FinishRequest();
        if (state_ == State::kWaitingRequest) ProcessInput();
        return;
      }
      if (state_ == State::kProxying) PumpResponseBody();
      if (state_ == State::kTunnel) PumpTunnel();
      if (upstream_ != nullptr) UpdateUpstreamInterest();
    }
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) || ((events & EPOLLOUT) && transport_.read_wants_write())) {
    OnReadable();
  }
  UpdateClientInterest();
}

bool DownstreamConnection::WantsBytes() const {
  return state_ == State::kWaitingRequest || state_ == State::kReadingHead || state_ == State::kTunnel ||
         (state_ == State::kProxying && !req_.body_done) || AwsWantsBody();
}

net::ReadTarget DownstreamConnection::ReadAheadTarget() {
  // Where OnReadable would read now (the same conditions); handshakes and HTTP/2 read by
  // themselves. TLS reads ciphertext into the transport.
  if (port_ != nullptr || state_ == State::kClosed || state_ == State::kHandshake || state_ == State::kH2 ||
      (!WantsBytes() && in_.size() >= kMaxPending)) {
    return {};
  }
  if (transport_.tls()) {
    size_t len = 0;
    char* dst = transport_.ReadAheadBuffer(&len);
    return {fd_, dst, len};
  }
  char* dst = in_.Reserve(kReadChunk);
  return {fd_, dst, in_.writable()};
}

void DownstreamConnection::OnReadAhead(ssize_t result) {
  if (transport_.tls()) {
    transport_.OnReadAhead(result);
  } else if (result > 0) {
    in_.Commit(static_cast<size_t>(result));
  }
  read_ahead_.Set(result, worker_->loop().turn());
}

void DownstreamConnection::OnReadable() {
  if (state_ == State::kClosed) return;
  if (!WantsBytes()) {
    // Not needed now (pipelined next request): buffer it, and notice a client that went away.
    if (in_.size() >= kMaxPending) return;
    ssize_t n = ReadSome();
    if (n == 0 || n == -2) Close();
    return;
  }
  ssize_t n = ReadSome();
  if (n == 0 || n == -2) {
    Close();
    return;
  }
  // A stream's body may end without new bytes (END_STREAM on its own): that is news too.
  if (n < 0 && (port_ == nullptr || !port_->RequestEnded())) return;
  if (state_ == State::kWaitingRequest || state_ == State::kReadingHead) {
    ProcessInput();
  } else if (state_ == State::kProxying) {
    PumpRequestBody();
    if (upstream_ != nullptr && !FlushToUpstream()) return;
    if (upstream_ != nullptr) UpdateUpstreamInterest();
  } else if (state_ == State::kTunnel) {
    PumpTunnel();
  } else if (state_ == State::kAwsWaiting) {
    PumpAwsBody();
  }
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

bool DownstreamConnection::FlushToClient() {
  if (port_ != nullptr) {
    if (port_->WriteResponse(&out_)) return true;
    Close();
    return false;
  }
  if (!send_blocked_ && worker_->loop().batches_io()) {
    // Sent with the turn's other writes; OnWritten carries on as EPOLLOUT would.
    if (!out_.empty() && !send_queued_) {
      send_queued_ = true;
      worker_->loop().SendSoon(this);
    }
    return true;
  }
  while (!out_.empty()) {
    const ssize_t n = transport_.Write(out_.view().data(), out_.size());
    if (n > 0) {
      out_.Consume(n);
    } else if (n == -1) {
      return true;  // EPOLLOUT (or EPOLLIN for TLS) resumes
    } else {
      Close();
      return false;
    }
  }
  send_blocked_ = false;
  return true;
}

net::WriteSource DownstreamConnection::PendingWrite() {
  if (state_ == State::kClosed) return {};
  const absl::string_view bytes = transport_.EncryptForSend(out_.view().data(), out_.size());  // TLS: records
  return {fd_, bytes.data(), bytes.size()};
}

void DownstreamConnection::OnWritten(ssize_t result) {
  send_queued_ = false;
  if (state_ == State::kClosed) return;
  const ssize_t sent = transport_.Sent(result);  // plaintext bytes now on the socket
  if (sent == -EAGAIN || sent == -EWOULDBLOCK || sent == -EINTR) {
    send_blocked_ = true;
  } else if (sent < 0) {
    Close();
    return;
  } else if (result == 0) {
    return;  // nothing was sent
  } else {
    out_.Consume(static_cast<size_t>(sent));
    send_blocked_ = !out_.empty();  // the socket is full: plain writes on EPOLLOUT from here
  }
  OnIo(EPOLLOUT);  // what EPOLLOUT does: the next response, more body, or the interest update
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
