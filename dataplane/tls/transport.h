// The byte transport of one client connection: the plain socket, or server-side TLS over it.
// Non-blocking throughout; a TLS call that blocks on the opposite direction (a write waiting
// for a read, e.g. mid-handshake or a TLS 1.3 key update) is remembered so the connection can
// add that readiness to its epoll interest.
#ifndef EDGEROUTER_DATAPLANE_TLS_TRANSPORT_H_
#define EDGEROUTER_DATAPLANE_TLS_TRANSPORT_H_

#include <sys/types.h>

#include <cstddef>

#include "absl/strings/string_view.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace edgerouter::tls {

// Why a handshake failed (label of edgerouter_tls_handshake_errors_total).
enum class HandshakeError {
  kNone,
  kNoCertificate,    // no certificate for the SNI name (or none sent) and no default
  kProtocolVersion,  // TLS 1.1 or older
  kNoSharedCipher,
  kHttpRequest,      // plain HTTP on the TLS port
  kEof,              // the client went away mid-handshake
  kTimeout,          // the header timeout passed
  kOther,
  kCount,
};
const char* HandshakeErrorName(HandshakeError e);

class Transport {
 public:
  Transport() = default;
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  void InitPlain(int fd) { fd_ = fd; }
  // Server TLS on `fd`, starting on `base` (the ClientHello callback may switch contexts).
  bool InitTls(int fd, SSL_CTX* base);
  bool tls() const { return ssl_ != nullptr; }

  enum class Handshake { kDone, kWantRead, kWantWrite, kFailed };
  // On kFailed, `error` and `detail` say why.
  Handshake ContinueHandshake(HandshakeError* error, const char** detail);
  bool handshake_done() const { return handshake_done_; }
  bool session_reused() const;
  absl::string_view alpn() const;

  // >0 bytes, 0 EOF (or close_notify), -1 would block, -2 error.
  ssize_t Read(char* dst, size_t len);
  // Bytes written (>0), -1 would block, -2 error.
  ssize_t Write(const char* src, size_t len);
  // Bytes OpenSSL already took off the socket (read-ahead; decrypted or not, possibly only part
  // of a record): epoll cannot announce them.
  bool has_pending() const;
  // Whether a Read() may return data although epoll will not say so: OpenSSL holds bytes and
  // did not last say it needs more from the socket. A reader that stops early (a budget,
  // backpressure) while this is true must come back by itself (Worker::ReadSoon).
  bool readable_without_event() const;
  // The last blocked TLS call needs the other readiness too.
  bool read_wants_write() const { return read_wants_write_; }
  bool write_wants_read() const { return write_wants_read_; }

  // Keeps OpenSSL's record buffers between reads/writes instead of freeing them whenever idle
  // (the context's default, right for the many mostly idle HTTP/1.1 keep-alive connections).
  // For busy multiplexed connections the free + 17 KB malloc per record costs more than the
  // memory saved.
  void KeepRecordBuffers();

  // Best-effort close_notify before the socket is closed; frees the TLS state.
  void Shutdown();

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool handshake_done_ = false;
  bool read_wants_write_ = false;
  bool read_starved_ = false;  // the last SSL_read wanted more bytes from the socket
  bool write_wants_read_ = false;
};

}  // namespace edgerouter::tls

#endif  // EDGEROUTER_DATAPLANE_TLS_TRANSPORT_H_
