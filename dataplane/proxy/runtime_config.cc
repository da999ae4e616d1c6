#include "dataplane/proxy/runtime_config.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/app_config.h"
#include "common/json_codec.h"
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

}  // namespace

absl::StatusOr<std::shared_ptr<const RuntimeConfig>> CompileSnapshot(const snapshot::Snapshot& snapshot,
                                                                     const CompileOptions& options) {
  auto rc = std::make_shared<RuntimeConfig>();
  rc->version = snapshot.version();
  rc->resource_count = snapshot.resources_size();
  std::vector<const config::Application*> apps;
  for (const snapshot::Resource& r : snapshot.resources()) {
    if (!r.has_app()) continue;
    // The control plane validates, but a data plane must not trust its input blindly.
    std::vector<std::string> problems = config::ValidateApplication(r.app());
    if (!problems.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("app ", r.app().id(), ": ", problems[0]));
    }
    apps.push_back(&r.app());
    AppRuntime& app = rc->apps.emplace_back();
    app.id = r.app().id();
    CompileBackend(app.id, r.app().backend(), &app.backend);
    const BackendConfig* served = &app.backend;
    while (served->kind == BackendKind::kAuthV0) served = served->inner.get();
    rc->has_prom_metrics |= served->kind == BackendKind::kPromMetrics;
  }
  absl::StatusOr<std::unique_ptr<routing::RouteTable>> routes = routing::RouteTable::Build(apps, options.workers);
  if (!routes.ok()) return routes.status();
  rc->routes = *std::move(routes);
  rc->certs = tls::BuildCertStore(snapshot, options.certs);

  std::string describe;
  for (const config::Application* app : apps) {
    absl::StrAppend(&describe, config::DescribeApplication(*app), "\n\n");
  }
  rc->applied_at = absl::Now();
  rc->admin_page = absl::StrCat(
      "<!doctype html>\n<html><head><title>edgerouter admin</title></head><body>\n<pre>", http::HtmlEscape(describe),
      "Version: ", http::HtmlEscape(snapshot.version()), "\nLastUpdated: ",
      absl::FormatTime(absl::RFC3339_sec, rc->applied_at, absl::UTCTimeZone()), "\n</pre>\n</body></html>\n");
  // Secrets never appear in the dump: auth_v0 tokens, key ciphertexts (common/redact).
  snapshot::Snapshot redacted = snapshot;
  RedactSecrets(&redacted);
  rc->config_dump_json = ToIndentedJson(redacted);
  return std::shared_ptr<const RuntimeConfig>(std::move(rc));
}

}  // namespace edgerouter::proxy
