#include "dataplane/proxy/h2_connection.h"

#include <sys/epoll.h>

#include <cstdint>
#include <cstring>

#include "absl/strings/ascii.h"
#include "common/log/log.h"
#include "dataplane/h2/request_decoder.h"
#include "dataplane/http/field_names.h"
#include "dataplane/proxy/worker.h"

namespace edgerouter::proxy {

// One stream's request/response, seen by its DownstreamConnection as a client.
class H2Connection::Exchange : public StreamPort {
 public:
  Exchange(H2Connection* conn, h2::Stream* stream) : conn_(conn), stream_(stream), translator_(stream->method) {}

  // Serves another stream (the connection keeps a few exchanges for reuse).
  void Rebind(h2::Stream* stream) {
    stream_ = stream;
    dc_ = nullptr;
    request_.Clear();
    unacked_ = 0;
    ended_ = blocked_ = failed_ = false;
    translator_.Reset(stream->method);
  }

  // The stream's HEADERS as the decoded request (views into the stream and cookies_, which
  // live as long as the exchange serves it).
  http::ParseStatus ReadRequestHead(http::RequestHead* head, http::ParseError* error) override {
    if (stream_ == nullptr) return http::ParseStatus::kIncomplete;  // gone: Abort follows
    return h2::DecodeRequest(*stream_, conn_->owner_->worker_->options().limits, head, &cookies_, error);
  }

  ssize_t ReadRequest(IoBuffer* in) override {
    if (request_.empty()) return -1;
    const size_t n = request_.size();
    in->Append(request_.view());
    request_.Clear();
    // Taken means forwarded (or buffered within the exchange's own limits): the client may
    // send that much more.
    if (stream_ != nullptr && unacked_ > 0 && !conn_->finishing_) {
      conn_->session_->ConsumeRequestData(*stream_, unacked_);
      conn_->FlushSoon();
    }
    unacked_ = 0;
    return static_cast<ssize_t>(n);
  }

  bool RequestEnded() const override { return ended_ && request_.empty(); }

  bool WriteResponse(IoBuffer* out) override {
    if (stream_ == nullptr || conn_->finishing_ || failed_) return false;
    if (blocked_) return true;  // OnResponseWritable resumes
    h2::Session& session = *conn_->session_;
    absl::Status s = translator_.Feed(
        out,
        [&](const h2::ResponseTranslator::Head& head) {
          fields_.clear();
          for (const h2::Header& h : head.headers) fields_.push_back({h.first, h.second});
          if (!session.SubmitResponse(*stream_, head.status, fields_, !head.has_body).ok()) failed_ = true;
        },
        [&](absl::string_view body) {
          if (!session.WriteResponseData(*stream_, body)) blocked_ = true;
        },
        [&] { session.EndResponse(*stream_); });
    if (!s.ok() || failed_) {
      log::Every(log::Level::kWarn, "h2: response not translatable", "h2: response not translatable; stream reset")
          .Kv("error", s.message());
      session.ResetStream(*stream_, NGHTTP2_INTERNAL_ERROR);
      conn_->FlushSoon();
      return false;
    }
    conn_->FlushSoon();
    return true;
  }

  bool TakeResponseHead(int status, absl::Span<const http::Header> headers, http::BodyFraming framing,
                        uint64_t content_length) override {
    if (stream_ == nullptr || conn_->finishing_) return true;  // the next WriteResponse ends the exchange
    // One copy of the fields (field_bytes_), names lower-cased (HTTP/2). It lives as long as the
    // stream, so nghttp2 reads it in place when it sends HEADERS.
    const bool has_body = framing != http::BodyFraming::kNone &&
                          !(framing == http::BodyFraming::kContentLength && content_length == 0);
    h2::Session& session = *conn_->session_;
    if (absl::Status s = session.SubmitResponseCopy(*stream_, status, headers, !has_body, &field_bytes_); !s.ok()) {
      log::Every(log::Level::kWarn, "h2: response head not accepted", "h2: response head not accepted; stream reset")
          .Kv("error", s.message());
      failed_ = true;  // the next WriteResponse ends the exchange, which resets the stream
      return true;
    }
    translator_.StartBody(framing, content_length, has_body);
    if (!has_body) session.EndResponse(*stream_);
    conn_->FlushSoon();
    return true;
  }

  void InputWanted() override {
    if (HasInput()) conn_->ScheduleService(this);
  }

