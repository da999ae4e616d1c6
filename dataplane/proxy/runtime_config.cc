#include "dataplane/proxy/runtime_config.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/app_config.h"
#include "common/json_codec.h"
#include "dataplane/proxy/upstream.h"
#include "common/redact.h"
#include "dataplane/http/escaping.h"

namespace edgerouter::proxy {
namespace {

// Parses http(s)://authority[/path] (validated by the control plane) and resolves the host.
Origin ParseOrigin(const std::string& url) {
  Origin o;
  o.url = url;
  absl::string_view rest = url;
  if (absl::ConsumePrefix(&rest, "https://")) {
    o.tls = true;
  } else {
    absl::ConsumePrefix(&rest, "http://");
  }
  const size_t slash = rest.find_first_of("/?#");
  o.authority = std::string(rest.substr(0, slash));
  if (slash != absl::string_view::npos) {
    absl::string_view path = rest.substr(slash);
    path = path.substr(0, path.find_first_of("?#"));
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    o.path_prefix = std::string(path);
  }
  std::string port = o.tls ? "443" : "80";
  absl::string_view authority = o.authority;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    o.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) port = std::string(authority.substr(close + 2));
  } else {
    const size_t colon = authority.rfind(':');
    o.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) port = std::string(authority.substr(colon + 1));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  const int rc = getaddrinfo(o.host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    o.resolve_error = absl::StrCat("cannot resolve ", o.host, ": ", gai_strerror(rc));
    return o;
  }
  std::memcpy(&o.addr, result->ai_addr, result->ai_addrlen);
  o.addr_len = result->ai_addrlen;
  freeaddrinfo(result);
  return o;
}

void CompileBackend(const std::string& app_id, const config::Backend& b, BackendConfig* out) {
  out->kind_name = b.kind();
  out->pool_key = ToCompactJson(b);
  out->pool_id = absl::Hash<std::string>()(out->pool_key);
  if (b.kind() == "reverse_proxy") {
    out->kind = BackendKind::kReverseProxy;
    const auto& o = b.reverse_proxy_opts();
    for (const std::string& url : o.origins()) out->origins.push_back(ParseOrigin(url));
    out->pass_host_header = o.pass_host_header();
    out->index_document = o.index_document();
    out->remove_query_string = o.remove_query_string();
    std::vector<std::pair<std::string, std::string>> headers(o.headers_to_origin().begin(),
                                                             o.headers_to_origin().end());
    std::sort(headers.begin(), headers.end());
    out->headers_to_origin = std::move(headers);
    out->tls_insecure_skip_verify = o.tls_config().insecure_skip_verify();
    out->tls_server_name = o.tls_config().server_name();
    // Trust stores are files: read here on the compile thread, not by a worker mid-request.
    if (std::any_of(out->origins.begin(), out->origins.end(), [](const Origin& origin) { return origin.tls; })) {
      absl::StatusOr<SSL_CTX*> ctx = UpstreamTlsContext(!out->tls_insecure_skip_verify);
      if (ctx.ok()) {
        out->client_tls = *ctx;
      } else {
        out->client_tls_error = std::string(ctx.status().message());
      }
    }
  } else if (b.kind() == "redirect") {
    out->kind = BackendKind::kRedirect;
    out->redirect_to = b.redirect_opts().to();
  } else if (b.kind() == "auth_v0") {
    out->kind = BackendKind::kAuthV0;
    out->bearer_token = b.auth_v0_opts().bearer_token();
    out->inner = std::make_unique<BackendConfig>();
    CompileBackend(app_id, b.auth_v0_opts().authorized_backend(), out->inner.get());
  } else if (b.kind() == "prom_metrics") {
    out->kind = BackendKind::kPromMetrics;
  } else if (b.kind() == "s3_static_website") {
    out->kind = BackendKind::kS3StaticWebsite;
    const auto& o = b.s3_static_website_opts();
    out->s3 = aws::S3SiteConfig{app_id, o.bucket_name(), o.region_id(), o.deployed_version(),
                                std::string(absl::StripPrefix(o.not_found_page(), "/"))};
  } else if (b.kind() == "aws_lambda") {
    out->kind = BackendKind::kAwsLambda;
    const auto& o = b.aws_lambda_opts();
    out->lambda = aws::LambdaConfig{app_id, o.function_name(), o.region_id(), o.payload_format_version() == "2.0"};
  } else if (b.kind() == "edgerouter_admin") {
    out->kind = BackendKind::kEdgerouterAdmin;
  } else {
    out->kind = BackendKind::kUnsupported;
  }
}

