// Process-wide session-ticket key ring. Tickets are encrypted (AES-256-CBC + HMAC-SHA256) with
// the newest key and decrypted with any key still in the ring, so a session resumes on any
// worker, across snapshot swaps (contexts come and go, the ring stays) and, with a shared key
// file, across a fleet. The main thread rotates; handshakes read the ring through a per-thread
// cached pointer that is refreshed only when the generation counter moves (no lock per
// handshake).
#ifndef EDGEROUTER_DATAPLANE_TLS_TICKET_KEYS_H_
#define EDGEROUTER_DATAPLANE_TLS_TICKET_KEYS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace edgerouter::tls {

// Key file layout, one or more 80-byte records (the newest first): 16 bytes key name, 32 bytes
// HMAC-SHA256 key, 32 bytes AES-256 key. `openssl rand 80 > ticket.key` makes one.
struct TicketKey {
  unsigned char name[16];
  unsigned char hmac_key[32];
  unsigned char aes_key[32];
};
inline constexpr size_t kTicketKeyFileRecord = 80;

class TicketKeyRing {
 public:
  using Keys = std::vector<TicketKey>;

  static TicketKeyRing& Global();

  // Prepends a random key and keeps at most `keep` keys (the newest encrypts).
  void RotateRandom(size_t keep);
  // Replaces the ring with the file's keys. Unchanged contents keep the generation.
  absl::Status LoadFile(const std::string& path);
  void Set(Keys keys);

  // The ring as this thread last saw it; refreshed when the generation moved.
  const Keys& CurrentForThisThread();
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Installs the ticket callback on a server context.
  static void Install(SSL_CTX* ctx);

 private:
  absl::Mutex mu_;  // writers, and readers once per rotation
  std::shared_ptr<const Keys> keys_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{0};
};

}  // namespace edgerouter::tls

#endif  // EDGEROUTER_DATAPLANE_TLS_TICKET_KEYS_H_