  void ExchangeClosed() override {
    dc_ = nullptr;
    if (stream_ != nullptr && !conn_->finishing_) {
      // Answered before the upload ended (401, 413, an early origin reply): the rest of the
      // body is read and dropped, so the stream can finish instead of waiting on its window.
      if (unacked_ > 0) conn_->session_->ConsumeRequestData(*stream_, unacked_);
      unacked_ = 0;
      request_.Clear();
      ended_ = true;
      if (!translator_.done()) {
        // A body delimited by the end of the exchange ends here; anything else was cut short.
        if (translator_.CloseEndsMessage()) {
          conn_->session_->EndResponse(*stream_);
        } else {
          conn_->session_->ResetStream(*stream_, NGHTTP2_INTERNAL_ERROR);
        }
      }
      conn_->FlushSoon();
      return;  // the stream's close forgets us
    }
    if (stream_ == nullptr) conn_->Forget(this);
  }

  // Body bytes, or the end of the body, the request path has not seen yet.
  bool HasInput() const { return !request_.empty() || ended_; }
  // Hands them over if the exchange wants them now.
  void Deliver() {
    if (dc_ != nullptr && dc_->wants_input() && HasInput()) dc_->OnIo(EPOLLIN);
  }

  H2Connection* const conn_;
  h2::Stream* stream_;  // null once the stream closed
  DownstreamConnection* dc_ = nullptr;
  std::string cookies_;  // the joined cookie field of the decoded head
  IoBuffer request_;     // DATA payloads the exchange has not taken yet
  size_t unacked_ = 0;   // their size, acknowledged when taken
  bool ended_ = false;   // END_STREAM: no more request body
  h2::ResponseTranslator translator_;
  // TakeResponseHead's copy of the fields (names lower-cased, then values) and its field list,
  // both reused per stream; unchanged until the stream closes (nghttp2 reads them in place).
  std::string field_bytes_;
  std::vector<h2::HeaderRef> fields_;
  bool blocked_ = false;  // the stream's send buffer is full
  bool failed_ = false;
};

H2Connection::H2Connection(DownstreamConnection* owner) : owner_(owner) {
  session_ = std::make_unique<h2::Session>(this, h2::Limits{});
}

H2Connection::~H2Connection() {
  finishing_ = true;
  session_.reset();  // closes every stream: OnStreamClosed aborts their exchanges
  for (Exchange* ex : std::vector<Exchange*>(exchanges_.begin(), exchanges_.end())) {
    ex->stream_ = nullptr;
    if (ex->dc_ != nullptr) {
      ex->dc_->Abort();
    } else {
      Forget(ex);
    }
  }
  for (Exchange* ex : free_exchanges_) delete ex;
}

void H2Connection::Start(absl::string_view initial) {
  owner_->worker_->stats().h2_connections++;
  ArmIdleTimer();
  if (!session_->Start().ok()) {
    owner_->Close();
    return;
  }
  if (!initial.empty() && !session_->Receive(initial).ok()) {
    Flush();
    return;
  }
  OnIo(EPOLLIN);  // frames may have arrived with the handshake
}

void H2Connection::ArmIdleTimer() {
  if (session_->open_header_block() != 0) {  // the header timer has precedence
    UpdateTimer();
    return;
  }
  timed_header_block_ = 0;
  owner_->timer_.kind = DownstreamConnection::kIdleTimer;
  owner_->worker_->idle_timers().Arm(&owner_->timer_, owner_->worker_->loop().now_ms());
}

void H2Connection::UpdateTimer() {
  const uint64_t block = session_->open_header_block();
  if (block == timed_header_block_) return;  // none, or still the one being timed
  if (block == 0) {
    ArmIdleTimer();
    return;
  }
  // A new block: it must be complete within the header timeout from now (its first bytes).
  timed_header_block_ = block;
  owner_->timer_.kind = DownstreamConnection::kHeaderTimer;
  owner_->worker_->header_timers().Arm(&owner_->timer_, owner_->worker_->loop().now_ms());
}

void H2Connection::OnHeaderTimer() {
  if (finishing_) return;
  if (timed_header_block_ == 0 || session_->open_header_block() != timed_header_block_) {
    UpdateTimer();
    return;
  }
  log::Every(log::Level::kWarn, "h2: connection ended", "h2: connection ended")
      .Kv("client", owner_->peer_ip_)
      .Kv("reason", "header block timeout");
  session_->Terminate(NGHTTP2_NO_ERROR);  // GOAWAY; nothing more is read
  Flush();
  if (!finishing_) owner_->Close();  // GOAWAY not written yet: the client is not reading either
}

void H2Connection::OnIo(uint32_t events) {
  if (finishing_) return;  // a close is already queued
  if (events & EPOLLERR) {
    owner_->Close();
    return;
  }
  tls::Transport& transport = owner_->transport_;
  if ((events & EPOLLOUT) || ((events & EPOLLIN) && transport.write_wants_read())) Flush();
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) || ((events & EPOLLOUT) && transport.read_wants_write())) {
    // Stop reading while the client does not read what we send (floods of PINGs etc.).
    if (out_.size() < kMaxPending && session_->WantsRead()) {
      char buf[kReadChunk];
      // A few socket reads per event (fairness), and what OpenSSL already took off the socket
      // up to the read budget; UpdateInterest comes back for the rest (epoll will not say).
      const size_t budget = owner_->worker_->options().read_budget_bytes;
      size_t received = 0;
      for (int reads = 0; (reads < 4 || transport.has_pending()) && received < budget; ++reads) {
        const ssize_t n = transport.Read(buf, sizeof(buf));
        if (n == 0 || n == -2) {
          owner_->Close();  // destroys this
          return;
        }
        if (n < 0) break;
        received += static_cast<size_t>(n);
        const absl::Status s = session_->Receive(absl::string_view(buf, static_cast<size_t>(n)));
        if (!s.ok()) {
          ReportAbuse();
          break;
        }
        if (static_cast<size_t>(n) < sizeof(buf) && !transport.has_pending()) break;
      }
    } else if (events & (EPOLLRDHUP | EPOLLHUP)) {
      owner_->Close();
      return;
    }
  }
  // What the frames just read produced (SETTINGS/PING acks, WINDOW_UPDATEs, early answers) goes
  // out at the end of the loop turn with every response that completes in the same turn: one
  // SSL_write per connection and turn, however the events of the turn are ordered.
  if (finishing_) return;
  FlushSoon();  // its Flush updates the epoll interest
  UpdateTimer();
}

