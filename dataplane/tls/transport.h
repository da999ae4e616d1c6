// The byte transport of one client connection: the plain socket, or server-side TLS over it.
// Non-blocking throughout; a TLS call that blocks on the opposite direction (a write waiting
// for a read, e.g. mid-handshake or a TLS 1.3 key update) is remembered so the connection can
// add that readiness to its epoll interest.
#ifndef EDGEROUTER_DATAPLANE_TLS_TRANSPORT_H_
#define EDGEROUTER_DATAPLANE_TLS_TRANSPORT_H_

#include <sys/types.h>

#include <cstddef>

#include "absl/strings/string_view.h"
#include "dataplane/proxy/io_buffer.h"

namespace edgerouter::net {
class EventLoop;
}

typedef struct bio_st BIO;
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

  // Plain bytes, read through `loop` (EventLoop::Receive: from the ring for an attached socket,
  // else read(2)).
  void InitPlain(int fd, net::EventLoop* loop) {
    fd_ = fd;
    loop_ = loop;
  }
  // Server TLS on `fd`, starting on `base` (the ClientHello callback may switch contexts);
  // ciphertext read through `loop` as above.
  bool InitTls(int fd, SSL_CTX* base, net::EventLoop* loop);
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
  // Bytes already taken off the socket (by OpenSSL's read-ahead or the loop's; decrypted or
  // not, possibly only part of a record): epoll cannot announce them.
  bool has_pending() const;
  // Whether a Read() may return data although epoll will not say so: OpenSSL holds bytes and
  // did not last say it needs more from the socket. A reader that stops early (a budget,
  // backpressure) while this is true must come back by itself (Worker::ReadSoon).
  bool readable_without_event() const;
  // The last blocked TLS call needs the other readiness too.
  bool read_wants_write() const { return read_wants_write_; }
  bool write_wants_read() const { return write_wants_read_; }

  // Keeps OpenSSL's record buffers between reads/writes instead of freeing them whenever idle
  // (the context's default). A busy connection otherwise pays a free + ~17 KB malloc for each
  // direction of every request or record; an idle one gives them back with
  // ReleaseRecordBuffers.
  void KeepRecordBuffers();
  // Frees the record buffers now unless they hold bytes (the next read or write reallocates
  // them). True if freed.
  bool ReleaseRecordBuffers();

  // Best-effort close_notify before the socket is closed; frees the TLS state.
  void Shutdown();

  // Batched socket I/O for TLS (net::IoHandler): the worker loop moves the ciphertext, so a
  // TLS request costs no read or send syscall of its own. OpenSSL talks to a BIO of ours,
  // which reads from the loop's read-ahead and collects records for the loop's send; with
  // nothing batched it reads (EventLoop::Receive) and sends itself, as a socket BIO would.
  //
  // Reads: the loop reads into ReadAheadBuffer() and hands the result to OnReadAhead. While
  // ReadFromAheadOnly(true) (the handler's reads in that turn), Read() consumes those bytes
  // and makes no syscall: the loop just drained the socket, and a partial record waits for
  // epoll like one the kernel cut short. ReadAheadBuffer is null while earlier bytes wait
  // there (the next read takes them first).
  char* ReadAheadBuffer(size_t* len);
  void OnReadAhead(ssize_t result);
  void ReadFromAheadOnly(bool on) { ahead_only_ = on; }
  // Writes: EncryptForSend turns `len` plaintext bytes into records kept here and returns the
  // ciphertext to send (empty on a TLS error: then Sent(0) < 0). Sent(result) takes the
  // send's result and returns how many plaintext bytes reached the socket: all of them once
  // every ciphertext byte went, 0 while some are left (Write() sends those first and then
  // reports the plaintext as written), -2 on an error. Callers pass the same buffer front.
  absl::string_view EncryptForSend(const char* src, size_t len);
  ssize_t Sent(ssize_t result);

 private:
  static int BioRead(BIO* bio, char* dst, int len);
  static int BioWrite(BIO* bio, const char* src, int len);
  static long BioCtrl(BIO* bio, int cmd, long num, void* ptr);
  // Sends the ciphertext left by a batched send: 1 all gone, 0 would block, -1 error.
  int SendLeftover();

  int fd_ = -1;
  net::EventLoop* loop_ = nullptr;  // every socket read goes through it (EventLoop::Receive)
  SSL* ssl_ = nullptr;
  proxy::IoBuffer raw_in_;    // ciphertext the loop read ahead, not yet taken by OpenSSL
  proxy::IoBuffer raw_out_;   // ciphertext of a batched send not yet on the socket
  size_t encrypted_ = 0;      // plaintext bytes in raw_out_ (reported by Sent/Write once sent)
  ssize_t ahead_result_ = 0;  // the loop's last read: 0 EOF, -errno
  bool ahead_only_ = false;   // Read() makes no syscall: the loop read this turn
  bool collect_ = false;      // BioWrite appends to raw_out_ (EncryptForSend)
  bool in_eof_ = false;       // the socket said EOF (BIO_CTRL_EOF)
  bool write_failed_ = false;  // EncryptForSend's SSL_write failed
  bool send_failed_ = false;   // a send to the socket failed for good (reset, broken pipe)
  bool handshake_done_ = false;
  bool read_wants_write_ = false;
  bool read_starved_ = false;  // the last SSL_read wanted more bytes from the socket
  bool write_wants_read_ = false;
};

}  // namespace edgerouter::tls

#endif  // EDGEROUTER_DATAPLANE_TLS_TRANSPORT_H_
