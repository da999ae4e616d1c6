#include "controlplane/docker/labels.h"

#include <algorithm>
#include <memory>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/app_config.h"

namespace edgerouter::controlplane::docker {
namespace {

constexpr absl::string_view kRouterPrefix = "traefik.http.routers.";
constexpr absl::string_view kRouterRuleSuffix = ".rule";
constexpr absl::string_view kServicePrefix = "traefik.http.services.";

std::string Get(const Labels& labels, absl::string_view key) {
  auto it = labels.find(std::string(key));
  return it == labels.end() ? "" : it->second;
}

// Router rules by router name (std::map order makes the frontend order deterministic).
std::map<std::string, std::string> RouterRules(const Labels& labels) {
  std::map<std::string, std::string> rules;
  for (const auto& [key, value] : labels) {
    absl::string_view k = key;
    if (!absl::ConsumePrefix(&k, kRouterPrefix) || !absl::ConsumeSuffix(&k, kRouterRuleSuffix)) {
      continue;
    }
    if (!k.empty() && !absl::StrContains(k, '.') && !value.empty()) rules[std::string(k)] = value;
  }
  return rules;
}

config::v1::Frontend MakeFrontend(absl::string_view kind, absl::string_view host,
                              absl::string_view path, bool strip) {
  config::v1::Frontend f;
  f.set_kind(std::string(kind));
  if (kind == "hostname") f.set_hostname(std::string(host));
  if (kind == "hostname_regexp") f.set_hostname_regexp(std::string(host));
  f.set_path_prefix(path.empty() ? "/" : std::string(path));
  f.set_strip_path_prefix(strip);
  return f;
}

// ---- v2/v3 rule expressions ----------------------------------------------------------------

struct Token {
  enum Kind { kIdent, kString, kLParen, kRParen, kComma, kAnd, kOr, kNot, kEnd } kind;
  std::string text;
};

absl::StatusOr<std::vector<Token>> Tokenize(absl::string_view rule) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < rule.size()) {
    char c = rule[i];
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) { ++i; continue; }
    if (c == '(') { out.push_back({Token::kLParen, "("}); ++i; continue; }
    if (c == ')') { out.push_back({Token::kRParen, ")"}); ++i; continue; }
    if (c == ',') { out.push_back({Token::kComma, ","}); ++i; continue; }
    if (c == '!') { out.push_back({Token::kNot, "!"}); ++i; continue; }
    if (rule.substr(i, 2) == "&&") { out.push_back({Token::kAnd, "&&"}); i += 2; continue; }
    if (rule.substr(i, 2) == "||") { out.push_back({Token::kOr, "||"}); i += 2; continue; }
    if (c == '`' || c == '"') {
      size_t end = rule.find(c, i + 1);
      if (end == absl::string_view::npos) break;
      out.push_back({Token::kString, std::string(rule.substr(i + 1, end - i - 1))});
      i = end + 1;
      continue;
    }
    if (absl::ascii_isalpha(static_cast<unsigned char>(c))) {
      size_t end = i;
      while (end < rule.size() && absl::ascii_isalnum(static_cast<unsigned char>(rule[end]))) ++end;
      out.push_back({Token::kIdent, std::string(rule.substr(i, end - i))});
      i = end;
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat("unsupported rule: '", rule, "'"));
  }
  if (i < rule.size()) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported rule: '", rule, "'"));
  }
  out.push_back({Token::kEnd, ""});
  return out;
}

struct Node {
  enum Kind { kOr, kAnd, kNot, kMatcher } kind;
  std::string name;               // matcher name
  std::vector<std::string> args;  // matcher arguments
  std::vector<std::unique_ptr<Node>> children;
};

