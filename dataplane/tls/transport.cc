#include "dataplane/tls/transport.h"

#include "dataplane/net/event_loop.h"

#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "dataplane/tls/errors.h"

namespace edgerouter::tls {

const char* HandshakeErrorName(HandshakeError e) {
  switch (e) {
    case HandshakeError::kNone: return "none";
    case HandshakeError::kNoCertificate: return "no_certificate";
    case HandshakeError::kProtocolVersion: return "protocol_version";
    case HandshakeError::kNoSharedCipher: return "no_shared_cipher";
    case HandshakeError::kHttpRequest: return "http_request";
    case HandshakeError::kEof: return "eof";
    case HandshakeError::kTimeout: return "timeout";
    default: return "other";
  }
}

namespace {

bool WouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

}  // namespace

Transport::~Transport() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

bool Transport::InitTls(int fd, SSL_CTX* base, net::EventLoop* loop) {
  // One method for every connection; its BIOs point at their Transport (no ownership).
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "edgerouter transport");
    if (m != nullptr) {
      BIO_meth_set_read(m, &Transport::BioRead);
      BIO_meth_set_write(m, &Transport::BioWrite);
      BIO_meth_set_ctrl(m, &Transport::BioCtrl);
      BIO_meth_set_create(m, [](BIO* bio) {
        BIO_set_init(bio, 1);
        return 1;
      });
    }
    return m;
  }();
  fd_ = fd;
  loop_ = loop;
  if (method == nullptr) return false;
  ssl_ = SSL_new(base);
  if (ssl_ == nullptr) return false;
  BIO* bio = BIO_new(method);
  if (bio == nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
    return false;
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one reference, for both directions
  SSL_set_accept_state(ssl_);
  return true;
}

int Transport::BioRead(BIO* bio, char* dst, int len) {
  auto* t = static_cast<Transport*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (!t->raw_in_.empty()) {
    const size_t n = std::min(t->raw_in_.size(), static_cast<size_t>(len));
    std::memcpy(dst, t->raw_in_.view().data(), n);
    t->raw_in_.Consume(n);
    if (t->raw_in_.empty()) t->raw_in_.Release();
    return static_cast<int>(n);
  }
  ssize_t n;
  if (t->ahead_only_) {  // the loop's read this turn took what there was; its end or error stands
    n = t->ahead_result_ > 0 ? -EAGAIN : t->ahead_result_;
    if (n < 0) {
      errno = static_cast<int>(-n);
      n = -1;
    }
  } else {
    n = t->loop_->Receive(t->fd_, dst, static_cast<size_t>(len));
  }
  if (n > 0) return static_cast<int>(n);
  if (n == 0) {
    t->in_eof_ = true;  // OpenSSL asks BIO_eof() to tell a closed socket from an error
    return 0;
  }
  if (WouldBlock(errno)) BIO_set_retry_read(bio);
  return -1;
}

int Transport::BioWrite(BIO* bio, const char* src, int len) {
  auto* t = static_cast<Transport*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (t->collect_) {
    t->raw_out_.Append(absl::string_view(src, static_cast<size_t>(len)));
    return len;
  }
  const int left = t->SendLeftover();  // a batched send's rest goes first (e.g. before close_notify)
  if (left <= 0) {
    if (left == 0) BIO_set_retry_write(bio);
    return -1;
  }
  const ssize_t n = send(t->fd_, src, static_cast<size_t>(len), MSG_NOSIGNAL);
  if (n >= 0) return static_cast<int>(n);
  if (WouldBlock(errno)) {
    BIO_set_retry_write(bio);
  } else {
    t->send_failed_ = true;
  }
  return -1;
}

long Transport::BioCtrl(BIO* bio, int cmd, long num, void* ptr) {
  (void)num;
  (void)ptr;
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;  // nothing buffered below OpenSSL but raw_out_, sent by its owner
    case BIO_CTRL_EOF: return static_cast<Transport*>(BIO_get_data(bio))->in_eof_ ? 1 : 0;
    default: return 0;
  }
}

int Transport::SendLeftover() {
  // After a reset or a broken pipe nothing more can leave: OpenSSL would retry its buffered
  // records and then the close_notify, each a failing syscall (clients that close right after
  // the handshake make the server's session tickets fail this way).
  if (send_failed_) {
    errno = EPIPE;
    return -1;
  }
  while (!raw_out_.empty()) {
    const ssize_t n = send(fd_, raw_out_.view().data(), raw_out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      raw_out_.Consume(static_cast<size_t>(n));
    } else if (n < 0 && WouldBlock(errno)) {
      return 0;
    } else {
      send_failed_ = true;
      return -1;
    }
  }
  raw_out_.Release();
  return 1;
}

char* Transport::ReadAheadBuffer(size_t* len) {
  if (!raw_in_.empty()) return nullptr;
  char* dst = raw_in_.Reserve(proxy::kReadChunk);
  *len = proxy::kReadChunk;
  return dst;
}

void Transport::OnReadAhead(ssize_t result) {
  if (result > 0) raw_in_.Commit(static_cast<size_t>(result));
  ahead_result_ = result;
}

absl::string_view Transport::EncryptForSend(const char* src, size_t len) {
  if (ssl_ == nullptr) return absl::string_view(src, len);
  if (encrypted_ == 0 && len > 0) {  // else: the rest of the last batch goes first
    ClearStaleErrors();
    collect_ = true;
    const int n = SSL_write(ssl_, src, static_cast<int>(std::min<size_t>(len, INT_MAX)));
    collect_ = false;
    if (n <= 0) {  // the BIO never blocks here: a TLS error
      ERR_clear_error();
      write_failed_ = true;
      return {};
    }
    encrypted_ = static_cast<size_t>(n);
  }
  return raw_out_.view();
}

