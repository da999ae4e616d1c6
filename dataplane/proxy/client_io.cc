// The client socket of a DownstreamConnection: its events, reads (the loop's read-ahead or
// its own), the epoll interest, and its writes (the loop's batched send, or plain writes once
// a batched send left bytes over). What the bytes mean is in http_session.cc and the flows.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "dataplane/proxy/h2_connection.h"
#include "dataplane/proxy/http_session.h"
#include "dataplane/proxy/worker.h"

namespace edgerouter::proxy {

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

}  // namespace edgerouter::proxy
