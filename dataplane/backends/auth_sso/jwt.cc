#include "dataplane/backends/auth_sso/jwt.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace edgerouter::backends::sso {
namespace {

absl::StatusOr<std::string> B64(absl::string_view part, absl::string_view what) {
  std::string out;
  // base64url without padding (RFC 7515 §2); padding or the standard alphabet is refused.
  if (part.find('=') != absl::string_view::npos || !absl::WebSafeBase64Unescape(part, &out)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": bad base64url"));
  }
  return out;
}

absl::StatusOr<nlohmann::json> JsonObject(absl::string_view text, absl::string_view what) {
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(what, ": not a JSON object"));
  return j;
}

// The string member `key`, or "" (never throws on other types).
std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

absl::StatusOr<PublicKey> Ed25519PublicKey(absl::string_view raw) {
  if (raw.size() != 32) return absl::InvalidArgumentError("Ed25519 key must be 32 bytes");
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                              reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  if (key == nullptr) return absl::InvalidArgumentError("not an Ed25519 public key");
  return PublicKey(key, EVP_PKEY_free);
}

absl::StatusOr<KeySet> ParseJwks(absl::string_view json) {
  absl::StatusOr<nlohmann::json> doc = JsonObject(json, "JWKS");
  if (!doc.ok()) return doc.status();
  auto keys = doc->find("keys");
  if (keys == doc->end() || !keys->is_array()) return absl::InvalidArgumentError("JWKS: no \"keys\" array");
  KeySet set;
  for (const nlohmann::json& k : *keys) {
    if (!k.is_object() || Str(k, "kty") != "OKP" || Str(k, "crv") != "Ed25519") continue;
    const std::string x = Str(k, "x");
    if (x.empty()) return absl::InvalidArgumentError("JWKS: Ed25519 key without \"x\"");
    absl::StatusOr<std::string> raw = B64(x, "JWKS x");
    if (!raw.ok()) return raw.status();
    absl::StatusOr<PublicKey> key = Ed25519PublicKey(*raw);
    if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat("JWKS: ", key.status().message()));
    set[Str(k, "kid")] = *key;
  }
  if (set.empty()) return absl::InvalidArgumentError("JWKS: no Ed25519 key");
  return set;
}

absl::StatusOr<Jwt> ParseJwt(absl::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return absl::InvalidArgumentError("token is not a JWT");
  absl::StatusOr<std::string> header_text = B64(parts[0], "JWT header");
  if (!header_text.ok()) return header_text.status();
  absl::StatusOr<nlohmann::json> header = JsonObject(*header_text, "JWT header");
  if (!header.ok()) return header.status();
  if (Str(*header, "alg") != "EdDSA") return absl::InvalidArgumentError("JWT alg must be EdDSA");
  absl::StatusOr<std::string> payload_text = B64(parts[1], "JWT payload");
  if (!payload_text.ok()) return payload_text.status();
  absl::StatusOr<nlohmann::json> payload = JsonObject(*payload_text, "JWT payload");
  if (!payload.ok()) return payload.status();
  absl::StatusOr<std::string> signature = B64(parts[2], "JWT signature");
  if (!signature.ok()) return signature.status();

  Jwt jwt;
  jwt.kid = Str(*header, "kid");
  jwt.signing_input = std::string(parts[0]) + "." + std::string(parts[1]);
  jwt.signature = *std::move(signature);
  const nlohmann::json& p = *payload;
  jwt.claims.sub = Str(p, "sub");
  if (auto exp = p.find("exp"); exp != p.end()) {
    if (!exp->is_number()) return absl::InvalidArgumentError("JWT exp is not a number");
    jwt.claims.exp = static_cast<int64_t>(exp->get<double>());
  }
  if (auto it = p.find("aud"); it != p.end()) {
    // A string or an array of strings (RFC 7519 §4.1.3).
    const nlohmann::json& aud = *it;
    if (aud.is_string()) {
      jwt.claims.aud.push_back(aud.get<std::string>());
    } else if (aud.is_array()) {
      for (const nlohmann::json& a : aud) {
        if (a.is_string()) jwt.claims.aud.push_back(a.get<std::string>());
      }
    }
  }
  return jwt;
}

bool VerifySignature(const Jwt& jwt, EVP_PKEY* key) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  // Ed25519 is one-shot: no digest, EVP_DigestVerify over the whole input.
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(jwt.signature.data()), jwt.signature.size(),
                       reinterpret_cast<const unsigned char*>(jwt.signing_input.data()), jwt.signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace edgerouter::backends::sso
