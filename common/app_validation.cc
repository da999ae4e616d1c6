// Validation of an app (reference §1.2–1.4, the checks the data plane relies on, and the
// traffic policies): every problem as "<JSON path> <what>". Parsing and decoding stay in
// app_config.cc; both are one library with one header (app_config.h).
#include <algorithm>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/app_config.h"
#include "common/duration.h"
#include "common/net/ip_prefix.h"
#include "re2/re2.h"

namespace edgerouter::config {

// The schema types (proto package edgerouter.config.v1) this file validates.
// The schema types (proto package edgerouter.config.v1) this file validates.
using v1::Application;
using v1::Backend;
using v1::Frontend;
using v1::HeadersPolicy;
using v1::Policies;
using v1::RateLimitPolicy;
using v1::ReverseProxyOpts;

namespace {

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

bool IsValidHeaderName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

bool IsValidHeaderValue(absl::string_view value) {
  for (unsigned char c : value) {
    if (c == '\r' || c == '\n' || c == '\0' || (c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

// http(s)://host[:port][/path] with a non-empty host and a numeric port.
bool IsValidOriginUrl(absl::string_view url) {
  absl::string_view rest;
  if (absl::StartsWith(url, "http://")) {
    rest = url.substr(7);
  } else if (absl::StartsWith(url, "https://")) {
    rest = url.substr(8);
  } else {
    return false;
  }
  const size_t slash = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, slash);
  if (authority.empty() || authority.find('@') != absl::string_view::npos) return false;
  size_t port_colon = absl::string_view::npos;
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos || close == 1) return false;
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return false;
      port_colon = close + 1;
    }
  } else {
    port_colon = authority.find(':');
    if (port_colon == 0) return false;
  }
  if (port_colon != absl::string_view::npos) {
    absl::string_view port = authority.substr(port_colon + 1);
    if (port.empty() || port.size() > 5) return false;
    for (char c : port) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    }
    if (std::stoi(std::string(port)) > 65535) return false;
  }
  for (unsigned char c : url) {
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

// Fields the proxy writes itself from the message (framing, hop-by-hop): a headers policy
// setting one would corrupt the message or be ignored, so the config says so instead.
bool IsProxyOwnedField(absl::string_view name) {
  for (absl::string_view owned : {"Connection", "Content-Length", "Transfer-Encoding", "Keep-Alive", "Upgrade",
                                  "Proxy-Connection", "TE", "Trailer", "Host"}) {
    if (absl::EqualsIgnoreCase(name, owned)) return true;
  }
  return false;
}

// A CORS origin: "*" or scheme://host[:port] (no path), as browsers send Origin.
bool IsValidCorsOrigin(absl::string_view origin) {
  if (origin == "*") return true;
  if (!IsValidOriginUrl(origin)) return false;
  const size_t authority = origin.find("//") + 2;
  return origin.find_first_of("/?#", authority) == absl::string_view::npos;
}

bool IsValidObjectId(absl::string_view id) {
  if (id.size() != 43) return false;
  for (char c : id) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  }
  std::string raw;
  return absl::WebSafeBase64Unescape(id, &raw) && raw.size() == 32;
}

class Validator {
 public:
  explicit Validator(std::vector<std::string>* details) : details_(details) {}

  void Required(const std::string& path) { details_->push_back(path + " is required"); }
  void Problem(const std::string& path, absl::string_view what) {
    details_->push_back(absl::StrCat(path, ": ", what));
  }

  void Frontend(const config::v1::Frontend& f, const std::string& path) {
    const std::string& kind = f.kind();
    if (kind.empty()) {
      Required(JoinPath(path, "kind"));
    } else if (kind == "hostname") {
      if (f.hostname().empty()) Required(JoinPath(path, "hostname"));
    } else if (kind == "hostname_regexp") {
      if (f.hostname_regexp().empty()) {
        Required(JoinPath(path, "hostname_regexp"));
      } else {
        RE2 raw(f.hostname_regexp(), RE2::Quiet);
        RE2 converted(HostnameRegexpToRe2(f.hostname_regexp()), RE2::Quiet);
        if (!raw.ok()) {
          Problem(JoinPath(path, "hostname_regexp"), "invalid regexp: " + raw.error());
        } else if (!converted.ok()) {
          Problem(JoinPath(path, "hostname_regexp"),
                  "invalid regexp after {…} conversion: " + converted.error());
        }
      }
    } else if (kind == "path_prefix") {
      if (f.path_prefix().empty()) Required(JoinPath(path, "path_prefix"));
    } else {
      Problem(JoinPath(path, "kind"), "unknown frontend kind: " + kind);
    }
    if (!f.path_prefix().empty() && f.path_prefix()[0] != '/') {
      details_->push_back(JoinPath(path, "path_prefix") + " must start with \"/\"");
    }
  }