// Recursive descent: or := and ('||' and)*; and := unary ('&&' unary)*;
// unary := '!' unary | '(' or ')' | Ident '(' String (',' String)* ')'.
class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}
  std::unique_ptr<Node> ParseAll() {
    auto n = Or();
    return n && t_[pos_].kind == Token::kEnd ? std::move(n) : nullptr;
  }

 private:
  Token::Kind Peek() const { return t_[pos_].kind; }
  std::unique_ptr<Node> Binary(Token::Kind op, Node::Kind kind, bool is_or) {
    auto first = is_or ? Binary(Token::kAnd, Node::kAnd, false) : Unary();
    if (!first || Peek() != op) return first;
    auto n = std::make_unique<Node>(Node{kind, "", {}, {}});
    n->children.push_back(std::move(first));
    while (Peek() == op) {
      ++pos_;
      auto next = is_or ? Binary(Token::kAnd, Node::kAnd, false) : Unary();
      if (!next) return nullptr;
      n->children.push_back(std::move(next));
    }
    return n;
  }
  std::unique_ptr<Node> Or() { return Binary(Token::kOr, Node::kOr, true); }
  std::unique_ptr<Node> Unary() {
    if (Peek() == Token::kNot) {
      ++pos_;
      auto inner = Unary();
      if (!inner) return nullptr;
      auto n = std::make_unique<Node>(Node{Node::kNot, "", {}, {}});
      n->children.push_back(std::move(inner));
      return n;
    }
    if (Peek() == Token::kLParen) {
      ++pos_;
      auto inner = Or();
      if (!inner || Peek() != Token::kRParen) return nullptr;
      ++pos_;
      return inner;
    }
    if (Peek() != Token::kIdent) return nullptr;
    auto n = std::make_unique<Node>(Node{Node::kMatcher, t_[pos_++].text, {}, {}});
    if (Peek() != Token::kLParen) return nullptr;
    ++pos_;
    while (true) {
      if (Peek() != Token::kString) return nullptr;
      n->args.push_back(t_[pos_++].text);
      if (Peek() == Token::kComma) { ++pos_; continue; }
      if (Peek() != Token::kRParen) return nullptr;
      ++pos_;
      return n;
    }
  }

  std::vector<Token> t_;
  size_t pos_ = 0;
};

// The first matcher we cannot translate, so the error names it.
const Node* FindUnsupportedMatcher(const Node& n) {
  if (n.kind == Node::kMatcher) {
    return n.name == "Host" || n.name == "PathPrefix" ? nullptr : &n;
  }
  for (const auto& c : n.children) {
    if (const Node* bad = FindUnsupportedMatcher(*c)) return bad;
  }
  return nullptr;
}

void CollectConjuncts(const Node& n, std::vector<const Node*>* out) {
  if (n.kind == Node::kAnd) {
    for (const auto& c : n.children) CollectConjuncts(*c, out);
  } else {
    out->push_back(&n);
  }
}

// True when `n` is a Host matcher or an OR of them; appends the hosts.
bool CollectHosts(const Node& n, std::vector<std::string>* hosts) {
  if (n.kind == Node::kMatcher && n.name == "Host") {
    hosts->insert(hosts->end(), n.args.begin(), n.args.end());
    return true;
  }
  if (n.kind != Node::kOr) return false;
  for (const auto& c : n.children) {
    if (!CollectHosts(*c, hosts)) return false;
  }
  return true;
}

}  // namespace

bool WantsRouting(const Labels& labels) {
  if (absl::AsciiStrToLower(Get(labels, "traefik.enable")) == "false") return false;
  return !Get(labels, "traefik.frontend.rule").empty() || !RouterRules(labels).empty();
}

std::string NetworkLabel(const Labels& labels) { return Get(labels, "traefik.docker.network"); }

bool WantsSwarmVip(const Labels& labels) {
  return Get(labels, "traefik.docker.lbswarm") == "true" ||
         Get(labels, "traefik.swarm.lbswarm") == "true";
}

absl::StatusOr<std::vector<config::v1::Frontend>> ParseV1Rule(absl::string_view rule) {
  // Like edgerouter: a later sub-rule of the same type overwrites an earlier one, and Host
  // wins over HostRegexp. Beyond edgerouter: `Host:a,b` and `PathPrefixStrip:`.
  std::vector<std::string> hosts;
  std::string host_regexp, path;
  bool strip = false;
  for (absl::string_view sub : absl::StrSplit(rule, ';')) {
    absl::string_view v = sub;
    if (absl::ConsumePrefix(&v, "Host:")) {
      hosts.clear();
      for (absl::string_view h : absl::StrSplit(v, ',')) {
        h = absl::StripAsciiWhitespace(h);
        if (h.empty()) {
          return absl::InvalidArgumentError(absl::StrCat("unsupported rule: '", sub, "'"));
        }
        hosts.emplace_back(h);
      }
    } else if (absl::ConsumePrefix(&v, "HostRegexp:")) {
      host_regexp = std::string(v);
    } else if (absl::ConsumePrefix(&v, "PathPrefixStrip:")) {
      path = std::string(v);
      strip = true;
    } else if (absl::ConsumePrefix(&v, "PathPrefix:")) {
      path = std::string(v);
      strip = false;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unsupported rule: '", sub, "'"));
    }
  }
  std::vector<config::v1::Frontend> out;
  if (!hosts.empty()) {
    for (const auto& h : hosts) out.push_back(MakeFrontend("hostname", h, path, strip));
  } else if (!host_regexp.empty()) {
    out.push_back(MakeFrontend("hostname_regexp", host_regexp, path, strip));
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unsupported frontend rule: ", rule));
  }
  return out;
}

