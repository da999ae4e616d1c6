#include "dataplane/tls/server_context.h"

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "dataplane/tls/ticket_keys.h"

namespace edgerouter::tls {
namespace {

std::atomic<int64_t> session_lifetime_s{7200};
std::atomic<bool> offer_h2{true};

constexpr unsigned char kSessionIdContext[] = "edgerouter";

// Server preference over the client's list; no overlap = no ALPN at all (the connection goes
// on as HTTP/1.1) rather than a failed handshake.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  static constexpr absl::string_view kPreference[] = {"h2", "http/1.1"};
  for (absl::string_view want : kPreference) {
    if (want == "h2" && !offer_h2.load(std::memory_order_relaxed)) continue;
    for (unsigned int i = 0; i < inlen;) {
      const unsigned int len = in[i];
      if (i + 1 + len > inlen) break;
      if (absl::string_view(reinterpret_cast<const char*>(in + i + 1), len) == want) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

absl::Time Asn1ToTime(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfiniteFuture();
  return absl::FromTM(tm, absl::UTCTimeZone());
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

}  // namespace

void SslCtxDeleter::operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }

void SetOfferH2(bool offer) { offer_h2 = offer; }

void SetSessionLifetime(absl::Duration lifetime) {
  session_lifetime_s.store(std::max<int64_t>(1, absl::ToInt64Seconds(lifetime)));
}

std::string OpenSslErrorText() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

absl::StatusOr<SslCtxPtr> NewServerContext() {
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (raw == nullptr) return absl::InternalError(absl::StrCat("SSL_CTX_new: ", OpenSslErrorText()));
  SslCtxPtr ctx(raw, SslCtxDeleter());
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(raw, TLS1_3_VERSION);
  if (SSL_CTX_set_cipher_list(raw, kTls12Ciphers) != 1 || SSL_CTX_set_ciphersuites(raw, kTls13Suites) != 1 ||
      SSL_CTX_set1_groups_list(raw, kGroups) != 1) {
    return absl::InternalError(absl::StrCat("TLS policy: ", OpenSslErrorText()));
  }
  // Mozilla intermediate: every offered suite is strong, so the client (which knows whether it
  // has AES hardware) picks.
  SSL_CTX_clear_options(raw, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Idle connections give their 2×~17 KB record buffers back; the write buffer may move
  // between retries (IoBuffer compacts) and partial writes are fine for a byte stream.
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One read() takes as many records as have arrived (without it, two per record: header,
  // then body). Readers must drain Transport::has_pending(): epoll cannot see those bytes.
  SSL_CTX_set_read_ahead(raw, 1);
  // Tickets carry the session state: no server-side cache to share between workers.
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_session_id_context(raw, kSessionIdContext, sizeof(kSessionIdContext) - 1);
  SSL_CTX_set_timeout(raw, session_lifetime_s.load());
  TicketKeyRing::Install(raw);
  SSL_CTX_set_alpn_select_cb(raw, SelectAlpn, nullptr);
  return ctx;
}

absl::StatusOr<SslCtxPtr> NewCertificateContext(absl::string_view cert_pem_bundle, absl::string_view key_pem,
                                                absl::Time* not_after) {
  ERR_clear_error();
  absl::StatusOr<SslCtxPtr> ctx = NewServerContext();
  if (!ctx.ok()) return ctx.status();
  std::unique_ptr<BIO, BioFree> certs(BIO_new_mem_buf(cert_pem_bundle.data(), static_cast<int>(cert_pem_bundle.size())));
  std::unique_ptr<X509, X509Free> leaf(PEM_read_bio_X509_AUX(certs.get(), nullptr, nullptr, nullptr));
  if (leaf == nullptr) return absl::InvalidArgumentError(absl::StrCat("certificate PEM: ", OpenSslErrorText()));
  if (SSL_CTX_use_certificate(ctx->get(), leaf.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("certificate: ", OpenSslErrorText()));
  }
  while (X509* extra = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx->get(), extra) != 1) {  // takes ownership on success
      X509_free(extra);
      return absl::InvalidArgumentError(absl::StrCat("chain certificate: ", OpenSslErrorText()));
    }
  }
  ERR_clear_error();  // the loop ends on "no start line"
  std::unique_ptr<BIO, BioFree> key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  std::unique_ptr<EVP_PKEY, PkeyFree> key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) return absl::InvalidArgumentError(absl::StrCat("private key PEM: ", OpenSslErrorText()));
  if (SSL_CTX_use_PrivateKey(ctx->get(), key.get()) != 1 || SSL_CTX_check_private_key(ctx->get()) != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("private key does not match the certificate: ", OpenSslErrorText()));
  }
  if (not_after != nullptr) *not_after = Asn1ToTime(X509_get0_notAfter(leaf.get()));
  return ctx;
}

absl::StatusOr<SslCtxPtr> LoadCertificateFile(const std::string& path, absl::Time* not_after) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buf;
  buf << in.rdbuf();
  std::string pem = buf.str();
  // The key and the chain may come in any order; PEM readers skip blocks of other types.
  absl::StatusOr<SslCtxPtr> ctx = NewCertificateContext(pem, pem, not_after);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!ctx.ok()) return absl::Status(ctx.status().code(), absl::StrCat(path, ": ", ctx.status().message()));
  return ctx;
}

}  // namespace edgerouter::tls
