#include "controlplane/docker/traefik_policies.h"

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/net/ip_prefix.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace edgerouter::controlplane::docker {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr absl::string_view kMiddlewarePrefix = "traefik.http.middlewares.";
constexpr absl::string_view kRouterPrefix = "traefik.http.routers.";
constexpr absl::string_view kServicePrefix = "traefik.http.services.";

// One label below a middleware, router or service name.
struct Option {
  std::string path;      // lowercased, relative to the name: "ratelimit.average"
  std::string raw_path;  // as written (custom header names keep their case)
  const std::string* key;
  const std::string* value;
};

class Problems {
 public:
  void Add(const Option& o, absl::string_view what) { list_.push_back(absl::StrCat(*o.key, ": ", what)); }
  void Add(std::string problem) { list_.push_back(std::move(problem)); }
  void Unsupported(const Option& o) { Add(o, "not supported by edgerouter"); }
  void BadValue(const Option& o, absl::string_view expected) {
    Add(o, absl::StrCat("\"", *o.value, "\" is not ", expected));
  }
  bool empty() const { return list_.empty(); }
  absl::Status ToStatus() const {
    return list_.empty() ? absl::OkStatus() : absl::InvalidArgumentError(absl::StrJoin(list_, "; "));
  }

 private:
  std::vector<std::string> list_;
};

// Labels below `prefix`, grouped by the (lowercased) name that follows it.
std::map<std::string, std::vector<Option>> GroupByName(const std::map<std::string, std::string>& labels,
                                                       absl::string_view prefix) {
  std::map<std::string, std::vector<Option>> out;
  for (const auto& [key, value] : labels) {
    if (key.size() <= prefix.size() || !absl::EqualsIgnoreCase(absl::string_view(key).substr(0, prefix.size()), prefix)) {
      continue;
    }
    absl::string_view rest = absl::string_view(key).substr(prefix.size());
    const size_t dot = rest.find('.');
    if (dot == 0 || dot == absl::string_view::npos || dot + 1 == rest.size()) continue;
    const std::string raw(rest.substr(dot + 1));
    out[absl::AsciiStrToLower(rest.substr(0, dot))].push_back(
        Option{absl::AsciiStrToLower(raw), raw, &key, &value});
  }
  return out;
}

// strconv.ParseBool, which Traefik uses.
bool ParseBool(absl::string_view v, bool* out) {
  if (v == "1" || v == "t" || v == "T" || absl::EqualsIgnoreCase(v, "true")) return *out = true, true;
  if (v == "0" || v == "f" || v == "F" || absl::EqualsIgnoreCase(v, "false")) return *out = false, true;
  return false;
}

// Traefik durations: Go's syntax ("1m30s", "250ms"), or a bare number of seconds. Written to
// the config in Go's syntax.
bool ParseDuration(absl::string_view v, std::string* out) {
  int64_t seconds = 0;
  if (absl::SimpleAtoi(v, &seconds)) {
    if (seconds <= 0) return false;
    *out = absl::StrCat(seconds, "s");
    return true;
  }
  absl::Duration d;
  if (v.empty() || absl::ConsumePrefix(&v, "+") || !absl::ParseDuration(v, &d) ||
      d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) {
    return false;
  }
  *out = std::string(v);
  return true;
}

// Traefik's comma-separated label lists.
std::vector<std::string> ParseList(absl::string_view v) {
  std::vector<std::string> out;
  for (absl::string_view item : absl::StrSplit(v, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

// Traefik option (lowercased) → field of the policy message. Strings named in `durations`
// are validated as durations.
struct FieldMap {
  absl::string_view option;
  absl::string_view field;
  bool duration = false;
};

// Sets `field` of `m` from the option's value, or adds a problem when the value is bad.
void SetField(const Option& o, Message* m, absl::string_view field_name, bool duration, Problems* problems) {
  const FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(std::string(field_name));
  const auto* r = m->GetReflection();
  const absl::string_view v = absl::StripAsciiWhitespace(*o.value);
  if (f->is_repeated()) {
    std::vector<std::string> items = ParseList(v);
    if (items.empty()) return problems->BadValue(o, "a comma-separated list");
    r->ClearField(m, f);
    for (std::string& item : items) r->AddString(m, f, std::move(item));
    return;
  }
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool b = false;
      if (!ParseBool(v, &b)) return problems->BadValue(o, "a boolean");
      return r->SetBool(m, f, b);
    }
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t n = 0;
      const bool u32 = f->cpp_type() == FieldDescriptor::CPPTYPE_UINT32;
      if (!absl::SimpleAtoi(v, &n) || (u32 && n > std::numeric_limits<uint32_t>::max())) {
        return problems->BadValue(o, "a non-negative integer");
      }
      return u32 ? r->SetUInt32(m, f, static_cast<uint32_t>(n)) : r->SetUInt64(m, f, n);
    }
    default: {
      std::string s(v);
      if (duration && !ParseDuration(v, &s)) return problems->BadValue(o, "a duration (\"10s\", \"250ms\")");
      if (s.empty()) return problems->BadValue(o, "a non-empty string");
      return r->SetString(m, f, std::move(s));
    }
  }
}

// Sets the mapped field for `o.path` (relative to `prefix`), true when the option is known.
bool SetMapped(const Option& o, absl::string_view prefix, std::initializer_list<FieldMap> table, Message* m,
               Problems* problems) {
  absl::string_view rest = o.path;
  if (!absl::ConsumePrefix(&rest, prefix)) return false;
  for (const FieldMap& fm : table) {
    if (rest == fm.option) {
      SetField(o, m, fm.field, fm.duration, problems);
      return true;
    }
  }
  return false;
}

// A defined middleware: its kind and the policies it stands for.
struct Middleware {
  std::string kind;  // "compress", "ratelimit", "headers", "retry", "ipallowlist"
  config::v1::Policies policies;
};

void ParseCompress(const std::vector<Option>& options, config::v1::Policies* p, Problems* problems) {
  config::v1::CompressPolicy* c = p->mutable_compress();
  for (const Option& o : options) {
    if (o.path == "compress") {
      bool on = false;
      if (!ParseBool(*o.value, &on) || !on) problems->BadValue(o, "\"true\"");
    } else if (!SetMapped(o, "compress.",
                          {{"excludedcontenttypes", "excluded_content_types"},
                           {"includedcontenttypes", "included_content_types"},
                           {"minresponsebodybytes", "min_response_body_bytes"},
                           {"encodings", "encodings"}},
                          c, problems)) {
      problems->Unsupported(o);
    }
  }
}

void ParseRateLimit(const std::vector<Option>& options, config::v1::Policies* p, Problems* problems) {
  config::v1::RateLimitPolicy rl;
  rl.set_burst(1);  // Traefik's default burst (ours would be `average`)
  for (const Option& o : options) {
    if (o.path == "ratelimit.sourcecriterion.requesthost") {
      bool by_host = false;
      if (!ParseBool(*o.value, &by_host)) problems->BadValue(o, "a boolean");
      // One bucket per requested host ≈ one per app: an app's routers share one bucket.
      if (by_host) rl.set_per("app");
    } else if (!SetMapped(o, "ratelimit.",
                          {{"average", "average"}, {"burst", "burst"}, {"period", "period", true}}, &rl,
                          problems)) {
      problems->Unsupported(o);
    }
  }
  // Traefik: average 0 (the default) means no rate limiting.
  if (rl.average() > 0) *p->mutable_rate_limit() = std::move(rl);
}

void ParseHeaders(const std::vector<Option>& options, config::v1::Policies* p, Problems* problems) {
  config::v1::HeadersPolicy* h = p->mutable_headers();
  for (const Option& o : options) {
    absl::string_view raw = o.raw_path;
    raw.remove_prefix(sizeof("headers.") - 1);
    auto custom = [&](absl::string_view option, google::protobuf::Map<std::string, std::string>* map) {
      if (!absl::StartsWithIgnoreCase(raw, absl::StrCat(option, "."))) return false;
      const absl::string_view name = raw.substr(option.size() + 1);
      if (name.empty() || absl::StrContains(name, '.')) {
        problems->Add(o, "expected one header name after the option");
      } else {
        (*map)[std::string(name)] = *o.value;  // "" removes the header, as in Traefik
      }
      return true;
    };
    if (custom("customrequestheaders", h->mutable_custom_request_headers()) ||
        custom("customresponseheaders", h->mutable_custom_response_headers())) {
      continue;
    }
    // Traefik sets these response headers verbatim.
    if (o.path == "headers.contentsecuritypolicy") {
      (*h->mutable_custom_response_headers())["Content-Security-Policy"] = *o.value;
    } else if (o.path == "headers.permissionspolicy") {
      (*h->mutable_custom_response_headers())["Permissions-Policy"] = *o.value;
    } else if (!SetMapped(o, "headers.",
                          {{"stsseconds", "sts_seconds"},
                           {"stsincludesubdomains", "sts_include_subdomains"},
                           {"stspreload", "sts_preload"},
                           {"contenttypenosniff", "content_type_nosniff"},
                           {"framedeny", "frame_deny"},
                           {"customframeoptionsvalue", "custom_frame_options_value"},
                           {"referrerpolicy", "referrer_policy"},
                           {"accesscontrolalloworiginlist", "access_control_allow_origin_list"},
                           {"accesscontrolallowmethods", "access_control_allow_methods"},
                           {"accesscontrolallowheaders", "access_control_allow_headers"},
                           {"accesscontrolexposeheaders", "access_control_expose_headers"},
                           {"accesscontrolallowcredentials", "access_control_allow_credentials"},
                           {"accesscontrolmaxage", "access_control_max_age"}},
                          h, problems)) {
      problems->Unsupported(o);
    }
  }
}

void ParseRetry(const std::vector<Option>& options, config::v1::Policies* p, Problems* problems) {
  config::v1::RetryPolicy* r = p->mutable_retry();
  for (const Option& o : options) {
    if (!SetMapped(o, "retry.", {{"attempts", "attempts"}, {"initialinterval", "initial_interval", true}}, r,
                   problems)) {
      problems->Unsupported(o);
    }
  }
  if (r->attempts() == 0) problems->Add(absl::StrCat(*options.front().key, ": retry needs attempts >= 1"));
}

// Only http→https: plain HTTP to a Docker app is already redirected (its frontends never allow
// insecure HTTP), so the middleware asks for nothing more. Routers using it are the plain-HTTP
// twins of the HTTPS ones and take no part in the per-app middleware comparison.
void ParseRedirectScheme(const std::vector<Option>& options, Problems* problems) {
  bool has_scheme = false;
  for (const Option& o : options) {
    if (o.path == "redirectscheme.scheme") {
      has_scheme = true;
      if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(*o.value), "https")) {
        problems->BadValue(o, "\"https\" (edgerouter only redirects plain HTTP to HTTPS)");
      }
    } else if (o.path == "redirectscheme.permanent") {
      bool permanent = false;
      if (!ParseBool(*o.value, &permanent)) problems->BadValue(o, "a boolean");
    } else {
      problems->Unsupported(o);
    }
  }
  if (!has_scheme) problems->Add(absl::StrCat(*options.front().key, ": redirectScheme needs scheme=https"));
}

