// The proxying half of DownstreamConnection, origin side: choosing an origin, connecting,
// forwarding the request and its body with backpressure, reading from the origin. A failed
// attempt (retry or answer) is upstream_failures.cc; what is relayed back to the client is
// proxy_response.cc.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "dataplane/backends/reverse_proxy/retry.h"
#include "dataplane/backends/reverse_proxy/sticky.h"
#include "dataplane/http/forwarding.h"
#include "dataplane/proxy/http_session.h"
#include "dataplane/proxy/worker.h"

namespace edgerouter::proxy {
namespace {

// One read from the origin (TLS or plain): >0 bytes, 0 EOF, -1 would block, -2 error.
ssize_t ReadUpstream(UpstreamConnection* conn, IoBuffer* buffer) {
  ssize_t n;
  if (conn->TakeReadAhead(&n)) return n;  // already in `buffer` (OnUpstreamReadAhead)
  char* dst = buffer->Reserve(kReadChunk);
  n = conn->Read(dst, buffer->writable());
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

using FieldRef = std::pair<absl::string_view, absl::string_view>;

// Writes the fields, then an optional Content-Length, into `out` with one resize: appending
// piece by piece is an out-of-line std::string call per name, separator, value and CRLF.
void WriteFields(absl::Span<const FieldRef> fields, absl::string_view content_length, std::string* out) {
  size_t size = 0;
  for (const auto& [name, value] : fields) size += RawWriter::FieldSize(name, value);
  if (!content_length.empty()) size += RawWriter::FieldSize("Content-Length", content_length);
  const size_t at = out->size();
  out->resize(at + size);
  RawWriter w(out->data() + at);
  for (const auto& [name, value] : fields) w.Field(name, value);
  if (!content_length.empty()) w.Field("Content-Length", content_length);
}

}  // namespace

void DownstreamConnection::StartProxy(const backends::ProxyTarget& backend, const std::string& path) {
  state_ = State::kProxying;
  req_.backend = &backend;
  if (backend.origins.empty()) {
    SendLocal(502, "text/plain; charset=utf-8", "no origins\n");
    return;
  }
  req_.origins = worker_->pools().Find(backend, worker_->loop().now_ms());
  if (req_.origins == nullptr) {
    req_.origins = worker_->pools().Add(backend, &worker_->loop(), &worker_->stats(), &worker_->upstream_idle_timers(),
                                        [w = worker_](std::function<void()> fn) { w->DeferDelete(std::move(fn)); },
                                        worker_->loop().now_ms());
  }
  const http::RequestHead& h = head_;
  // Origin-independent parts, built once; the request line and Host are added per attempt.
  req_.upstream_path = path;
  if (!backend.index_document.empty() && !req_.upstream_path.empty() && req_.upstream_path.back() == '/') {
    req_.upstream_path += backend.index_document;
  }
  if (!backend.remove_query_string && !h.query.empty()) absl::StrAppend(&req_.upstream_path, "?", h.query);
  req_.client_host_header.assign(h.host.data(), h.host.size());

  std::string& out = req_.upstream_headers;
  out.clear();
  // Host and Content-Length are written here: the Host per attempt, the length as framed.
  const http::ForwardingContext ctx{&req_.client, secure_, req_.strip_authorization, /*keep_message_fields=*/false};
  const pipeline::RequestHeaderEdit* edit = req_.request_edit;  // a headers policy's (rarely set)
  absl::InlinedVector<FieldRef, 32> fields;
  http::ForwardedFields(h, ctx).ForEach([&](absl::string_view name, absl::string_view value) {
    for (const auto& [forced_name, forced_value] : backend.headers_to_origin) {
      if (absl::EqualsIgnoreCase(name, forced_name)) return;  // the app's value wins
    }
    if (edit != nullptr && edit->Removes(name)) return;
    fields.emplace_back(name, value);
  });
  for (const auto& [name, value] : backend.headers_to_origin) {
    if (edit == nullptr || !edit->Removes(name)) fields.emplace_back(name, value);
  }
  if (edit != nullptr) {
    for (const auto& [name, value] : edit->add) fields.emplace_back(name, value);
  }
  const absl::AlphaNum length(h.content_length);  // formatted into its own buffer, no allocation
  WriteFields(fields, h.framing == http::BodyFraming::kContentLength ? length.Piece() : absl::string_view(), &out);
  if (h.framing == http::BodyFraming::kChunked || h.framing == http::BodyFraming::kUntilStreamEnd) {
    out += "Transfer-Encoding: chunked\r\n";
  }
  if (req_.upgrade) {
    const http::Header* upgrade = h.Find("Upgrade");
    absl::StrAppend(&out, "Connection: upgrade\r\nUpgrade: ", upgrade ? upgrade->value : "", "\r\n");
  }
  out += "\r\n";
  req_.attempts = 0;
  req_.origin_index = -1;
  req_.sent_any_body = false;
  if (backend.sticky.has_value()) {
    for (const http::Header& field : h.headers) {
      if (!absl::EqualsIgnoreCase(field.name, "cookie")) continue;
      std::optional<absl::string_view> id = backends::FindCookie(field.value, backend.sticky->cookie_name);
      if (!id.has_value()) continue;
      for (size_t i = 0; i < backend.sticky_ids.size(); ++i) {
        if (backend.sticky_ids[i] == *id) req_.sticky_index = static_cast<int>(i);
      }
    }
  }
  ConnectAttempt();
}

void DownstreamConnection::ConnectAttempt(bool fresh) {
  const int64_t now = worker_->loop().now_ms();
  const int previous = req_.origin_index;
  // A sticky session stays on its origin while that one may take requests; otherwise it moves
  // (and the response names its new origin).
  if (previous < 0 && req_.sticky_index >= 0 && req_.origins->Usable(req_.sticky_index, now, true)) {
    req_.origin_index = req_.sticky_index;
  } else {
    req_.origin_index = req_.origins->Pick(now, req_.origin_index);
  }
  fresh = fresh && req_.origin_index == previous;  // another origin's pool is not suspect
  ++req_.attempts;
  const Origin& origin = req_.backend->origins[req_.origin_index];
  req_.upstream_label = origin.url;
  std::string error;
  upstream_ = req_.origins->Acquire(req_.origin_index, &error, fresh);
  if (upstream_ == nullptr) {
    worker_->stats().origin(origin.url).connect_errors++;
    UpstreamFailed(502, error, true);
    return;
  }
  req_.origins->state(req_.origin_index).outstanding++;
  upstream_->SetOwner(this);
  up_out_.Clear();
  req_.upstream_write_failed = false;
  // Request line and Host (per attempt: the origin's prefix and authority), straight into the
  // origin buffer, then the origin-independent fields built once by StartProxy.
  const absl::string_view host =
      req_.backend->pass_host_header ? absl::string_view(req_.client_host_header) : absl::string_view(origin.authority);
  RawWriter w(up_out_.Reserve(req_.method.size() + origin.path_prefix.size() + req_.upstream_path.size() +
                              host.size() + req_.upstream_headers.size() + 24));
  w.Put(req_.method);
  w.Put(" ");
  w.Put(origin.path_prefix);
  w.Put(req_.upstream_path);
  w.Put(" HTTP/1.1\r\nHost: ");
  w.Put(host);
  w.Put2('\r', '\n');
  w.Put(req_.upstream_headers);
  up_out_.Commit(w.written());
  up_in_.Clear();
  response_progress_.Reset();
  req_.response_head_done = false;
  req_.response_done = false;
  req_.upstream_eof = false;
  req_.response_chunks.Reset();
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
  SSL_CTX* ctx = req_.origins->tls_context(&error);
  UpstreamConnection::Handshake step =
      ctx == nullptr ? UpstreamConnection::Handshake::kFailed
                     : upstream_->ContinueHandshake(ctx, req_.backend->origins[req_.origin_index], *req_.backend, &error);
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
      worker_->stats().origin(req_.upstream_label).connect_errors++;
      UpstreamFailed(502, absl::StrCat("TLS handshake with ", req_.upstream_label, ": ", error), true);
      return;
  }
}

void DownstreamConnection::OnUpstreamConnected() {
  upstream_->connected = true;
  upstream_->ReceiveThroughRing();
  upstream_->timer.kind = kResponseTimer;
  if (req_.backend->retry.has_value() && req_.backend->retry->per_try_timeout_ms > 0) {
    // Until the first response byte; then the data plane's response timeout (see OnUpstreamReadable).
    worker_->deadline_timers().ArmAt(&upstream_->timer, worker_->loop().now_ms() + req_.backend->retry->per_try_timeout_ms);
  } else {
    worker_->response_timers().Arm(&upstream_->timer, worker_->loop().now_ms());
  }
  if (req_.expect_continue && !req_.body_done) {
    out_.Append("HTTP/1.1 100 Continue\r\n\r\n");
    req_.expect_continue = false;
    if (!FlushToClient()) return;
  }
  PumpRequestBody();
  if (!FlushToUpstream()) return;
  UpdateUpstreamInterest();
  UpdateClientInterest();
}

void DownstreamConnection::PumpRequestBody() {
  if (upstream_ == nullptr || !upstream_->connected || req_.upstream_write_failed) return;
  const uint64_t max_body = worker_->options().max_request_body_bytes;
  // Bodies without a length (chunked, or an HTTP/2 stream's) are counted as they pass.
  auto over_limit = [&] {
    if (max_body == 0 || req_.body_counted <= max_body) return false;
    // Over the limit mid-stream: a 413 if the origin has not answered yet, else just stop.
    if (req_.response_head_done) {
      Close();
      return true;
    }
    closing_after_response_ = true;
    ReleaseUpstream(false);
    in_.Clear();
    req_.body_done = true;
    SendLocal(413, "text/plain; charset=utf-8", "request body too large\n");
    if (FlushToClient() && out_.empty()) FinishRequest();
    return true;
  };
  while (!req_.body_done && !in_.empty() && up_out_.size() < kMaxPending) {
    absl::string_view available = in_.view().substr(0, kMaxPending - up_out_.size());
    size_t n = 0;
    if (req_.body_framing == http::BodyFraming::kContentLength) {
      n = std::min<uint64_t>(available.size(), req_.body_remaining);
      req_.body_remaining -= n;
      if (req_.body_remaining == 0) req_.body_done = true;
      up_out_.Append(available.substr(0, n));
    } else if (req_.body_framing == http::BodyFraming::kUntilStreamEnd) {
      n = available.size();  // DATA payloads as received; the origin gets them chunked
      req_.body_counted += n;
      if (over_limit()) return;
      AppendChunk(available, &up_out_);
    } else {
      n = req_.body_chunks.Feed(available, [this](absl::string_view data) { req_.body_counted += data.size(); });
      if (over_limit()) return;
      if (req_.body_chunks.state() == http::ChunkedDecoder::State::kError) {
        worker_->stats().parse_errors++;
        closing_after_response_ = true;
        ReleaseUpstream(false);
        in_.Clear();
        req_.body_done = true;
        SendLocal(400, "text/plain; charset=utf-8", absl::StrCat(req_.body_chunks.error(), "\n"));
        if (FlushToClient() && out_.empty()) FinishRequest();
        return;
      }
      if (req_.body_chunks.state() == http::ChunkedDecoder::State::kDone) req_.body_done = true;
      up_out_.Append(available.substr(0, n));
    }
    in_.Consume(n);
    req_.sent_any_body = true;
  }
  if (!req_.body_done && req_.body_framing == http::BodyFraming::kUntilStreamEnd && in_.empty() &&
      port_ != nullptr && port_->RequestEnded()) {
    up_out_.Append("0\r\n\r\n");
    req_.body_done = true;
  }
}

bool DownstreamConnection::FlushToUpstream() {
  if (upstream_ == nullptr) return false;
  if (!upstream_->send_blocked && upstream_->batches_writes()) {
    // Sent with the turn's other writes; OnUpstreamWritten carries on as EPOLLOUT would.
    // (Not while connecting: OnUpstreamConnected flushes.)
    if (!up_out_.empty() && upstream_->connected) upstream_->SendSoon();
    return true;
  }
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
    // A pooled connection the origin had closed (reset on our write): retry on a new one.
    if (!req_.response_head_done && up_in_.empty() && upstream_->reused &&
        RetryAttempt(backends::AttemptFailure::kStalePooled)) {
      return false;
    }
    if (req_.response_head_done) {
      Close();
      return false;
    }
    // The origin went away while we were sending. It may have answered first (a 413 before
    // reading the body, then a close that resets our write): read what it said before
    // deciding on a 502, or retry elsewhere. Nothing more is sent to it. The client's
    // connection ends after the answer when the rest of its body will not be read; otherwise
    // (a GET retried on another origin) it stays open.
    const std::string error = absl::StrCat("write to upstream: ", std::strerror(errno));
    req_.upstream_write_failed = true;
    up_out_.Clear();
    if (!req_.body_done) closing_after_response_ = true;
    UpstreamConnection* const failed = upstream_;
    OnUpstreamReadable();  // may also retry on another origin (then upstream_ changed)
    if (state_ == State::kProxying && upstream_ == failed && !req_.response_head_done) {
      UpstreamFailed(502, error, false);
    }
    return false;
  }
  if (up_out_.empty()) upstream_->send_blocked = false;  // drained: batched again
  return true;
}