std::vector<CertResolverHost> CertResolverHosts(const Labels& labels) {
  std::vector<CertResolverHost> out;
  for (const auto& [router, rule] : RouterRules(labels)) {
    const std::string resolver = Get(labels, absl::StrCat(kRouterPrefix, router, ".tls.certresolver"));
    if (resolver.empty()) continue;
    absl::StatusOr<std::vector<config::v1::Frontend>> fronts = ParseV2Rule(rule);
    if (!fronts.ok()) continue;
    for (const config::v1::Frontend& f : *fronts) {
      if (f.kind() == "hostname") out.push_back({f.hostname(), resolver, false});
      if (f.kind() == "hostname_regexp") out.push_back({f.hostname_regexp(), resolver, true});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.host, a.resolver) < std::tie(b.host, b.resolver);
  });
  return out;
}

absl::StatusOr<std::vector<config::v1::Frontend>> ParseV2Rule(absl::string_view rule) {
  auto tokens = Tokenize(rule);
  if (!tokens.ok()) return tokens.status();
  std::unique_ptr<Node> root = Parser(*std::move(tokens)).ParseAll();
  if (!root) return absl::InvalidArgumentError(absl::StrCat("unsupported rule: '", rule, "'"));
  if (const Node* bad = FindUnsupportedMatcher(*root)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported matcher: ", bad->name, " in rule: '", rule, "'"));
  }
  // Supported shape: a conjunction of at most one host group (Host or an OR of Hosts) and at
  // most one PathPrefix; anything else (`!`, OR with a path, two host groups) is refused.
  std::vector<const Node*> conjuncts;
  CollectConjuncts(*root, &conjuncts);
  std::vector<std::string> hosts;
  std::string path;
  bool have_hosts = false, have_path = false;
  for (const Node* c : conjuncts) {
    if (c->kind == Node::kMatcher && c->name == "PathPrefix" && c->args.size() == 1 &&
        !have_path) {
      path = c->args[0];
      have_path = true;
    } else if (!have_hosts && CollectHosts(*c, &hosts)) {
      have_hosts = true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unsupported rule: '", rule, "'"));
    }
  }
  if (!have_hosts) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported frontend rule: ", rule));
  }
  std::vector<config::v1::Frontend> out;
  for (const auto& h : hosts) {
    if (h.empty()) return absl::InvalidArgumentError(absl::StrCat("unsupported rule: '", rule, "'"));
    out.push_back(MakeFrontend("hostname", h, path, false));
  }
  return out;
}

std::string PortLabel(const Labels& labels) {
  std::string port = Get(labels, "traefik.port");
  if (!port.empty()) return port;
  for (const auto& [key, value] : labels) {
    absl::string_view k = key;
    if (absl::ConsumePrefix(&k, kServicePrefix) && absl::EndsWith(k, ".loadbalancer.server.port")) {
      return value;
    }
  }
  return "";
}

