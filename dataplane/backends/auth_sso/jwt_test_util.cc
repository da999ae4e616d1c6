#include "dataplane/backends/auth_sso/jwt_test_util.h"

#include <ctime>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace edgerouter::backends::sso {

TestSigner::TestSigner(std::string kid)
    : kid_(std::move(kid)), key_(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free) {}

std::string TestSigner::RawPublicKey() const {
  unsigned char raw[32];
  size_t len = sizeof(raw);
  EVP_PKEY_get_raw_public_key(key_.get(), raw, &len);
  return std::string(reinterpret_cast<char*>(raw), len);
}

std::string TestSigner::JwkJson() const {
  return absl::StrCat(R"({"kty":"OKP","crv":"Ed25519","use":"sig","alg":"EdDSA","kid":")", kid_, R"(","x":")",
                      absl::WebSafeBase64Escape(RawPublicKey()), "\"}");
}

std::string TestSigner::Sign(const std::string& payload_json) const {
  const std::string input =
      absl::StrCat(absl::WebSafeBase64Escape(absl::StrCat(R"({"alg":"EdDSA","typ":"JWT","kid":")", kid_, "\"}")), ".",
                   absl::WebSafeBase64Escape(payload_json));
  unsigned char sig[64];
  size_t len = sizeof(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_.get());
  EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(ctx);
  return absl::StrCat(input, ".", absl::WebSafeBase64Escape(std::string(reinterpret_cast<char*>(sig), len)));
}

std::string TestSigner::Token(const std::string& sub, const std::string& aud, long ttl_seconds) const {
  const long now = static_cast<long>(std::time(nullptr));
  return Sign(absl::StrCat(R"({"sub":")", sub, R"(","aud":[")", aud, R"("],"iat":)", now, R"(,"exp":)", now + ttl_seconds,
                           "}"));
}

std::string JwksJson(const std::vector<const TestSigner*>& signers) {
  std::vector<std::string> keys;
  for (const TestSigner* s : signers) keys.push_back(s->JwkJson());
  return absl::StrCat(R"({"keys":[)", absl::StrJoin(keys, ","), "]}");
}

}  // namespace edgerouter::backends::sso