void DownstreamConnection::UpdateUpstreamInterest() {
  // While connecting (TCP or TLS), ConnectAttempt/StepTls own the interest set.
  if (upstream_ == nullptr || !upstream_->connected) return;
  // Hang-up only with reading: the origin closing is seen when its bytes are read, and a
  // level-triggered EPOLLRDHUP we cannot act on (slow client) would fire in a loop.
  uint32_t events = 0;
  if (!upstream_->connected || (!up_out_.empty() && !upstream_->send_queued())) events |= EPOLLOUT;
  if (upstream_->connected && !req_.response_done && out_.size() < kMaxPending) events |= EPOLLIN | EPOLLRDHUP;
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
        worker_->stats().origin(req_.upstream_label).connect_errors++;
        UpstreamFailed(502, absl::StrCat("connect ", req_.upstream_label, ": ", std::strerror(err ? err : ECONNREFUSED)), true);
        return;
      }
      if (!(events & EPOLLOUT)) return;
      upstream_->tcp_connected = true;
      if (!req_.backend->origins[req_.origin_index].tls) {
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

net::ReadTarget DownstreamConnection::UpstreamReadTarget(UpstreamConnection* conn) {
  // Where OnUpstreamIo would read now (the same conditions).
  if (conn != upstream_ || (state_ != State::kProxying && state_ != State::kTunnel) || out_.size() >= kMaxPending) {
    return {};
  }
  char* dst = up_in_.Reserve(kReadChunk);
  return {-1, dst, up_in_.writable()};
}

void DownstreamConnection::OnUpstreamReadAhead(ssize_t result) {
  if (result > 0) up_in_.Commit(static_cast<size_t>(result));
}

net::WriteSource DownstreamConnection::UpstreamPendingWrite(UpstreamConnection* conn) {
  if (conn != upstream_ || state_ == State::kClosed) return {};
  return {-1, up_out_.view().data(), up_out_.size()};
}

void DownstreamConnection::OnUpstreamWritten(UpstreamConnection* conn, ssize_t result) {
  if (conn != upstream_ || state_ == State::kClosed || result == 0) return;
  if (result > 0) {
    up_out_.Consume(static_cast<size_t>(result));
    conn->send_blocked = !up_out_.empty();  // the socket is full: plain writes on EPOLLOUT
  } else {
    // Would block, or failed: the plain write on EPOLLOUT retries, and meets the same error
    // where FlushToUpstream handles it (a retry, a 502, or the origin's answer read first).
    conn->send_blocked = true;
  }
  OnUpstreamIo(conn, EPOLLOUT);
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
  req_.upstream_paused = n > 0 && n < static_cast<ssize_t>(kReadChunk);
  if (n == 0 || n == -2) req_.upstream_eof = true;
  if (!req_.response_head_done) HandleResponseHead();
  if (state_ != State::kProxying || upstream_ == nullptr) return;
  if (req_.response_head_done) PumpResponseBody();
  if (state_ != State::kProxying || upstream_ == nullptr) return;
  if (req_.upstream_eof && !req_.response_done) {
    if (!req_.response_head_done) {
      // Not one response byte: an idempotent request without a body can go again, to another
      // origin when there is one (ConnectAttempt's Pick avoids the one just tried). On a
      // pooled connection the origin had likely just closed it (not its fault); on a new one
      // it died or dropped the request (a kill -9 under load), which counts for its health.
      const bool reused = upstream_->reused;
      if (!reused) {
        worker_->stats().origin(req_.upstream_label).protocol_errors++;
        req_.origins->ReportFailure(req_.origin_index, worker_->loop().now_ms(), OriginSet::Failure::kConnect);
      }
      // A new connection if it is the same origin: idle siblings were likely closed too.
      if (up_in_.empty() &&
          RetryAttempt(reused ? backends::AttemptFailure::kStalePooled : backends::AttemptFailure::kClosedNoResponse)) {
        return;
      }
      if (reused) worker_->stats().origin(req_.upstream_label).protocol_errors++;
      UpstreamFailed(502, "upstream closed the connection before responding", false);
      return;
    }
    if (req_.response_framing == http::BodyFraming::kUntilClose) {
      req_.response_done = true;
      if (req_.compressor != nullptr && !CompressBody({}, false)) {  // ends the compressed stream
        Close();
        return;
      }
    } else {
      // Truncated body: the client must not take it for a complete response.
      worker_->stats().origin(req_.upstream_label).protocol_errors++;
      Close();
      return;
    }
  }
  if (req_.response_done) {
    ReleaseUpstream(response_head_.keep_alive && req_.body_done && up_in_.empty() && !req_.upstream_eof);
    if (!req_.body_done) closing_after_response_ = true;
    if (!FlushToClient()) return;
    if (out_.empty()) {
      FinishRequest();
      if (state_ == State::kWaitingRequest) ProcessInput();
    }
  }
}

}  // namespace edgerouter::proxy
