// Tokens and key sets come from clients and from the ID server: any bytes either parse or are
// refused (never a crash); a parsed token's signing input is exactly its first two segments, and
// verifying it against a key set's keys never crashes. A token holds no newline, so an input
// `token\njwks` gives both (the seed is a token signed by its key set's key, reaching the
// signature check); an input without one is tried as either.
#include <cstdint>
#include <cstdlib>

#include "dataplane/backends/auth_sso/jwt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgerouter::backends::sso;
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::string_view jwks = text;
  if (const size_t nl = text.find('\n'); nl != absl::string_view::npos) {
    jwks = text.substr(nl + 1);
    text = text.substr(0, nl);
  }
  absl::StatusOr<Jwt> jwt = ParseJwt(text);
  absl::StatusOr<KeySet> keys = ParseJwks(jwks);
  if (jwt.ok()) {
    const size_t last_dot = text.rfind('.');
    if (last_dot == absl::string_view::npos || jwt->signing_input != text.substr(0, last_dot)) abort();
    if (keys.ok()) {
      for (const auto& [kid, key] : *keys) (void)VerifySignature(*jwt, key.get());
    }
  }
  return 0;
}