void ParseIpAllowList(absl::string_view kind, const std::vector<Option>& options, config::v1::Policies* p,
                      Problems* problems) {
  for (const Option& o : options) {
    if (o.path != absl::StrCat(kind, ".sourcerange")) {
      problems->Unsupported(o);
      continue;
    }
    std::vector<std::string> ranges = ParseList(*o.value);
    if (ranges.empty()) problems->BadValue(o, "a list of CIDR ranges");
    for (std::string& range : ranges) {
      absl::StatusOr<net::IpPrefix> prefix = net::IpPrefix::Parse(range);
      if (!prefix.ok()) {
        problems->Add(o, prefix.status().message());  // names the range
      } else {
        p->add_ip_allow_list(std::move(range));
      }
    }
  }
}

std::optional<Middleware> ParseMiddleware(const std::vector<Option>& options, Problems* problems) {
  std::string kind;
  for (const Option& o : options) {
    const std::string first = o.path.substr(0, o.path.find('.'));
    if (kind.empty()) kind = first;
    if (first != kind) {
      problems->Add(o, absl::StrCat("a middleware has one kind; this one is already ", kind));
      return std::nullopt;
    }
  }
  Middleware m{kind == "ipwhitelist" ? "ipallowlist" : kind, {}};
  if (kind == "compress") {
    ParseCompress(options, &m.policies, problems);
  } else if (kind == "ratelimit") {
    ParseRateLimit(options, &m.policies, problems);
  } else if (kind == "headers") {
    ParseHeaders(options, &m.policies, problems);
  } else if (kind == "redirectscheme") {
    ParseRedirectScheme(options, problems);
  } else if (kind == "retry") {
    ParseRetry(options, &m.policies, problems);
  } else if (kind == "ipallowlist" || kind == "ipwhitelist") {
    ParseIpAllowList(kind, options, &m.policies, problems);
  } else {
    problems->Add(options.front(), absl::StrCat("middleware kind \"", kind, "\" is not supported by edgerouter"));
    return std::nullopt;
  }
  return m;
}

