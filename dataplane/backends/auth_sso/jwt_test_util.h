// Test-side ID server pieces: Ed25519 key pairs made with OpenSSL, JWTs signed with them, and
// the JWKS that publishes them.
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_AUTH_SSO_JWT_TEST_UTIL_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_AUTH_SSO_JWT_TEST_UTIL_H_

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <vector>

namespace edgerouter::backends::sso {

class TestSigner {
 public:
  explicit TestSigner(std::string kid);
  const std::string& kid() const { return kid_; }
  // The JWKS entry: {"kty":"OKP","crv":"Ed25519","kid":...,"x":...}.
  std::string JwkJson() const;
  std::string RawPublicKey() const;
  // A compact JWT with header {"alg":"EdDSA","typ":"JWT","kid":kid} over `payload_json`.
  std::string Sign(const std::string& payload_json) const;
  // A token for `sub` and `aud` expiring `ttl_seconds` from now (negative: already expired).
  std::string Token(const std::string& sub, const std::string& aud, long ttl_seconds) const;

 private:
  std::string kid_;
  std::shared_ptr<EVP_PKEY> key_;
};

std::string JwksJson(const std::vector<const TestSigner*>& signers);

}  // namespace edgerouter::backends::sso

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_AUTH_SSO_JWT_TEST_UTIL_H_