  // policies.compress: codings the data plane has encoders for, media types as type/subtype
  // with "*" only as a whole subtype or before a suffix ("text/*", "application/*+json").
  void Compress(const config::v1::CompressPolicy& c, const std::string& path) {
    std::vector<absl::string_view> seen;
    for (int i = 0; i < c.encodings_size(); ++i) {
      const std::string& e = c.encodings(i);
      if (e != "gzip" && e != "br" && e != "zstd") {
        Problem(IndexPath(JoinPath(path, "encodings"), i), absl::StrCat("\"", e, "\" is not one of gzip, br, zstd"));
      } else if (absl::c_linear_search(seen, e)) {
        Problem(IndexPath(JoinPath(path, "encodings"), i), absl::StrCat("\"", e, "\" is listed twice"));
      }
      seen.push_back(e);
    }
    auto types = [&](const google::protobuf::RepeatedPtrField<std::string>& list, absl::string_view field) {
      for (int i = 0; i < list.size(); ++i) {
        const std::string& t = list.Get(i);
        const size_t slash = t.find('/');
        const absl::string_view sub = slash == std::string::npos ? "" : absl::string_view(t).substr(slash + 1);
        const bool star_ok = sub.find('*') == absl::string_view::npos || sub == "*" ||
                             (sub.size() > 2 && sub[0] == '*' && sub[1] == '+' && sub.rfind('*') == 0);
        const bool ok = slash != std::string::npos && slash > 0 && !sub.empty() && star_ok &&
                        t.find_first_of(" ;,\t") == std::string::npos && t.find('/', slash + 1) == std::string::npos &&
                        t.substr(0, slash).find('*') == std::string::npos;
        if (!ok) {
          Problem(IndexPath(JoinPath(path, field), i),
                  absl::StrCat("\"", t, "\" is not a media type (type/subtype, type/*, type/*+suffix)"));
        }
      }
    };
    types(c.included_content_types(), "included_content_types");
    types(c.excluded_content_types(), "excluded_content_types");
  }

  void Backend(const config::v1::Backend& b, const std::string& path) {
    const std::string& kind = b.kind();
    auto opts_path = [&](absl::string_view name) { return JoinPath(path, name); };
    if (kind.empty()) {
      Required(JoinPath(path, "kind"));
    } else if (kind == "reverse_proxy") {
      if (!b.has_reverse_proxy_opts()) return Required(opts_path("reverse_proxy_opts"));
      ReverseProxy(b.reverse_proxy_opts(), opts_path("reverse_proxy_opts"));
    } else if (kind == "s3_static_website") {
      if (!b.has_s3_static_website_opts()) return Required(opts_path("s3_static_website_opts"));
      const auto& o = b.s3_static_website_opts();
      const std::string p = opts_path("s3_static_website_opts");
      if (o.bucket_name().empty()) Required(JoinPath(p, "bucket_name"));
      if (o.region_id().empty()) Required(JoinPath(p, "region_id"));
    } else if (kind == "aws_lambda") {
      if (!b.has_aws_lambda_opts()) return Required(opts_path("aws_lambda_opts"));
      const auto& o = b.aws_lambda_opts();
      const std::string p = opts_path("aws_lambda_opts");
      if (o.function_name().empty()) Required(JoinPath(p, "function_name"));
      if (o.region_id().empty()) Required(JoinPath(p, "region_id"));
      const std::string& v = o.payload_format_version();
      if (!v.empty() && v != "1.0" && v != "2.0") {
        Problem(JoinPath(p, "payload_format_version"), "unrecognized PayloadFormatVersion: " + v);
      }
    } else if (kind == "turbocharger") {
      if (!b.has_turbocharger_opts()) return Required(opts_path("turbocharger_opts"));
      const std::string p = JoinPath(opts_path("turbocharger_opts"), "manifest");
      const std::string& manifest = b.turbocharger_opts().manifest();
      if (manifest.empty()) {
        Required(p);
      } else if (!IsValidObjectId(manifest)) {
        Problem(p, "invalid manifest ID (want 43 characters of unpadded base64url, a SHA-256)");
      }
    } else if (kind == "redirect") {
      if (!b.has_redirect_opts()) return Required(opts_path("redirect_opts"));
      if (b.redirect_opts().to().empty()) Required(JoinPath(opts_path("redirect_opts"), "to"));
    } else if (kind == "auth_v0") {
      if (!b.has_auth_v0_opts()) return Required(opts_path("auth_v0_opts"));
      const auto& o = b.auth_v0_opts();
      const std::string p = opts_path("auth_v0_opts");
      if (o.bearer_token().empty()) Required(JoinPath(p, "bearer_token"));
      if (!o.has_authorized_backend()) {
        Required(JoinPath(p, "authorized_backend"));
      } else {
        Backend(o.authorized_backend(), JoinPath(p, "authorized_backend"));
      }
    } else if (kind == "auth_sso") {
      if (!b.has_auth_sso_opts()) return Required(opts_path("auth_sso_opts"));
      const auto& o = b.auth_sso_opts();
      const std::string p = opts_path("auth_sso_opts");
      if (o.audience().empty()) Required(JoinPath(p, "audience"));
      if (!o.has_authorized_backend()) {
        Required(JoinPath(p, "authorized_backend"));
      } else {
        Backend(o.authorized_backend(), JoinPath(p, "authorized_backend"));
      }
    } else if (kind == "edgerouter_admin" || kind == "prom_metrics") {
      // No options.
    } else {
      Problem(JoinPath(path, "kind"), "unknown backend kind: " + kind);
    }
  }