// Adds one attached middleware to the app's policies. Headers middlewares combine (maps merge,
// a later one wins per key); two of any other kind would be ambiguous and are refused.
void Attach(const std::string& name, const Middleware& m, config::v1::Policies* policies, std::map<std::string, std::string>* kinds,
            Problems* problems) {
  auto [it, first] = kinds->emplace(m.kind, name);
  if (!first && m.kind != "headers") {
    problems->Add(absl::StrCat("middlewares ", it->second, " and ", name, " are both ", m.kind,
                               "; edgerouter applies one per app"));
    return;
  }
  policies->MergeFrom(m.policies);
}

void ParseLoadBalancer(const std::map<std::string, std::vector<Option>>& services, config::v1::ReverseProxyOpts* rp,
                       Problems* problems) {
  std::string health_service;
  for (const auto& [service, options] : services) {
    for (const Option& o : options) {
      if (absl::StartsWith(o.path, "loadbalancer.healthcheck.")) {
        health_service = service;
        if (!SetMapped(o, "loadbalancer.healthcheck.",
                       {{"path", "path"},
                        {"interval", "interval", true},
                        {"timeout", "timeout", true},
                        {"hostname", "hostname"},
                        {"status", "expected_status"}},
                       rp->mutable_health_check(), problems)) {
          problems->Unsupported(o);
        }
      } else if (o.path == "loadbalancer.sticky.cookie" || o.path == "loadbalancer.sticky") {
        bool on = false;
        if (!ParseBool(*o.value, &on)) problems->BadValue(o, "a boolean");
        if (on) rp->mutable_sticky();
      } else if (absl::StartsWith(o.path, "loadbalancer.sticky.")) {
        config::v1::Sticky* s = rp->mutable_sticky();
        if (!SetMapped(o, "loadbalancer.sticky.cookie.",
                       {{"name", "cookie_name"},
                        {"secure", "secure"},
                        {"httponly", "http_only"},
                        {"samesite", "same_site"},
                        {"maxage", "max_age_seconds"}},
                       s, problems)) {
          problems->Unsupported(o);
        } else if (o.path == "loadbalancer.sticky.cookie.samesite") {
          std::string v = absl::AsciiStrToLower(absl::StripAsciiWhitespace(*o.value));
          if (v != "none" && v != "lax" && v != "strict") problems->BadValue(o, "none, lax or strict");
          s->set_same_site(std::move(v));
        }
      } else if (o.path == "loadbalancer.server.weight") {
        problems->Add(o, "per-server weights are not supported from labels (use origin_weights in the app JSON)");
      }
    }
  }
  if (rp->has_health_check()) {
    config::v1::HealthCheck* hc = rp->mutable_health_check();
    if (hc->path().empty()) {
      problems->Add(absl::StrCat(kServicePrefix, health_service, ".loadbalancer.healthcheck: path is required"));
    }
    if (hc->interval().empty()) hc->set_interval("30s");  // Traefik's default (ours is 10s)
  }
}

}  // namespace

