#include "dataplane/tls/transport.h"

#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <climits>

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

Transport::~Transport() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

bool Transport::InitTls(int fd, SSL_CTX* base) {
  fd_ = fd;
  ssl_ = SSL_new(base);
  if (ssl_ == nullptr) return false;
  SSL_set_fd(ssl_, fd);
  SSL_set_accept_state(ssl_);
  return true;
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
    const ssize_t n = read(fd_, dst, len);
    if (n >= 0) return n;
    return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -1 : -2;
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
    return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -1 : -2;
  }
  write_wants_read_ = false;
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
bool Transport::has_pending() const { return ssl_ != nullptr && SSL_has_pending(ssl_) == 1; }

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