ssize_t Transport::Sent(ssize_t result) {
  if (ssl_ == nullptr) return result;
  if (write_failed_) return -2;
  if (result < 0 && !WouldBlock(static_cast<int>(-result))) send_failed_ = true;
  if (result <= 0) return result;
  raw_out_.Consume(static_cast<size_t>(result));
  if (!raw_out_.empty()) return 0;
  raw_out_.Release();
  const size_t plain = encrypted_;
  encrypted_ = 0;
  return static_cast<ssize_t>(plain);
}

Transport::Handshake Transport::ContinueHandshake(HandshakeError* error, const char** detail) {
  ClearStaleErrors();
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    handshake_done_ = true;
    return Handshake::kDone;
  }
  const int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ) {
    read_starved_ = true;  // a partial record may sit in the read-ahead buffer: wait for epoll
    return Handshake::kWantRead;
  }
  if (err == SSL_ERROR_WANT_WRITE) return Handshake::kWantWrite;
  const unsigned long e = ERR_peek_error();
  *detail = e != 0 ? ERR_reason_error_string(e) : (err == SSL_ERROR_SYSCALL ? "connection closed" : "");
  if (*detail == nullptr) *detail = "";
  if (e == 0 && (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)) {
    *error = HandshakeError::kEof;
  } else {
    switch (ERR_GET_REASON(e)) {
      case SSL_R_CALLBACK_FAILED: *error = HandshakeError::kNoCertificate; break;
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_VERSION_TOO_LOW:
      case SSL_R_WRONG_VERSION_NUMBER: *error = HandshakeError::kProtocolVersion; break;
      case SSL_R_NO_SHARED_CIPHER: *error = HandshakeError::kNoSharedCipher; break;
      case SSL_R_HTTP_REQUEST: *error = HandshakeError::kHttpRequest; break;
      case SSL_R_UNEXPECTED_EOF_WHILE_READING: *error = HandshakeError::kEof; break;
      default: *error = HandshakeError::kOther;
    }
  }
  ERR_clear_error();
  return Handshake::kFailed;
}

void Transport::KeepRecordBuffers() {
  if (ssl_ != nullptr) SSL_clear_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
}

bool Transport::ReleaseRecordBuffers() { return ssl_ != nullptr && SSL_free_buffers(ssl_) == 1; }

bool Transport::session_reused() const { return ssl_ != nullptr && SSL_session_reused(ssl_) == 1; }

absl::string_view Transport::alpn() const {
  if (ssl_ == nullptr) return {};
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_, &data, &len);
  return absl::string_view(reinterpret_cast<const char*>(data), len);
}

ssize_t Transport::Read(char* dst, size_t len) {
  if (ssl_ == nullptr) {
    const ssize_t n = loop_->Receive(fd_, dst, len);
    if (n >= 0) return n;
    return WouldBlock(errno) ? -1 : -2;
  }
  read_wants_write_ = false;
  read_starved_ = false;
  ClearStaleErrors();
  const int n = SSL_read(ssl_, dst, static_cast<int>(std::min<size_t>(len, INT_MAX)));
  if (n > 0) return n;
  switch (SSL_get_error(ssl_, n)) {
    case SSL_ERROR_WANT_READ:
      read_starved_ = true;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      read_wants_write_ = true;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    case SSL_ERROR_SYSCALL:
      // A TCP FIN without close_notify: HTTP/1.1 framing tells truncation apart, so treat it as
      // EOF like the plain transport does.
      if (ERR_peek_error() == 0) return 0;
      [[fallthrough]];
    default: {
      const bool eof = ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
      ERR_clear_error();
      return eof ? 0 : -2;
    }
  }
}

ssize_t Transport::Write(const char* src, size_t len) {
  if (ssl_ == nullptr) {
    const ssize_t n = send(fd_, src, len, MSG_NOSIGNAL);
    if (n >= 0) return n;
    return WouldBlock(errno) ? -1 : -2;
  }
  write_wants_read_ = false;
  if (encrypted_ > 0) {  // a batched send left ciphertext: the plaintext counts once it is out
    const int left = SendLeftover();
    if (left <= 0) return left == 0 ? -1 : -2;
    const size_t plain = encrypted_;
    encrypted_ = 0;
    return static_cast<ssize_t>(plain);
  }
  ClearStaleErrors();
  const int n = SSL_write(ssl_, src, static_cast<int>(std::min<size_t>(len, INT_MAX)));
  if (n > 0) return n;
  switch (SSL_get_error(ssl_, n)) {
    case SSL_ERROR_WANT_WRITE:
      return -1;
    case SSL_ERROR_WANT_READ:
      write_wants_read_ = true;
      return -1;
    default:
      ERR_clear_error();
      return -2;
  }
}

// SSL_has_pending, not SSL_pending: with read-ahead, whole records may wait undecrypted.
bool Transport::has_pending() const {
  return ssl_ != nullptr && (!raw_in_.empty() || SSL_has_pending(ssl_) == 1);
}

bool Transport::readable_without_event() const { return !read_starved_ && has_pending(); }

void Transport::Shutdown() {
  if (ssl_ == nullptr) return;
  if (handshake_done_) {
    // One non-blocking attempt; a full bidirectional shutdown is not worth waiting for.
    SSL_set_quiet_shutdown(ssl_, 0);
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  SSL_free(ssl_);
  ssl_ = nullptr;
}

}  // namespace edgerouter::tls