// The served kind behind any auth_v0 wrappers.
bool Serves(const BackendConfig& backend, BackendKind kind) {
  const BackendConfig* served = &backend;
  while (served->kind == BackendKind::kAuthV0) served = served->inner.get();
  return served->kind == kind;
}

absl::StatusOr<std::shared_ptr<const AppRuntime>> CompileApp(const std::shared_ptr<const snapshot::Resource>& r) {
  // The control plane validates, but a data plane must not trust its input blindly.
  std::vector<std::string> problems = config::ValidateApplication(r->app());
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("app ", r->app().id(), ": ", problems[0]));
  }
  auto app = std::make_shared<AppRuntime>();
  app->id = r->app().id();
  app->version = r->version();
  app->source = r;
  CompileBackend(app->id, r->app().backend(), &app->backend);
  app->serves_metrics = Serves(app->backend, BackendKind::kPromMetrics);
  app->serves_admin = Serves(app->backend, BackendKind::kEdgerouterAdmin);
  return std::shared_ptr<const AppRuntime>(std::move(app));
}

bool IsCertificate(const xds::ResourceMap& resources, const std::string& name) {
  const std::shared_ptr<const snapshot::Resource>* r = resources.Find(name);
  return r != nullptr && (*r)->has_certificate();
}

std::string RenderAdminPage(const xds::ResourceMap& resources, const std::string& version, absl::Time applied_at) {
  std::string describe;
  for (const auto& [name, r] : resources.Sorted()) {
    if ((*r)->has_app()) absl::StrAppend(&describe, config::DescribeApplication((*r)->app()), "\n\n");
  }
  return absl::StrCat(
      "<!doctype html>\n<html><head><title>edgerouter admin</title></head><body>\n<pre>", http::HtmlEscape(describe),
      "Version: ", http::HtmlEscape(version), "\nLastUpdated: ",
      absl::FormatTime(absl::RFC3339_sec, applied_at, absl::UTCTimeZone()), "\n</pre>\n</body></html>\n");
}

}  // namespace

