#include "dataplane/backends/auth_sso/auth_sso.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "dataplane/http/escaping.h"

namespace edgerouter::backends {
namespace {

constexpr char kNoCache[] = "Cache-Control: no-store, must-revalidate\r\n";
constexpr char kText[] = "text/plain; charset=utf-8";
constexpr size_t kCacheEntries = 10000;

// Tokens whose signature and audience were checked: a token's checks cost one hash lookup
// after the first request (expiry and the allowed users are still checked every time).
class VerifiedTokens {
 public:
  struct Entry {
    std::string sub;
    int64_t exp;
    // The key set that verified it: after a JWKS change the token is verified again, so a key
    // the ID server withdrew stops working at once rather than at the token's expiry.
    std::shared_ptr<const sso::KeySet> keys;
    // Non-empty: the token failed (signature, audience), remembered too so a forged token
    // replayed in a loop costs a lookup, not an Ed25519 verification each time.
    std::string error;
  };
  std::optional<Entry> Find(absl::string_view token) const {
    absl::MutexLock lock(&mu_);
    auto it = map_.find(token);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  void Add(absl::string_view token, Entry entry) {
    absl::MutexLock lock(&mu_);
    if (map_.size() >= kCacheEntries) map_.clear();  // bounded; refilled by the live tokens
    map_.insert_or_assign(std::string(token), std::move(entry));
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> map_ ABSL_GUARDED_BY(mu_);
};

enum class Outcome { kOk, kExpired, kInvalid, kKeysUnavailable };

struct Validation {
  Outcome outcome;
  std::string sub;    // kOk
  std::string error;  // otherwise
};

bool IsJwtText(absl::string_view token) {
  for (char c : token) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return !token.empty();
}

class AuthSso : public pipeline::AccessStage {
 public:
  AuthSso(SsoOptions options, std::function<std::shared_ptr<const sso::KeySet>()> keys,
          std::function<void()> request_refresh)
      : options_(std::move(options)),
        allowed_(options_.allowed_user_ids.begin(), options_.allowed_user_ids.end()),
        keys_(std::move(keys)),
        request_refresh_(std::move(request_refresh)) {}

  absl::string_view name() const override { return "auth_sso"; }

  pipeline::Verdict Check(pipeline::Exchange& exchange) const override {
    const absl::string_view path = exchange.raw_path();
    if (path == "/_auth/redirect") {
      Redirect(exchange);
      return pipeline::Verdict::kAnswered;
    }
    if (path == "/_auth/logout") {
      Logout(exchange);
      return pipeline::Verdict::kAnswered;
    }
    const std::optional<std::string> token = Token(exchange);
    if (!token.has_value()) {
      Unauthenticated(exchange);
      return pipeline::Verdict::kAnswered;
    }
    Validation v = Validate(*token);
    switch (v.outcome) {
      case Outcome::kOk:
        break;
      case Outcome::kExpired:
        Unauthenticated(exchange);
        return pipeline::Verdict::kAnswered;
      case Outcome::kInvalid:
        exchange.SendLocal(403, kText, absl::StrCat(v.error, "\n"), kNoCache);
        return pipeline::Verdict::kAnswered;
      case Outcome::kKeysUnavailable:
        exchange.SendLocal(503, kText, absl::StrCat("identity server keys unavailable: ", v.error, "\n"),
                           absl::StrCat(kNoCache, "Retry-After: 1\r\n"));
        return pipeline::Verdict::kAnswered;
    }
    if (!allowed_.contains(v.sub)) {
      exchange.SendLocal(403, kText, "Forbidden\n", kNoCache);
      return pipeline::Verdict::kAnswered;
    }
    // The bearer header and the cookie reach the backend, as in edgerouter.
    return pipeline::Verdict::kContinue;
  }

  Validation Validate(const std::string& token) const {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    std::shared_ptr<const sso::KeySet> keys = keys_();
    if (std::optional<VerifiedTokens::Entry> hit = verified_->Find(token); hit.has_value() && hit->keys == keys) {
      if (!hit->error.empty()) return {Outcome::kInvalid, "", hit->error};
      if (hit->exp <= now) return {Outcome::kExpired, "", "token expired"};
      return {Outcome::kOk, hit->sub, ""};
    }
    absl::StatusOr<sso::Jwt> jwt = sso::ParseJwt(token);
    if (!jwt.ok()) return {Outcome::kInvalid, "", std::string(jwt.status().message())};
    if (keys == nullptr) return {Outcome::kKeysUnavailable, "", "not fetched yet"};
    EVP_PKEY* key = nullptr;
    if (auto it = keys->find(jwt->kid); it != keys->end()) {
      key = it->second.get();
    } else if (jwt->kid.empty() && keys->size() == 1) {
      key = keys->begin()->second.get();
    }
    if (key == nullptr) {
      request_refresh_();  // rotated keys: the next fetch may know it
      return {Outcome::kKeysUnavailable, "", absl::StrCat("unknown key id \"", jwt->kid, "\"")};
    }
    std::string error;
    if (!sso::VerifySignature(*jwt, key)) {
      error = "token signature is invalid";
    } else if (std::find(jwt->claims.aud.begin(), jwt->claims.aud.end(), options_.audience) == jwt->claims.aud.end()) {
      error = "token audience mismatch";
    }
    if (!error.empty()) {
      verified_->Add(token, {"", 0, std::move(keys), error});
      return {Outcome::kInvalid, "", error};
    }
    if (jwt->claims.exp == 0) return {Outcome::kInvalid, "", "token has no exp"};
    if (jwt->claims.exp <= now) return {Outcome::kExpired, "", "token expired"};
    verified_->Add(token, {jwt->claims.sub, jwt->claims.exp, std::move(keys), ""});
    return {Outcome::kOk, jwt->claims.sub, ""};
  }

 private:
  static std::optional<std::string> Token(pipeline::Exchange& exchange) {
    if (std::optional<absl::string_view> auth = exchange.request_header("Authorization")) {
      absl::string_view value = *auth;
      if (absl::ConsumePrefix(&value, "Bearer ")) return std::string(value);
    }
    std::optional<absl::string_view> cookies = exchange.request_header("Cookie");
    if (!cookies.has_value()) return std::nullopt;
    absl::string_view rest = *cookies;
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      absl::string_view pair = absl::StripAsciiWhitespace(rest.substr(0, semi));
      rest = semi == absl::string_view::npos ? absl::string_view() : rest.substr(semi + 1);
      if (absl::ConsumePrefix(&pair, "auth=") && !pair.empty()) return std::string(pair);
    }
    return std::nullopt;
  }

  void Unauthenticated(pipeline::Exchange& exchange) const {
    const std::optional<absl::string_view> accept = exchange.request_header("Accept");
    if (!accept.has_value() || !absl::StrContains(*accept, "text/html")) {
      exchange.SendLocal(403, kText, "Forbidden\n", kNoCache);
      return;
    }
    // edgerouter lost the '?' between path and query; the fixed form, as upstream's test has it.
    std::string back(exchange.raw_path());
    if (!exchange.raw_query().empty()) absl::StrAppend(&back, "?", exchange.raw_query());
    const std::string host(exchange.request_header("Host").value_or(""));
    const std::string inner = absl::StrCat("https://", host, "/_auth/redirect?next=", http::QueryEscape(back));
    SendFound(exchange, absl::StrCat(options_.id_server_url, "?next=", http::QueryEscape(inner)), "");
  }

  void Redirect(pipeline::Exchange& exchange) const {
    std::string next, token;
    // Only a path on this site: "//evil.example" and "/\evil.example" are other hosts to browsers.
    if (!http::QueryParam(exchange.raw_query(), "next", &next) || !absl::StartsWith(next, "/") ||
        absl::StartsWith(next, "//") || absl::StartsWith(next, "/\\")) {
      exchange.SendLocal(400, kText, "invalid query param: next must be a path starting with one /\n", kNoCache);
      return;
    }
    if (!http::QueryParam(exchange.raw_query(), "token", &token) || token.empty()) {
      exchange.SendLocal(400, kText, "missing query param: token\n", kNoCache);
      return;
    }
    if (!IsJwtText(token)) {
      exchange.SendLocal(400, kText, "token is not a JWT\n", kNoCache);
      return;
    }
    Validation v = Validate(token);
    if (v.outcome == Outcome::kKeysUnavailable) {
      exchange.SendLocal(503, kText, absl::StrCat("identity server keys unavailable: ", v.error, "\n"),
                         absl::StrCat(kNoCache, "Retry-After: 1\r\n"));
      return;
    }
    if (v.outcome != Outcome::kOk) {
      exchange.SendLocal(400, kText, absl::StrCat(v.error, "\n"), kNoCache);
      return;
    }
    SendFound(exchange, http::PercentEncodeUriReference(next),
              absl::StrCat("Set-Cookie: auth=", token, "; Path=/; HttpOnly; Secure; SameSite=Lax\r\n"));
  }

  void Logout(pipeline::Exchange& exchange) const {
    SendFound(exchange, absl::StrCat(options_.id_server_url, "/logout"),
              "Set-Cookie: auth=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax\r\n");
  }

  // 302 with the no-cache headers (Exchange::SendRedirect cannot add fields).
  static void SendFound(pipeline::Exchange& exchange, const std::string& location, absl::string_view extra) {
    exchange.SendLocal(302, "text/html; charset=utf-8",
                       absl::StrCat("<a href=\"", http::HtmlEscape(location), "\">Found</a>.\n\n"),
                       absl::StrCat("Location: ", location, "\r\n", kNoCache, extra));
  }

  const SsoOptions options_;
  const absl::flat_hash_set<std::string> allowed_;
  const std::function<std::shared_ptr<const sso::KeySet>()> keys_;
  const std::function<void()> request_refresh_;
  const std::shared_ptr<VerifiedTokens> verified_ = std::make_shared<VerifiedTokens>();
};

}  // namespace

std::unique_ptr<const pipeline::AccessStage> MakeAuthSso(SsoOptions options,
                                                         std::function<std::shared_ptr<const sso::KeySet>()> keys,
                                                         std::function<void()> request_refresh) {
  return std::make_unique<AuthSso>(std::move(options), std::move(keys), std::move(request_refresh));
}

absl::Status CompileAuthSso(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                            pipeline::ChainBuilder* chain) {
  if (!backend.has_auth_sso_opts()) return context.Required("auth_sso_opts");
  const config::v1::AuthSsoOpts& opts = backend.auth_sso_opts();
  if (opts.audience().empty()) return context.Required("auth_sso_opts.audience");
  if (!opts.has_authorized_backend()) return context.Required("auth_sso_opts.authorized_backend");
  SsoOptions options;
  options.id_server_url = opts.id_server_url().empty() ? "https://function61.com/id" : opts.id_server_url();
  while (absl::EndsWith(options.id_server_url, "/")) options.id_server_url.pop_back();
  if (!absl::StartsWith(options.id_server_url, "https://") && !absl::StartsWith(options.id_server_url, "http://")) {
    return context.Error("auth_sso_opts.id_server_url", "must be an http(s):// URL");
  }
  options.audience = opts.audience();
  options.allowed_user_ids.assign(opts.allowed_user_ids().begin(), opts.allowed_user_ids().end());
  std::shared_ptr<sso::JwksSource> source = sso::JwksSource::For(options.id_server_url);
  chain->AddAccess(MakeAuthSso(
      std::move(options), [source] { return source->keys(); }, [source] { source->RequestRefresh(); }));
  return context.registry->Compile(context.Inner("auth_sso_opts.authorized_backend"), opts.authorized_backend(), chain);
}

}  // namespace edgerouter::backends