 private:
  void ReverseProxy(const ReverseProxyOpts& o, const std::string& p) {
    if (o.origins().empty()) Required(JoinPath(p, "origins"));
    for (int i = 0; i < o.origins_size(); ++i) {
      if (!IsValidOriginUrl(o.origins(i))) {
        Problem(IndexPath(JoinPath(p, "origins"), i),
                absl::StrCat("invalid origin URL \"", absl::CHexEscape(o.origins(i)),
                             "\" (want http:// or https://host[:port][/path])"));
      }
    }
    // Sorted so the error order does not depend on map iteration.
    std::vector<std::pair<std::string, std::string>> headers(o.headers_to_origin().begin(),
                                                             o.headers_to_origin().end());
    std::sort(headers.begin(), headers.end());
    for (const auto& [name, value] : headers) {
      const std::string hp = JoinPath(JoinPath(p, "headers_to_origin"), name);
      if (!IsValidHeaderName(name)) Problem(hp, "invalid header name");
      if (!IsValidHeaderValue(value)) Problem(hp, "invalid header value (control character)");
    }
    if (o.has_health_check()) HealthCheck(o.health_check(), JoinPath(p, "health_check"));
    if (o.has_sticky()) Sticky(o.sticky(), JoinPath(p, "sticky"));
    std::vector<std::string> weighted;
    for (const auto& [origin, weight] : o.origin_weights()) weighted.push_back(origin);
    std::sort(weighted.begin(), weighted.end());
    bool any_traffic = o.origin_weights().size() < static_cast<size_t>(o.origins_size());
    for (const std::string& origin : weighted) {
      if (std::find(o.origins().begin(), o.origins().end(), origin) == o.origins().end()) {
        Problem(JoinPath(JoinPath(p, "origin_weights"), origin), "not one of origins");
      }
      if (o.origin_weights().at(origin) > 1000000) {
        Problem(JoinPath(JoinPath(p, "origin_weights"), origin), "weight above 1000000");
      }
    }
    for (const std::string& origin : o.origins()) {
      auto it = o.origin_weights().find(origin);
      any_traffic |= it != o.origin_weights().end() && it->second > 0;
    }
    if (!o.origins().empty() && !any_traffic) Problem(JoinPath(p, "origin_weights"), "every origin has weight 0");
  }

  // A Go-style duration ("500ms", "10s", "1m30s"), positive. Empty passes (the default applies).
  void Duration(const std::string& value, const std::string& path) {
    if (value.empty()) return;
    absl::StatusOr<absl::Duration> d = ParseGoDuration(value);
    if (!d.ok()) Problem(path, d.status().message());
  }