void H2Connection::ReportAbuse() {
  if (abuse_reported_ || session_->abuse().empty()) return;
  abuse_reported_ = true;
  owner_->worker_->stats().h2_abuse++;
  log::Every(log::Level::kWarn, "h2: connection ended", "h2: connection ended")
      .Kv("client", owner_->peer_ip_)
      .Kv("reason", session_->abuse());
}

void H2Connection::FlushSoon() {
  if (flush_scheduled_ || finishing_) return;
  flush_scheduled_ = true;
  owner_->worker_->RunSoon([alive = std::weak_ptr<H2Connection*>(alive_)] {
    const std::shared_ptr<H2Connection*> self = alive.lock();
    if (self == nullptr) return;
    (*self)->flush_scheduled_ = false;
    (*self)->Flush();
  });
}

void H2Connection::Flush() {
  if (finishing_) return;
  if (flushing_) {
    flush_again_ = true;
    return;
  }
  flushing_ = true;
  tls::Transport& transport = owner_->transport_;
  bool write_failed = false;
  do {
    flush_again_ = false;
    session_->Send(&out_, 4 * kMaxPending);  // may run OnResponseWritable → more output
    ReportAbuse();  // streams closing while sending may reveal it too
    while (!out_.empty()) {
      const ssize_t n = transport.Write(out_.view().data(), out_.size());
      if (n > 0) {
        out_.Consume(static_cast<size_t>(n));
      } else {
        write_failed = n != -1;
        break;
      }
    }
  } while (flush_again_ && out_.empty() && !write_failed);
  flushing_ = false;
  if (write_failed || (session_->Finished() && out_.empty())) {
    // Closing here could pull the exchange that called us out from under it: next round.
    finishing_ = true;
    std::weak_ptr<H2Connection*> alive = alive_;
    DownstreamConnection* owner = owner_;
    owner_->worker_->RunSoon([alive, owner] {
      if (alive.lock()) owner->Close();
    });
    return;
  }
  UpdateInterest();
}

void H2Connection::UpdateInterest() {
  tls::Transport& transport = owner_->transport_;
  uint32_t events = EPOLLRDHUP;
  if (!out_.empty() || transport.read_wants_write()) events |= EPOLLOUT;
  if ((session_->WantsRead() && out_.size() < kMaxPending) || transport.write_wants_read()) events |= EPOLLIN;
  if (events != owner_->watched_) {
    owner_->worker_->loop().Modify(owner_->fd_, events, owner_);
    owner_->watched_ = events;
  }
  if ((events & EPOLLIN) && transport.readable_without_event()) owner_->worker_->ReadSoon(owner_);
}

