// The proxying half of DownstreamConnection, origin side: choosing an origin, connecting (with
// retries), forwarding the request and its body with backpressure, reading from the origin,
// and failures. What is relayed back to the client is in proxy_response.cc.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dataplane/http/forwarding.h"
#include "dataplane/proxy/http_session.h"
#include "dataplane/proxy/worker.h"

namespace edgerouter::proxy {
namespace {

bool IsIdempotent(absl::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE" || method == "TRACE";
}

// One read from the origin (TLS or plain): >0 bytes, 0 EOF, -1 would block, -2 error.
ssize_t ReadUpstream(UpstreamConnection* conn, IoBuffer* buffer) {
  char* dst = buffer->Reserve(kReadChunk);
  ssize_t n = conn->Read(dst, buffer->writable());
  if (n > 0) buffer->Commit(n);
  return n;
}

// One chunk of a chunked body (RFC 9112 §7.1); nothing for no bytes (a zero-size chunk ends it).
void AppendChunk(absl::string_view data, IoBuffer* out) {
  if (data.empty()) return;
  char size[24];
  const int n = std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  out->Append(absl::string_view(size, static_cast<size_t>(n)));
  out->Append(data);
  out->Append("\r\n");
}

}  // namespace

void DownstreamConnection::StartProxy(const BackendConfig& backend, const std::string& path) {
  state_ = State::kProxying;
  backend_ = &backend;
  if (backend.origins.empty()) {
    SendLocal(502, "text/plain; charset=utf-8", "no origins\n");
    return;
  }
  origins_ = worker_->pools().Get(backend, &worker_->loop(), &worker_->stats(),
                                  &worker_->upstream_idle_timers(),
                                  [w = worker_](std::function<void()> fn) { w->DeferDelete(std::move(fn)); },
                                  worker_->loop().now_ms());
  const http::RequestHead& h = head_;
  // Origin-independent parts, built once; the request line and Host are added per attempt.
  upstream_path_ = path;
  if (!backend.index_document.empty() && !upstream_path_.empty() && upstream_path_.back() == '/') {
    upstream_path_ += backend.index_document;
  }
  if (!backend.remove_query_string && !h.query.empty()) absl::StrAppend(&upstream_path_, "?", h.query);
  client_host_header_.assign(h.host.data(), h.host.size());

  std::string& out = upstream_headers_;
  out.clear();
  // Host and Content-Length are written here: the Host per attempt, the length as framed.
  const http::ForwardingContext ctx{&client_, secure_, strip_authorization_, /*keep_message_fields=*/false};
  http::ForwardedFields(h, ctx).ForEach([&](absl::string_view name, absl::string_view value) {
    for (const auto& [forced_name, forced_value] : backend.headers_to_origin) {
      if (absl::EqualsIgnoreCase(name, forced_name)) return;  // the app's value wins
    }
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  });
  for (const auto& [name, value] : backend.headers_to_origin) absl::StrAppend(&out, name, ": ", value, "\r\n");
  if (h.framing == http::BodyFraming::kContentLength) {
    absl::StrAppend(&out, "Content-Length: ", h.content_length, "\r\n");
  } else if (h.framing == http::BodyFraming::kChunked || h.framing == http::BodyFraming::kUntilStreamEnd) {
    out += "Transfer-Encoding: chunked\r\n";
  }
  if (upgrade_requested_) {
    const http::Header* upgrade = h.Find("Upgrade");
    absl::StrAppend(&out, "Connection: upgrade\r\nUpgrade: ", upgrade ? upgrade->value : "", "\r\n");
  }
  out += "\r\n";
  attempts_ = 0;
  origin_index_ = -1;
  request_sent_any_body_ = false;
  ConnectAttempt();
}

void DownstreamConnection::ConnectAttempt(bool fresh) {
  const int64_t now = worker_->loop().now_ms();
  const int previous = origin_index_;
  origin_index_ = origins_->Pick(now, origin_index_);
  fresh = fresh && origin_index_ == previous;  // another origin's pool is not suspect
  ++attempts_;
  const Origin& origin = backend_->origins[origin_index_];
  upstream_label_ = origin.url;
  std::string error;
  upstream_ = origins_->Acquire(origin_index_, &error, fresh);
  if (upstream_ == nullptr) {
    worker_->stats().origin(origin.url).connect_errors++;
    UpstreamFailed(502, error, true);
    return;
  }
  origins_->state(origin_index_).outstanding++;
  upstream_->SetOwner(this);
  up_out_.Clear();
  upstream_write_failed_ = false;
  upstream_line_.clear();
  absl::StrAppend(&upstream_line_, method_, " ", origin.path_prefix, upstream_path_, " HTTP/1.1\r\nHost: ",
                  backend_->pass_host_header ? absl::string_view(client_host_header_) : absl::string_view(origin.authority),
                  "\r\n");
  up_out_.Append(upstream_line_);
  up_out_.Append(upstream_headers_);
  up_in_.Clear();
  response_progress_.Reset();
  response_head_done_ = false;
  response_done_ = false;
  upstream_eof_ = false;
  response_chunks_.Reset();
  if (!upstream_->connected) {
    upstream_->timer.kind = kConnectTimer;  // covers the TLS handshake too
    worker_->connect_timers().Arm(&upstream_->timer, now);
    if (upstream_->tcp_connected) {
      StepTls();
    } else {
      upstream_->WatchEvents(EPOLLOUT | EPOLLRDHUP);
    }
  } else {
    OnUpstreamConnected();
  }
}

void DownstreamConnection::StepTls() {
  std::string error;
  SSL_CTX* ctx = origins_->tls_context(&error);
  UpstreamConnection::Handshake step =
      ctx == nullptr ? UpstreamConnection::Handshake::kFailed
                     : upstream_->ContinueHandshake(ctx, backend_->origins[origin_index_], *backend_, &error);
  switch (step) {
    case UpstreamConnection::Handshake::kDone:
      OnUpstreamConnected();
      return;
    case UpstreamConnection::Handshake::kWantRead:
      upstream_->WatchEvents(EPOLLIN | EPOLLRDHUP);
      return;
    case UpstreamConnection::Handshake::kWantWrite:
      upstream_->WatchEvents(EPOLLOUT | EPOLLRDHUP);
      return;
    case UpstreamConnection::Handshake::kFailed:
      worker_->stats().origin(upstream_label_).connect_errors++;
      UpstreamFailed(502, absl::StrCat("TLS handshake with ", upstream_label_, ": ", error), true);
      return;
  }
}

void DownstreamConnection::OnUpstreamConnected() {
  upstream_->connected = true;
  upstream_->timer.kind = kResponseTimer;
  worker_->response_timers().Arm(&upstream_->timer, worker_->loop().now_ms());
  if (expect_continue_ && !request_body_done_) {
    out_.Append("HTTP/1.1 100 Continue\r\n\r\n");
    expect_continue_ = false;
    if (!FlushToClient()) return;
  }
  PumpRequestBody();
  if (!FlushToUpstream()) return;
  UpdateUpstreamInterest();
  UpdateClientInterest();
}

void DownstreamConnection::PumpRequestBody() {
  if (upstream_ == nullptr || !upstream_->connected || upstream_write_failed_) return;
  const uint64_t max_body = worker_->options().max_request_body_bytes;
  // Bodies without a length (chunked, or an HTTP/2 stream's) are counted as they pass.
  auto over_limit = [&] {
    if (max_body == 0 || request_chunked_bytes_ <= max_body) return false;
    // Over the limit mid-stream: a 413 if the origin has not answered yet, else just stop.
    if (response_head_done_) {
      Close();
      return true;
    }
    closing_after_response_ = true;
    ReleaseUpstream(false);
    in_.Clear();
    request_body_done_ = true;
    SendLocal(413, "text/plain; charset=utf-8", "request body too large\n");
    if (FlushToClient() && out_.empty()) FinishRequest();
    return true;
  };
  while (!request_body_done_ && !in_.empty() && up_out_.size() < kMaxPending) {
    absl::string_view available = in_.view().substr(0, kMaxPending - up_out_.size());
    size_t n = 0;
    if (request_framing_ == http::BodyFraming::kContentLength) {
      n = std::min<uint64_t>(available.size(), request_remaining_);
      request_remaining_ -= n;
      if (request_remaining_ == 0) request_body_done_ = true;
      up_out_.Append(available.substr(0, n));
    } else if (request_framing_ == http::BodyFraming::kUntilStreamEnd) {
      n = available.size();  // DATA payloads as received; the origin gets them chunked
      request_chunked_bytes_ += n;
      if (over_limit()) return;
      AppendChunk(available, &up_out_);
    } else {
      n = request_chunks_.Feed(available, [this](absl::string_view data) { request_chunked_bytes_ += data.size(); });
      if (over_limit()) return;
      if (request_chunks_.state() == http::ChunkedDecoder::State::kError) {
        worker_->stats().parse_errors++;
        closing_after_response_ = true;
        ReleaseUpstream(false);
        in_.Clear();
        request_body_done_ = true;
        SendLocal(400, "text/plain; charset=utf-8", absl::StrCat(request_chunks_.error(), "\n"));
        if (FlushToClient() && out_.empty()) FinishRequest();
        return;
      }
      if (request_chunks_.state() == http::ChunkedDecoder::State::kDone) request_body_done_ = true;
      up_out_.Append(available.substr(0, n));
    }
    in_.Consume(n);
    request_sent_any_body_ = true;
  }
  if (!request_body_done_ && request_framing_ == http::BodyFraming::kUntilStreamEnd && in_.empty() &&
      port_ != nullptr && port_->RequestEnded()) {
    up_out_.Append("0\r\n\r\n");
    request_body_done_ = true;
  }
}

bool DownstreamConnection::FlushToUpstream() {
  if (upstream_ == nullptr) return false;
  while (!up_out_.empty()) {
    ssize_t n = upstream_->Write(up_out_.view().data(), up_out_.size());
    if (n > 0) {
      up_out_.Consume(n);
      continue;
    }
    if (n == -1) break;
    if (state_ == State::kTunnel) {  // the origin end of an upgraded connection is gone
      Close();
      return false;
    }
    if (!response_head_done_ && up_in_.empty() && upstream_->reused && IsIdempotent(method_) &&
        !request_sent_any_body_ && attempts_ < 3) {
      // A pooled connection the origin had closed (reset on our write): retry on a new one.
      ReleaseUpstream(false);
      ConnectAttempt(/*fresh=*/true);
      return false;
    }
    if (response_head_done_) {
      Close();
      return false;
    }
    // The origin went away while we were sending. It may have answered first (a 413 before
    // reading the body, then a close that resets our write): read what it said before
    // deciding on a 502. Nothing more is sent, and the connection ends after this response.
    const std::string error = absl::StrCat("write to upstream: ", std::strerror(errno));
    upstream_write_failed_ = true;
    up_out_.Clear();
    closing_after_response_ = true;
    UpstreamConnection* const failed = upstream_;
    OnUpstreamReadable();  // may also retry on another origin (then upstream_ changed)
    if (state_ == State::kProxying && upstream_ == failed && !response_head_done_) {
      UpstreamFailed(502, error, false);
    }
    return false;
  }
  return true;
}

void DownstreamConnection::UpdateUpstreamInterest() {
  // While connecting (TCP or TLS), ConnectAttempt/StepTls own the interest set.
  if (upstream_ == nullptr || !upstream_->connected) return;
  // Hang-up only with reading: the origin closing is seen when its bytes are read, and a
  // level-triggered EPOLLRDHUP we cannot act on (slow client) would fire in a loop.
  uint32_t events = 0;
  if (!upstream_->connected || !up_out_.empty()) events |= EPOLLOUT;
  if (upstream_->connected && !response_done_ && out_.size() < kMaxPending) events |= EPOLLIN | EPOLLRDHUP;
  upstream_->WatchEvents(events);
}

void DownstreamConnection::OnUpstreamIo(UpstreamConnection* conn, uint32_t events) {
  if (conn != upstream_ || state_ == State::kClosed) return;
  if (!upstream_->connected) {
    if (!upstream_->tcp_connected) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(upstream_->fd(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (events & EPOLLERR)) {
        worker_->stats().origin(upstream_label_).connect_errors++;
        UpstreamFailed(502, absl::StrCat("connect ", upstream_label_, ": ", std::strerror(err ? err : ECONNREFUSED)), true);
        return;
      }
      if (!(events & EPOLLOUT)) return;
      upstream_->tcp_connected = true;
      if (!backend_->origins[origin_index_].tls) {
        OnUpstreamConnected();
        return;
      }
    }
    StepTls();
    return;
  }
  if (events & (EPOLLHUP | EPOLLERR)) upstream_->hung_up = true;  // never back into the pool
  if ((events & (EPOLLHUP | EPOLLERR)) && out_.size() >= kMaxPending &&
      (state_ == State::kTunnel || state_ == State::kProxying)) {
    upstream_->Park();  // read it once the slow client has taken what is already queued
    return;
  }
  if (state_ == State::kTunnel) {
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      ssize_t n = ReadUpstream(upstream_, &up_in_);
      if (n == 0 || n == -2) {
        Close();
        return;
      }
    }
    PumpTunnel();
    return;
  }
  if (events & EPOLLOUT) {
    if (!FlushToUpstream()) return;
    PumpRequestBody();
    if (!FlushToUpstream()) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) OnUpstreamReadable();
  if (upstream_ != nullptr) UpdateUpstreamInterest();
  UpdateClientInterest();
}