absl::StatusOr<std::optional<config::v1::Application>> ApplicationFromLabels(
    absl::string_view service_name, const Labels& labels,
    const std::vector<std::string>& addresses, const std::vector<std::string>& instance_ports) {
  if (!WantsRouting(labels)) return std::nullopt;
  config::v1::Application app;
  app.set_id(std::string(service_name));

  const std::string v1_rule = Get(labels, "traefik.frontend.rule");
  if (!v1_rule.empty()) {
    auto fronts = ParseV1Rule(v1_rule);
    if (!fronts.ok()) return fronts.status();
    for (auto& f : *fronts) *app.add_frontends() = std::move(f);
  } else {
    for (const auto& [router, rule] : RouterRules(labels)) {
      auto fronts = ParseV2Rule(rule);
      if (!fronts.ok()) return fronts.status();
      for (auto& f : *fronts) *app.add_frontends() = std::move(f);
    }
  }

  // v2/v3 service port and scheme; one service per container is all we model.
  std::string v2_service, v2_port, v2_scheme;
  for (const auto& [key, value] : labels) {
    absl::string_view k = key;
    if (!absl::ConsumePrefix(&k, kServicePrefix)) continue;
    std::vector<std::string> parts = absl::StrSplit(k, absl::MaxSplits('.', 1));
    if (parts.size() != 2) continue;
    const bool is_port = parts[1] == "loadbalancer.server.port";
    const bool is_scheme = parts[1] == "loadbalancer.server.scheme";
    if (!is_port && !is_scheme) continue;
    if (!v2_service.empty() && v2_service != parts[0]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "more than one traefik.http.services entry not supported: ", v2_service, ", ",
          parts[0]));
    }
    v2_service = parts[0];
    (is_port ? v2_port : v2_scheme) = value;
  }

  std::string protocol = Get(labels, "traefik.protocol");
  if (protocol.empty()) protocol = v2_scheme;
  if (protocol.empty()) protocol = "http";
  if (protocol != "http" && protocol != "https") {
    return absl::InvalidArgumentError(absl::StrCat("unsupported protocol: ", protocol));
  }
  std::string port = Get(labels, "traefik.port");
  if (port.empty()) port = v2_port;
  if (port.empty()) port = protocol == "https" ? "443" : "80";

  config::v1::Backend proxy;
  proxy.set_kind("reverse_proxy");
  config::v1::ReverseProxyOpts* rp = proxy.mutable_reverse_proxy_opts();
  rp->set_pass_host_header(true);
  auto skip_verify = labels.find("traefik.backend.tls.insecureSkipVerify");
  if (skip_verify != labels.end()) {
    if (skip_verify->second != "true") {
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported value for insecureSkipVerify: ", skip_verify->second));
    }
    if (protocol != "https") {
      return absl::InvalidArgumentError("insecureSkipVerify specified but not using https");
    }
    rp->mutable_tls_config()->set_insecure_skip_verify(true);
  }
  const std::string server_name = Get(labels, "traefik.backend.tls.serverName");
  if (!server_name.empty()) rp->mutable_tls_config()->set_server_name(server_name);

  for (size_t i = 0; i < addresses.size(); ++i) {
    const std::string& ip = addresses[i];
    // IPv6 literals need brackets in a URL.
    const std::string host = absl::StrContains(ip, ':') ? absl::StrCat("[", ip, "]") : ip;
    const bool own_port = i < instance_ports.size() && !instance_ports[i].empty();
    rp->add_origins(absl::StrCat(protocol, "://", host, ":", own_port ? instance_ports[i] : port));
  }

  const std::string auth = Get(labels, "edgerouter.auth");
  if (auth == "public") {
    *app.mutable_backend() = std::move(proxy);
  } else if (auth == "bearer_token") {
    const std::string token = Get(labels, "edgerouter.auth_bearer_token");
    if (token.empty()) return absl::InvalidArgumentError("empty bearer token not supported");
    config::v1::Backend* b = app.mutable_backend();
    b->set_kind("auth_v0");
    b->mutable_auth_v0_opts()->set_bearer_token(token);
    *b->mutable_auth_v0_opts()->mutable_authorized_backend() = std::move(proxy);
  } else if (auth == "sso") {
    const std::string tenant = Get(labels, "edgerouter.auth_sso.tenant");
    if (tenant.empty()) return absl::InvalidArgumentError("edgerouter.auth_sso.tenant empty");
    config::v1::Backend* b = app.mutable_backend();
    b->set_kind("auth_sso");
    config::v1::AuthSsoOpts* sso = b->mutable_auth_sso_opts();
    sso->set_audience(absl::StrCat(tenant, "/", service_name));
    // Like edgerouter: no trimming, and an empty label gives [""] (nobody matches).
    for (absl::string_view u : absl::StrSplit(Get(labels, "edgerouter.auth_sso.users"), ',')) {
      sso->add_allowed_user_ids(std::string(u));
    }
    *sso->mutable_authorized_backend() = std::move(proxy);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unsupported auth mode: ", auth));
  }

  if (addresses.empty()) {
    return absl::FailedPreconditionError("no instance with a usable address");
  }
  std::vector<std::string> problems = config::ValidateApplication(app);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  }
  return app;
}

}  // namespace edgerouter::controlplane::docker