  void HealthCheck(const config::v1::HealthCheck& h, const std::string& p) {
    const std::string path = JoinPath(p, "path");
    if (h.path().empty()) {
      Required(path);
    } else if (h.path()[0] != '/' || !IsValidHeaderValue(h.path()) || h.path().find(' ') != std::string::npos) {
      Problem(path, "must start with \"/\" and hold no spaces or control characters");
    }
    Duration(h.interval(), JoinPath(p, "interval"));
    Duration(h.timeout(), JoinPath(p, "timeout"));
    if (h.expected_status() != 0 && (h.expected_status() < 100 || h.expected_status() > 599)) {
      Problem(JoinPath(p, "expected_status"), "not an HTTP status (100..599)");
    }
    if (h.healthy_threshold() > 100) Problem(JoinPath(p, "healthy_threshold"), "above 100");
    if (h.unhealthy_threshold() > 100) Problem(JoinPath(p, "unhealthy_threshold"), "above 100");
    if (!h.hostname().empty() && (!IsValidHeaderValue(h.hostname()) || h.hostname().find(' ') != std::string::npos)) {
      Problem(JoinPath(p, "hostname"), "invalid Host value");
    }
  }

  void Sticky(const config::v1::Sticky& s, const std::string& p) {
    const std::string& name = s.cookie_name();
    if (!name.empty()) {
      bool token = true;
      for (char c : name) token &= IsTokenChar(c);
      if (!token) Problem(JoinPath(p, "cookie_name"), "invalid cookie name (want an HTTP token)");
    }
    const std::string& same_site = s.same_site();
    if (!same_site.empty() && !absl::EqualsIgnoreCase(same_site, "lax") && !absl::EqualsIgnoreCase(same_site, "strict") &&
        !absl::EqualsIgnoreCase(same_site, "none")) {
      Problem(JoinPath(p, "same_site"), absl::StrCat("\"", absl::CHexEscape(same_site), "\" (want lax, strict or none)"));
    }
    if (absl::EqualsIgnoreCase(same_site, "none") && !s.secure()) {
      Problem(JoinPath(p, "same_site"), "\"none\" needs secure: true (browsers drop such cookies otherwise)");
    }
  }

  void Retry(const config::v1::RetryPolicy& r, const std::string& p) {
    if (r.attempts() < 1 || r.attempts() > 10) Problem(JoinPath(p, "attempts"), "want 1..10 (total tries)");
    Duration(r.per_try_timeout(), JoinPath(p, "per_try_timeout"));
    Duration(r.initial_interval(), JoinPath(p, "initial_interval"));
    if (r.budget_percent() > 100) Problem(JoinPath(p, "budget_percent"), "above 100");
  }

 public:
  void Policies(const config::v1::Policies& p, const std::string& path) {
    if (p.has_rate_limit()) RateLimit(p.rate_limit(), JoinPath(path, "rate_limit"));
    if (p.has_headers()) Headers(p.headers(), JoinPath(path, "headers"));
    if (p.has_retry()) Retry(p.retry(), JoinPath(path, "retry"));
    if (p.has_compress()) Compress(p.compress(), JoinPath(path, "compress"));
  }

 private:
  void RateLimit(const RateLimitPolicy& r, const std::string& p) {
    if (r.average() == 0) Problem(JoinPath(p, "average"), "must be at least 1 (requests per period)");
    if (!r.period().empty()) {
      Duration(r.period(), JoinPath(p, "period"));
    }
    if (!r.per().empty() && r.per() != "client_ip" && r.per() != "app") {
      Problem(JoinPath(p, "per"), absl::StrCat("\"", absl::CHexEscape(r.per()), "\" is not one of client_ip, app"));
    }
  }

  void HeaderMap(const google::protobuf::Map<std::string, std::string>& map, const std::string& p, bool empty_removes) {
    std::vector<std::pair<std::string, std::string>> fields(map.begin(), map.end());
    std::sort(fields.begin(), fields.end());
    for (const auto& [name, value] : fields) {
      const std::string hp = JoinPath(p, name);
      if (!IsValidHeaderName(name)) {
        Problem(hp, absl::StrCat("invalid header name \"", absl::CHexEscape(name), "\""));
      } else if (IsProxyOwnedField(name)) {
        Problem(hp, "this field is written by the proxy and cannot be set by a policy");
      }
      if (!IsValidHeaderValue(value)) Problem(hp, "invalid header value (control character)");
      if (!empty_removes && value.empty()) Problem(hp, "empty value (add_* fields append a value)");
    }
  }

