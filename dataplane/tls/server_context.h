// Server-side TLS contexts with the edge policy: TLS 1.2 and 1.3 only, Mozilla "intermediate"
// suites, X25519/P-256/P-384, no renegotiation, no compression, stateless session tickets from
// the process-wide ticket key ring (no per-process session cache, so any worker and any later
// snapshot resumes a session), ALPN http/1.1 (h2 behind one switch).
//
// One context per certificate, all with identical settings; a connection starts on its worker's
// base context and the ClientHello callback switches it to the certificate's context.
#ifndef EDGEROUTER_DATAPLANE_TLS_SERVER_CONTEXT_H_
#define EDGEROUTER_DATAPLANE_TLS_SERVER_CONTEXT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace edgerouter::tls {

// Whether ALPN offers "h2" (--http2; on by default). Set once at start, before any handshake.
void SetOfferH2(bool offer);

// Mozilla intermediate (v5.7) for TLS 1.2, ECDHE only; TLS 1.3 keeps OpenSSL's default suites.
inline constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
inline constexpr char kTls13Suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
inline constexpr char kGroups[] = "X25519:prime256v1:secp384r1";

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const;
};
using SslCtxPtr = std::shared_ptr<SSL_CTX>;

// Ticket lifetime advertised to clients (and enforced on resumption). Set once at start.
void SetSessionLifetime(absl::Duration lifetime);

// A context with the policy and no certificate.
absl::StatusOr<SslCtxPtr> NewServerContext();

// A context with the policy, the chain (leaf first) and its private key, both PEM. Fails if the
// key does not match the leaf. `not_after` (optional) receives the leaf's expiry.
absl::StatusOr<SslCtxPtr> NewCertificateContext(absl::string_view cert_pem_bundle, absl::string_view key_pem,
                                                absl::Time* not_after = nullptr);

// A PEM file holding the chain and the key (edgerouter's dev-cert.pem layout).
absl::StatusOr<SslCtxPtr> LoadCertificateFile(const std::string& path, absl::Time* not_after = nullptr);

// Text of the first queued OpenSSL error (and clears the queue).
std::string OpenSslErrorText();

}  // namespace edgerouter::tls

#endif  // EDGEROUTER_DATAPLANE_TLS_SERVER_CONTEXT_H_