void DownstreamConnection::OnUpstreamReadable() {
  if (out_.size() >= kMaxPending) return;  // the client is slow: leave it in the socket
  ssize_t n = ReadUpstream(upstream_, &up_in_);
  // Decrypted TLS records are invisible to epoll: drain what OpenSSL already holds.
  while (n > 0 && upstream_->has_buffered_input() && up_in_.size() < kMaxPending) {
    ssize_t more = ReadUpstream(upstream_, &up_in_);
    if (more <= 0) {
      if (more == 0 || more == -2) n = more;
      break;
    }
  }
  if (n == -1) return;
  if (n > 0) worker_->response_timers().Arm(&upstream_->timer, worker_->loop().now_ms());
  if (n == 0 || n == -2) upstream_eof_ = true;
  if (!response_head_done_) HandleResponseHead();
  if (state_ != State::kProxying || upstream_ == nullptr) return;
  if (response_head_done_) PumpResponseBody();
  if (state_ != State::kProxying || upstream_ == nullptr) return;
  if (upstream_eof_ && !response_done_) {
    if (!response_head_done_) {
      // Not one response byte: an idempotent request without a body can go again, to another
      // origin when there is one (ConnectAttempt's Pick avoids the one just tried). On a
      // pooled connection the origin had likely just closed it (not its fault); on a new one
      // it died or dropped the request (a kill -9 under load), which counts for its health.
      const bool retry = up_in_.empty() && IsIdempotent(method_) && !request_sent_any_body_ && attempts_ < 3;
      if (retry) {
        if (!upstream_->reused) {
          worker_->stats().origin(upstream_label_).protocol_errors++;
          origins_->ReportFailure(origin_index_, worker_->loop().now_ms(), OriginSet::Failure::kConnect);
        }
        ReleaseUpstream(false);
        // A new connection if it is the same origin: idle siblings were likely closed too.
        ConnectAttempt(/*fresh=*/true);
        return;
      }
      worker_->stats().origin(upstream_label_).protocol_errors++;
      UpstreamFailed(502, "upstream closed the connection before responding", false);
      return;
    }
    if (response_framing_ == http::BodyFraming::kUntilClose) {
      response_done_ = true;
    } else {
      // Truncated body: the client must not take it for a complete response.
      worker_->stats().origin(upstream_label_).protocol_errors++;
      Close();
      return;
    }
  }
  if (response_done_) {
    ReleaseUpstream(response_head_.keep_alive && request_body_done_ && up_in_.empty() && !upstream_eof_);
    if (!request_body_done_) closing_after_response_ = true;
    if (!FlushToClient()) return;
    if (out_.empty()) {
      FinishRequest();
      if (state_ == State::kWaitingRequest) ProcessInput();
    }
  }
}