absl::Status ApplyTraefikPolicies(const std::map<std::string, std::string>& labels, config::v1::Application* app,
                                  config::v1::ReverseProxyOpts* rp) {
  Problems problems;
  // Every middleware is checked, attached or not: a typo must not pass unnoticed.
  const std::map<std::string, std::vector<Option>> middlewares = GroupByName(labels, kMiddlewarePrefix);
  std::map<std::string, Middleware> defined;  // those of a known kind
  for (const auto& [name, options] : middlewares) {
    if (std::optional<Middleware> m = ParseMiddleware(options, &problems)) defined[name] = *std::move(m);
  }

  // Routers and the middlewares they attach; policies are per app, so every router of the
  // container must attach the same list.
  std::optional<std::pair<std::string, std::vector<std::string>>> chosen;
  for (const auto& [router, options] : GroupByName(labels, kRouterPrefix)) {
    std::vector<std::string> names;
    bool is_router = false, redirects = false;
    for (const Option& o : options) {
      if (o.path == "rule") is_router = true;
      if (o.path != "middlewares") continue;
      is_router = true;
      for (std::string& name : ParseList(*o.value)) {
        absl::string_view n = name;
        const bool docker = absl::ConsumeSuffix(&n, "@docker") || absl::ConsumeSuffix(&n, "@swarm");
        if (!docker && absl::StrContains(n, '@')) {
          problems.Add(o, absl::StrCat("middleware ", name, ": only middlewares from Docker labels are supported"));
          continue;
        }
        const std::string lower = absl::AsciiStrToLower(n);
        if (!middlewares.contains(lower)) {
          problems.Add(o, absl::StrCat("middleware ", name, " is not defined on this container"));
          continue;
        }
        auto it = defined.find(lower);
        redirects |= it != defined.end() && it->second.kind == "redirectscheme";
        names.push_back(lower);
      }
    }
    // A router that redirects to HTTPS serves nothing itself (edgerouter redirects already).
    if (!is_router || redirects) continue;
    if (!chosen.has_value()) {
      chosen.emplace(router, std::move(names));
    } else if (chosen->second != names) {
      problems.Add(absl::StrCat("routers ", chosen->first, " and ", router,
                                " attach different middlewares; edgerouter applies policies per app"));
    }
  }
  if (chosen.has_value()) {
    config::v1::Policies policies;
    std::map<std::string, std::string> kinds;
    for (const std::string& name : chosen->second) {
      auto it = defined.find(name);
      if (it != defined.end()) Attach(name, it->second, &policies, &kinds, &problems);
    }
    if (policies.ByteSizeLong() > 0) *app->mutable_policies() = std::move(policies);
  }

  ParseLoadBalancer(GroupByName(labels, kServicePrefix), rp, &problems);
  return problems.ToStatus();
}

}  // namespace edgerouter::controlplane::docker
