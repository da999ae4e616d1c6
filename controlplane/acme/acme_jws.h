// ACME account keys and request signing (RFC 8555 §6.2): ES256 (ECDSA P-256 + SHA-256) keys,
// their JWK (RFC 7517/7518) and thumbprint (RFC 7638), and flattened JWS objects (RFC 7515
// §7.2.2) carrying `alg`, `nonce`, `url` and either `jwk` (new account) or `kid` (account URL).
//
// OpenSSL 3 EVP APIs only. Keys never appear in logs or error messages.
#ifndef EDGEROUTER_CONTROLPLANE_ACME_ACME_JWS_H_
#define EDGEROUTER_CONTROLPLANE_ACME_ACME_JWS_H_

#include <openssl/evp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace edgerouter::acme {

struct EvpPkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// base64url without padding (RFC 7515 §2), the encoding of every JWS part and JWK member.
std::string Base64Url(absl::string_view bytes);

// A fresh ECDSA P-256 key.
absl::StatusOr<EvpPkeyPtr> GenerateP256Key();
// Unencrypted PKCS#8 PEM of a private key, in memory only.
absl::StatusOr<std::string> PrivateKeyToPem(EVP_PKEY* key);

// An ACME account key: immutable, cheap to copy (the EVP_PKEY is shared).
class AccountKey {
 public:
  static absl::StatusOr<AccountKey> Generate();
  // PKCS#8 ("PRIVATE KEY") or SEC1 ("EC PRIVATE KEY") PEM of a P-256 key; `what` names the
  // source in errors (e.g. the file).
  static absl::StatusOr<AccountKey> FromPem(absl::string_view pem, absl::string_view what = "account key");
  static absl::StatusOr<AccountKey> LoadFile(const std::string& path);

  // PKCS#8 PEM. SaveFile writes it with mode 0600 (temp file + rename, so a reader never sees
  // half a key).
  absl::StatusOr<std::string> ToPem() const;
  absl::Status SaveFile(const std::string& path) const;

  // {"crv":"P-256","kty":"EC","x":…,"y":…}: coordinates are 32 bytes each, leading zeros kept.
  const nlohmann::json& jwk() const { return jwk_; }
  // base64url(SHA-256(JWK members in lexicographic order, no whitespace)) (RFC 7638 §3).
  const std::string& thumbprint() const { return thumbprint_; }
  // ES256 signature of `data`: R||S, 32 bytes each (RFC 7518 §3.4), not DER.
  absl::StatusOr<std::string> Sign(absl::string_view data) const;
  EVP_PKEY* pkey() const { return key_.get(); }

 private:
  static absl::StatusOr<AccountKey> FromPkey(EvpPkeyPtr key, absl::string_view what);

  std::shared_ptr<EVP_PKEY> key_;
  nlohmann::json jwk_;
  std::string thumbprint_;
};

// Protected header members of one request. `kid` empty: the JWK goes in instead (newAccount,
// and account lookups with onlyReturnExisting).
struct JwsHeader {
  std::string nonce;
  std::string url;
  std::string kid;
};

// The flattened JSON serialization {"protected","payload","signature"}. `payload` is the JSON
// text of the request; empty means POST-as-GET (RFC 8555 §6.3: the payload is "").
absl::StatusOr<std::string> SignJws(const AccountKey& key, const JwsHeader& header,
                                    absl::string_view payload);

// HTTP-01 key authorization: token "." thumbprint (RFC 8555 §8.1).
std::string KeyAuthorization(absl::string_view token, const AccountKey& key);

}  // namespace edgerouter::acme

#endif  // EDGEROUTER_CONTROLPLANE_ACME_ACME_JWS_H_
