#include "dataplane/backends/auth_v0/auth_v0.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <memory>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/strip.h"

namespace edgerouter::backends {
namespace {

// Constant-time token comparison: hashing first hides the length as well.
bool TokenEquals(absl::string_view a, absl::string_view b) {
  unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof(da)) == 0;
}

class AuthV0 : public pipeline::AccessStage {
 public:
  explicit AuthV0(std::string token) : token_(std::move(token)) {}
  absl::string_view name() const override { return "auth_v0"; }

  pipeline::Verdict Check(pipeline::Exchange& exchange) const override {
    if (!Authorized(exchange.request_header("Authorization"))) {
      exchange.SendLocal(401, "text/plain; charset=utf-8", "Unauthorized\n",
                         "WWW-Authenticate: Basic realm=\"Use Authorization: Bearer or provide it as password\"\r\n");
      return pipeline::Verdict::kAnswered;
    }
    exchange.StripAuthorization();  // the token is ours, not the backend's
    return pipeline::Verdict::kContinue;
  }

 private:
  bool Authorized(std::optional<absl::string_view> header) const {
    if (!header.has_value()) return false;
    absl::string_view value = *header;
    if (absl::ConsumePrefix(&value, "Bearer ")) return TokenEquals(value, token_);
    if (!absl::ConsumePrefix(&value, "Basic ")) return false;
    std::string decoded;
    if (!absl::Base64Unescape(value, &decoded)) return false;
    const size_t colon = decoded.find(':');
    if (colon == std::string::npos) return false;
    const absl::string_view user = absl::string_view(decoded).substr(0, colon);
    const absl::string_view password = absl::string_view(decoded).substr(colon + 1);
    return (user.empty() || user == "x") && TokenEquals(password, token_);
  }

  const std::string token_;
};

}  // namespace

absl::Status CompileAuthV0(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                           pipeline::ChainBuilder* chain) {
  if (!backend.has_auth_v0_opts()) return context.Required("auth_v0_opts");
  const auto& o = backend.auth_v0_opts();
  const pipeline::CompileContext opts = context.Inner("auth_v0_opts");
  if (o.bearer_token().empty()) return opts.Required("bearer_token");
  if (!o.has_authorized_backend()) return opts.Required("authorized_backend");
  chain->AddAccess(std::make_unique<AuthV0>(o.bearer_token()));
  return context.registry->Compile(opts.Inner("authorized_backend"), o.authorized_backend(), chain);
}

}  // namespace edgerouter::backends
