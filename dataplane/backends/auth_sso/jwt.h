// Ed25519 (EdDSA) JSON Web Tokens as function61/id issues them, and the JWKS that publishes
// their keys. Verification is OpenSSL 3's EVP_DigestVerify with an EVP_PKEY_ED25519 key.
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_AUTH_SSO_JWT_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_AUTH_SSO_JWT_H_

#include <openssl/evp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edgerouter::backends::sso {

using PublicKey = std::shared_ptr<EVP_PKEY>;

// kid → key. A JWKS key without a kid is stored under "".
using KeySet = std::map<std::string, PublicKey>;

// {"keys":[{"kty":"OKP","crv":"Ed25519","x":"<base64url>","kid":...}, ...]}; keys of other
// types are ignored, and a set without an Ed25519 key is an error.
absl::StatusOr<KeySet> ParseJwks(absl::string_view json);
// A raw 32-byte Ed25519 public key.
absl::StatusOr<PublicKey> Ed25519PublicKey(absl::string_view raw);

struct Claims {
  std::string sub;
  int64_t exp = 0;  // unix seconds; 0 = none
  std::vector<std::string> aud;
};

struct Jwt {
  std::string kid;
  std::string signing_input;  // "<header>.<payload>" as sent
  std::string signature;      // decoded
  Claims claims;
};

// Splits and decodes; the header must say alg EdDSA. Nothing is verified yet.
absl::StatusOr<Jwt> ParseJwt(absl::string_view token);
// The signature over the signing input with `key`.
bool VerifySignature(const Jwt& jwt, EVP_PKEY* key);

}  // namespace edgerouter::backends::sso

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_AUTH_SSO_JWT_H_