  void TokenList(const google::protobuf::RepeatedPtrField<std::string>& list, const std::string& p) {
    for (int i = 0; i < list.size(); ++i) {
      if (!IsValidHeaderName(list[i])) {
        Problem(IndexPath(p, i), absl::StrCat("\"", absl::CHexEscape(list[i]), "\" is not a token"));
      }
    }
  }

  void Headers(const HeadersPolicy& h, const std::string& p) {
    HeaderMap(h.custom_request_headers(), JoinPath(p, "custom_request_headers"), true);
    HeaderMap(h.custom_response_headers(), JoinPath(p, "custom_response_headers"), true);
    HeaderMap(h.add_request_headers(), JoinPath(p, "add_request_headers"), false);
    HeaderMap(h.add_response_headers(), JoinPath(p, "add_response_headers"), false);
    if (!IsValidHeaderValue(h.custom_frame_options_value())) {
      Problem(JoinPath(p, "custom_frame_options_value"), "invalid header value (control character)");
    }
    if (!h.referrer_policy().empty()) {
      static const char* const kPolicies[] = {"no-referrer", "no-referrer-when-downgrade", "origin",
                                              "origin-when-cross-origin", "same-origin", "strict-origin",
                                              "strict-origin-when-cross-origin", "unsafe-url"};
      bool known = false;
      for (const char* k : kPolicies) known = known || h.referrer_policy() == k;
      if (!known) {
        Problem(JoinPath(p, "referrer_policy"),
                absl::StrCat("\"", absl::CHexEscape(h.referrer_policy()), "\" is not a Referrer-Policy token"));
      }
    }
    bool any_origin = false;
    for (int i = 0; i < h.access_control_allow_origin_list_size(); ++i) {
      const std::string& o = h.access_control_allow_origin_list(i);
      any_origin = any_origin || o == "*";
      if (!IsValidCorsOrigin(o)) {
        Problem(IndexPath(JoinPath(p, "access_control_allow_origin_list"), i),
                absl::StrCat("\"", absl::CHexEscape(o), "\" is not an origin (want \"*\" or scheme://host[:port])"));
      }
    }
    // Browsers refuse "*" with credentials; reflecting any origin instead would hand every site
    // the user's credentials.
    if (any_origin && h.access_control_allow_credentials()) {
      Problem(JoinPath(p, "access_control_allow_credentials"), "cannot be combined with the origin \"*\"");
    }
    TokenList(h.access_control_allow_methods(), JoinPath(p, "access_control_allow_methods"));
    TokenList(h.access_control_allow_headers(), JoinPath(p, "access_control_allow_headers"));
    TokenList(h.access_control_expose_headers(), JoinPath(p, "access_control_expose_headers"));
  }

  std::vector<std::string>* details_;
};

// policies.ip_allow_list: each entry a CIDR prefix or a bare address.
void ValidateIpAllowList(const Policies& p, std::vector<std::string>* details) {
  for (int i = 0; i < p.ip_allow_list_size(); ++i) {
    absl::StatusOr<net::IpPrefix> prefix = net::IpPrefix::Parse(p.ip_allow_list(i));
    if (!prefix.ok()) {
      details->push_back(absl::StrCat(IndexPath("policies.ip_allow_list", i), ": ", prefix.status().message()));
    }
  }
}


}  // namespace

std::vector<std::string> ValidateApplication(const Application& app) {
  std::vector<std::string> details;
  Validator v(&details);
  if (app.id().empty()) v.Required("id");
  if (app.frontends().empty()) v.Required("frontends");
  for (int i = 0; i < app.frontends_size(); ++i) {
    v.Frontend(app.frontends(i), IndexPath("frontends", i));
  }
  if (!app.has_backend()) {
    v.Required("backend");
  } else {
    v.Backend(app.backend(), "backend");
  }
  if (app.has_policies()) v.Policies(app.policies(), "policies");
  ValidateIpAllowList(app.policies(), &details);
  return details;
}

}  // namespace edgerouter::config