absl::StatusOr<std::shared_ptr<const RuntimeConfig>> CompileUpdate(const xds::SnapshotView& update,
                                                                   const RuntimeConfig* previous,
                                                                   const CompileOptions& options) {
  auto rc = std::make_shared<RuntimeConfig>();
  rc->version = update.version;
  rc->resources = *update.resources;  // shares every shard
  rc->resource_count = update.resources->size();
  if (previous != nullptr) {
    rc->apps = previous->apps;
    rc->metrics_apps = previous->metrics_apps;
    rc->admin_apps = previous->admin_apps;
  }

  // The names to look at: a delta's, or (full state) every name either side has.
  const bool full = update.full_state || previous == nullptr;
  std::vector<std::string> all_names;
  if (full) {
    update.resources->ForEach([&](const std::string& name, const auto&) { all_names.push_back(name); });
    if (previous != nullptr) {
      previous->apps.ForEach([&](const std::string& name, const auto&) {
        if (update.resources->Find(name) == nullptr) all_names.push_back(name);
      });
    }
  }
  bool certs_changed = full || previous == nullptr || previous->cert_names == nullptr;
  std::vector<routing::RouteTable::AppRoutes> unrouted, routed;
  auto visit = [&](const std::string& name) -> absl::Status {
    const std::shared_ptr<const AppRuntime>* found = rc->apps.Find(name);
    const std::shared_ptr<const AppRuntime> old = found != nullptr ? *found : nullptr;
    const std::shared_ptr<const snapshot::Resource>* now = update.resources->Find(name);
    if (!certs_changed) {
      certs_changed = IsCertificate(*update.resources, name) || IsCertificate(previous->resources, name);
    }
    if (now != nullptr && (*now)->has_app()) {
      if (old != nullptr && !old->version.empty() && old->version == (*now)->version()) return absl::OkStatus();
      absl::StatusOr<std::shared_ptr<const AppRuntime>> app = CompileApp(*now);
      if (!app.ok()) return app.status();
      routed.push_back({&(*app)->source->app(), *app});
      rc->metrics_apps += (*app)->serves_metrics;
      rc->admin_apps += (*app)->serves_admin;
      rc->apps.Set(name, *std::move(app));
    } else if (old != nullptr) {
      rc->apps.Erase(name);
    }
    if (old != nullptr) {
      unrouted.push_back({&old->source->app(), old});
      rc->metrics_apps -= old->serves_metrics;
      rc->admin_apps -= old->serves_admin;
    }
    return absl::OkStatus();
  };
  for (const std::vector<std::string>* names : {&std::as_const(all_names), &update.changed, &update.removed}) {
    for (const std::string& name : *names) {
      if (absl::Status s = visit(name); !s.ok()) return s;
    }
  }
  absl::StatusOr<std::unique_ptr<routing::RouteTable>> routes = routing::RouteTable::Update(
      previous != nullptr ? previous->routes.get() : nullptr, unrouted, routed, options.workers);
  if (!routes.ok()) return routes.status();
  rc->routes = *std::move(routes);
  rc->has_prom_metrics = rc->metrics_apps > 0;

  // Certificates: rebuilt only when a certificate resource changed (unchanged ones keep their
  // contexts through options.certs.previous).
  if (certs_changed) {
    auto names = std::make_shared<std::vector<std::string>>();
    if (full) {
      for (const std::string& name : all_names) {
        if (IsCertificate(*update.resources, name)) names->push_back(name);
      }
    } else {
      for (const std::string& name : *previous->cert_names) {
        if (IsCertificate(*update.resources, name)) names->push_back(name);
      }
      for (const std::string& name : update.changed) {
        if (IsCertificate(*update.resources, name)) names->push_back(name);
      }
    }
    std::sort(names->begin(), names->end());
    names->erase(std::unique(names->begin(), names->end()), names->end());
    snapshot::Snapshot certs;
    certs.set_version(update.version);
    for (const std::string& name : *names) *certs.add_resources() = **update.resources->Find(name);
    rc->certs = tls::BuildCertStore(certs, options.certs);
    rc->cert_names = std::move(names);
  } else {
    rc->certs = previous->certs;
    rc->cert_names = previous->cert_names;
  }

  rc->acme_challenges =
      dpacme::UpdateChallengeTokens(update, previous != nullptr ? previous->acme_challenges : nullptr);
  rc->applied_at = absl::Now();
  if (rc->admin_apps > 0) rc->admin_page = RenderAdminPage(rc->resources, rc->version, rc->applied_at);
  return std::shared_ptr<const RuntimeConfig>(std::move(rc));
}

absl::StatusOr<std::shared_ptr<const RuntimeConfig>> CompileSnapshot(const snapshot::Snapshot& snapshot,
                                                                     const CompileOptions& options) {
  xds::ResourceMap resources;
  for (const snapshot::Resource& r : snapshot.resources()) {
    resources.Set(r.name(), std::make_shared<const snapshot::Resource>(r));
  }
  xds::SnapshotView view;
  view.version = snapshot.version();
  view.resources = &resources;
  view.full_state = true;
  return CompileUpdate(view, nullptr, options);
}

std::string RenderConfigDump(const RuntimeConfig& config) {
  // Secrets never appear in the dump: auth_v0 tokens, key ciphertexts (common/redact).
  snapshot::Snapshot redacted = xds::ToSnapshot(config.version, config.resources);
  RedactSecrets(&redacted);
  return ToIndentedJson(redacted);
}

}  // namespace edgerouter::proxy