void DownstreamConnection::ReleaseUpstream(bool reusable) {
  if (upstream_ == nullptr) return;
  UpstreamConnection* conn = upstream_;
  // A connection that refused a write or reported a hang-up is dead, whatever its response said.
  reusable = reusable && !upstream_write_failed_ && !conn->hung_up;
  upstream_ = nullptr;
  net::TimerList::Disarm(&conn->timer);
  if (origins_ != nullptr) {
    origins_->state(conn->origin_index()).outstanding--;
    conn->requests++;
    origins_->Release(conn, reusable);
  } else {
    conn->Close();
  }
}

void DownstreamConnection::UpstreamFailed(int status, absl::string_view reason, bool connect_failure) {
  if (connect_failure && origins_ != nullptr && origin_index_ >= 0) {
    origins_->ReportFailure(origin_index_, worker_->loop().now_ms(), OriginSet::Failure::kConnect);
  }
  ReleaseUpstream(false);
  const bool can_retry = connect_failure && attempts_ < 2 && backend_ != nullptr &&
                         backend_->origins.size() > 1 && IsIdempotent(method_) && !request_sent_any_body_;
  if (can_retry) {
    ConnectAttempt();
    return;
  }
  upstream_error_.assign(reason.data(), reason.size());
  std::fprintf(stderr, "level=WARN msg=\"upstream error\" app=%s origin=%s status=%d reason=\"%s\"\n",
               app_id_.c_str(), upstream_label_.c_str(), status, upstream_error_.c_str());
  if (response_head_done_) {
    Close();
    return;
  }
  if (!request_body_done_) closing_after_response_ = true;
  SendLocal(status, "text/plain; charset=utf-8", status == 504 ? "Gateway Timeout\n" : "Bad Gateway\n");
  if (!FlushToClient()) return;
  if (out_.empty()) {
    FinishRequest();
    if (state_ == State::kWaitingRequest) ProcessInput();
  } else {
    UpdateClientInterest();
  }
}

void DownstreamConnection::OnUpstreamTimer(UpstreamConnection* conn, int kind) {
  if (conn != upstream_ || state_ == State::kClosed) return;
  if (kind == kConnectTimer) {
    worker_->stats().origin(upstream_label_).connect_errors++;
    UpstreamFailed(502, absl::StrCat("connect ", upstream_label_, ": timeout"), true);
    return;
  }
  worker_->stats().origin(upstream_label_).timeouts++;
  if (!response_head_done_) {
    UpstreamFailed(504, "upstream response timeout", false);
  } else {
    Close();
  }
}

}  // namespace edgerouter::proxy