void H2Connection::Drain() {
  if (finishing_) return;
  session_->StartGracefulShutdown();
  Flush();
}

void H2Connection::OnIdleTimer() {
  if (finishing_) return;
  if (session_->active_streams() > 0) {
    ArmIdleTimer();
    return;
  }
  if (idle_goaway_sent_) {  // a client that does not even read our GOAWAY
    owner_->Close();
    return;
  }
  idle_goaway_sent_ = true;
  Drain();
  ArmIdleTimer();
}

void H2Connection::OnRequestHeaders(h2::Stream& stream) {
  if (finishing_) return;
  Exchange* ex;
  if (free_exchanges_.empty()) {
    ex = new Exchange(this, &stream);
  } else {
    ex = free_exchanges_.back();
    free_exchanges_.pop_back();
    ex->Rebind(&stream);
  }
  stream.user = ex;
  exchanges_.insert(ex);
  ex->ended_ = stream.request_ended;
  ex->dc_ = owner_->worker_->AcquireStreamConnection(ex, *owner_);
  ex->dc_->Start();  // takes the decoded head (ReadRequestHead) and dispatches it
}

void H2Connection::OnRequestData(h2::Stream& stream, absl::string_view data) {
  auto* ex = static_cast<Exchange*>(stream.user);
  if (ex == nullptr) return;  // not served: the connection is finishing
  if (ex->dc_ == nullptr) {   // already answered: drop, but keep the stream flowing
    session_->ConsumeRequestData(stream, data.size());
    FlushSoon();
    return;
  }
  ex->request_.Append(data);
  ex->unacked_ += data.size();
  ex->Deliver();
}

void H2Connection::OnRequestEnd(h2::Stream& stream) {
  auto* ex = static_cast<Exchange*>(stream.user);
  if (ex == nullptr || ex->ended_) return;  // ended with its HEADERS: the head said so
  ex->ended_ = true;
  ex->Deliver();
}

bool H2Connection::quiet() const { return session_->active_streams() == 0 && out_.empty() && !finishing_; }

void H2Connection::OnStreamClosed(h2::Stream& stream, uint32_t) {
  // The last open stream (it is already gone from the count): the record buffers go a second
  // from now unless a stream comes meanwhile (DownstreamConnection::OnTimer checks quiet()).
  // Not while the connection goes (finishing_: the session may be in its destructor).
  if (!finishing_ && session_->active_streams() == 0 && owner_->transport_.tls()) {
    owner_->worker_->tls_buffer_timers().Arm(&owner_->buffers_timer_, owner_->worker_->loop().now_ms());
  }
  auto* ex = static_cast<Exchange*>(stream.user);
  if (ex == nullptr) return;
  ex->stream_ = nullptr;
  if (ex->dc_ != nullptr) {
    ex->dc_->Abort();  // the client reset it, or the connection is going: 499 if unanswered
  } else {
    Forget(ex);
  }
}

void H2Connection::OnResponseWritable(h2::Stream& stream) {
  auto* ex = static_cast<Exchange*>(stream.user);
  if (ex == nullptr) return;
  ex->blocked_ = false;
  if (ex->dc_ != nullptr) ex->dc_->OnIo(EPOLLOUT);
}

void H2Connection::ScheduleService(Exchange* exchange) {
  wanting_input_.push_back(exchange);
  if (service_scheduled_) return;
  service_scheduled_ = true;
  owner_->worker_->RunSoon([alive = std::weak_ptr<H2Connection*>(alive_)] {
    if (const std::shared_ptr<H2Connection*> self = alive.lock()) (*self)->Service();
  });
}

void H2Connection::Service() {
  service_scheduled_ = false;
  std::vector<Exchange*> ready;
  ready.swap(wanting_input_);
  for (Exchange* ex : ready) {
    if (exchanges_.contains(ex)) ex->Deliver();
  }
  Flush();
}

void H2Connection::Forget(Exchange* exchange) {
  if (exchanges_.erase(exchange) == 0) return;
  if (free_exchanges_.size() < 16 && !finishing_) {
    free_exchanges_.push_back(exchange);
  } else {
    delete exchange;
  }
  if (exchanges_.empty() && !finishing_) ArmIdleTimer();
}

}  // namespace edgerouter::proxy
