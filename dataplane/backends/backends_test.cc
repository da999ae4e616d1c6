// The registered backend kinds: each factory's config checks (errors name the app and the
// field), the chain it compiles to, and what its parts do with a request (FakeExchange).
#include <string>

#include "absl/strings/escaping.h"
#include "dataplane/aws/lambda_backend.h"
#include "dataplane/aws/s3_site.h"
#include "dataplane/backends/builtin.h"
#include "dataplane/backends/reverse_proxy/proxy_target.h"
#include "dataplane/pipeline/fake_exchange.h"
#include "gtest/gtest.h"

namespace edgerouter::backends {
namespace {

using pipeline::Chain;
using pipeline::FakeExchange;

absl::StatusOr<Chain> Compile(const config::v1::Backend& b, const std::string& app = "app1") {
  return BuiltinBackends().CompileChain(app, b);
}

config::v1::Backend ReverseProxy(std::initializer_list<std::string> origins) {
  config::v1::Backend b;
  b.set_kind("reverse_proxy");
  b.mutable_reverse_proxy_opts();
  for (const std::string& o : origins) b.mutable_reverse_proxy_opts()->add_origins(o);
  return b;
}

config::v1::Backend AuthV0(const std::string& token, const config::v1::Backend& inner) {
  config::v1::Backend b;
  b.set_kind("auth_v0");
  b.mutable_auth_v0_opts()->set_bearer_token(token);
  *b.mutable_auth_v0_opts()->mutable_authorized_backend() = inner;
  return b;
}

config::v1::Backend Kind(const std::string& kind) {
  config::v1::Backend b;
  b.set_kind(kind);
  return b;
}

TEST(Backends, EveryKindOfEdgerouterIsRegistered) {
  for (const char* kind : {"reverse_proxy", "redirect", "auth_v0", "prom_metrics", "edgerouter_admin",
                           "s3_static_website", "aws_lambda", "auth_sso", "turbocharger"}) {
    EXPECT_TRUE(BuiltinBackends().Has(kind)) << kind;
  }
}

TEST(Backends, KindsNotServedYetAnswer502NamingTheKind) {
  for (const char* kind : {"no_such_kind"}) {
    absl::StatusOr<Chain> chain = Compile(Kind(kind));
    ASSERT_TRUE(chain.ok()) << chain.status();
    EXPECT_EQ(chain->Describe(), kind);
    FakeExchange ex;
    chain->Run(ex, "/");
    EXPECT_EQ(ex.status, 502);
    EXPECT_EQ(ex.content_type, "text/plain; charset=utf-8");
    EXPECT_EQ(ex.body, std::string("backend kind ") + kind + " is not supported by this data plane yet\n");
  }
}

TEST(Backends, AuthV0ChecksTheTokenBeforeTheInnerBackendAndStripsIt) {
  absl::StatusOr<Chain> chain = Compile(AuthV0("s3cret", AuthV0("s3cret", ReverseProxy({"http://127.0.0.1:1"}))));
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(chain->Describe(), "auth_v0 -> auth_v0 -> reverse_proxy");

  FakeExchange none;
  chain->Run(none, "/x");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.body, "Unauthorized\n");
  EXPECT_EQ(none.extra_headers,
            "WWW-Authenticate: Basic realm=\"Use Authorization: Bearer or provide it as password\"\r\n");
  EXPECT_EQ(none.started, "");
  EXPECT_FALSE(none.strip_authorization);

  auto run = [&](const std::string& authorization) {
    FakeExchange ex;
    ex.headers["authorization"] = authorization;
    chain->Run(ex, "/x");
    return ex;
  };
  FakeExchange bearer = run("Bearer s3cret");
  EXPECT_EQ(bearer.started, "proxy");
  EXPECT_EQ(bearer.started_path, "/x");
  EXPECT_TRUE(bearer.strip_authorization);
  EXPECT_EQ(run("Basic " + absl::Base64Escape("x:s3cret")).started, "proxy");
  EXPECT_EQ(run("Basic " + absl::Base64Escape(":s3cret")).started, "proxy");
  EXPECT_EQ(run("Basic " + absl::Base64Escape("bob:s3cret")).status, 401);
  EXPECT_EQ(run("Bearer s3cre").status, 401);
  EXPECT_EQ(run("Bearer s3cret2").status, 401);
  EXPECT_EQ(run("s3cret").status, 401);
}

TEST(Backends, AuthV0WrapsAnyKind) {
  absl::StatusOr<Chain> chain = Compile(AuthV0("t", Kind("prom_metrics")));
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(chain->Describe(), "auth_v0 -> prom_metrics");
  EXPECT_TRUE(chain->terminal().needs_metrics_text());
}

TEST(Backends, ValidationErrorsNameTheAppAndTheField) {
  struct Case {
    config::v1::Backend backend;
    std::string error;
  };
  config::v1::Backend redirect = Kind("redirect");
  redirect.mutable_redirect_opts();
  config::v1::Backend s3 = Kind("s3_static_website");
  s3.mutable_s3_static_website_opts()->set_bucket_name("b");
  config::v1::Backend lambda = Kind("aws_lambda");
  lambda.mutable_aws_lambda_opts()->set_function_name("f");
  lambda.mutable_aws_lambda_opts()->set_region_id("r");
  lambda.mutable_aws_lambda_opts()->set_payload_format_version("3.0");
  config::v1::Backend auth_no_inner = Kind("auth_v0");
  auth_no_inner.mutable_auth_v0_opts()->set_bearer_token("t");
  const Case cases[] = {
      {Kind("reverse_proxy"), "app web: backend.reverse_proxy_opts: required"},
      {ReverseProxy({}), "app web: backend.reverse_proxy_opts.origins: required"},
      {Kind("redirect"), "app web: backend.redirect_opts: required"},
      {redirect, "app web: backend.redirect_opts.to: required"},
      {Kind("auth_v0"), "app web: backend.auth_v0_opts: required"},
      {AuthV0("", Kind("prom_metrics")), "app web: backend.auth_v0_opts.bearer_token: required"},
      {auth_no_inner, "app web: backend.auth_v0_opts.authorized_backend: required"},
      {AuthV0("t", Kind("redirect")), "app web: backend.auth_v0_opts.authorized_backend.redirect_opts: required"},
      {Kind("s3_static_website"), "app web: backend.s3_static_website_opts: required"},
      {s3, "app web: backend.s3_static_website_opts.region_id: required"},
      {Kind("aws_lambda"), "app web: backend.aws_lambda_opts: required"},
      {lambda, "app web: backend.aws_lambda_opts.payload_format_version: unrecognized PayloadFormatVersion: 3.0"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Chain> chain = Compile(c.backend, "web");
    ASSERT_FALSE(chain.ok()) << c.error;
    EXPECT_EQ(chain.status().message(), c.error);
  }
}

TEST(Backends, ReverseProxyCompilesOriginsAndForwardingOptions) {
  config::v1::Backend b = ReverseProxy({"http://127.0.0.1:8080/base/", "https://[::1]", "http://localhost"});
  auto* o = b.mutable_reverse_proxy_opts();
  o->set_pass_host_header(true);
  o->set_index_document("index.html");
  (*o->mutable_headers_to_origin())["X-B"] = "2";
  (*o->mutable_headers_to_origin())["X-A"] = "1";
  o->mutable_tls_config()->set_server_name("origin.internal");
  absl::StatusOr<Chain> chain = Compile(b);
  ASSERT_TRUE(chain.ok()) << chain.status();
  FakeExchange ex;
  chain->Run(ex, "/p");
  ASSERT_EQ(ex.started, "proxy");
  const ProxyTarget& t = *ex.proxy_target;
  ASSERT_EQ(t.origins.size(), 3u);
  EXPECT_EQ(t.origins[0].authority, "127.0.0.1:8080");
  EXPECT_EQ(t.origins[0].host, "127.0.0.1");
  EXPECT_EQ(t.origins[0].path_prefix, "/base");
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in&>(t.origins[0].addr).sin_port), 8080);
  EXPECT_TRUE(t.origins[1].tls);
  EXPECT_EQ(t.origins[1].host, "::1");
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in6&>(t.origins[1].addr).sin6_port), 443);
  EXPECT_EQ(t.origins[1].resolve_error, "");
  EXPECT_EQ(t.origins[2].host, "localhost");
  EXPECT_TRUE(t.pass_host_header);
  EXPECT_EQ(t.index_document, "index.html");
  EXPECT_EQ(t.headers_to_origin,
            (std::vector<std::pair<std::string, std::string>>{{"X-A", "1"}, {"X-B", "2"}}));
  EXPECT_EQ(t.tls_server_name, "origin.internal");
  EXPECT_NE(t.client_tls, nullptr);  // an https origin: the verifying client context

  // Pools are keyed by content: the same backend again has the same key, another one not.
  absl::StatusOr<Chain> same = Compile(b, "other-app");
  FakeExchange ex2;
  same->Run(ex2, "/");
  EXPECT_EQ(ex2.proxy_target->pool_key, t.pool_key);
  EXPECT_EQ(ex2.proxy_target->pool_id, t.pool_id);
  absl::StatusOr<Chain> different = Compile(ReverseProxy({"http://127.0.0.1:8081"}));
  FakeExchange ex3;
  different->Run(ex3, "/");
  EXPECT_NE(ex3.proxy_target->pool_key, t.pool_key);
}

TEST(Backends, AnOriginThatDoesNotResolveFailsOnlyItself) {
  absl::StatusOr<Chain> chain = Compile(ReverseProxy({"http://127.0.0.1:1", "http://no-such-host.invalid"}));
  ASSERT_TRUE(chain.ok()) << chain.status();
  FakeExchange ex;
  chain->Run(ex, "/");
  EXPECT_EQ(ex.proxy_target->origins[0].resolve_error, "");
  EXPECT_NE(ex.proxy_target->origins[1].resolve_error.find("cannot resolve no-such-host.invalid"), std::string::npos);
}

TEST(Backends, RedirectResolvesRelativeTargetsAgainstTheRequestPath) {
  auto redirect_to = [](const std::string& to, const std::string& request_path) {
    config::v1::Backend b = Kind("redirect");
    b.mutable_redirect_opts()->set_to(to);
    absl::StatusOr<Chain> chain = Compile(b);
    EXPECT_TRUE(chain.ok()) << chain.status();
    FakeExchange ex;
    ex.path = request_path;
    chain->Run(ex, "/ignored");
    EXPECT_EQ(ex.status, 302);
    return ex.location;
  };
  EXPECT_EQ(redirect_to("https://example.com/x", "/a/b"), "https://example.com/x");
  EXPECT_EQ(redirect_to("/root", "/a/b"), "/root");
  EXPECT_EQ(redirect_to("sibling", "/a/b"), "/a/sibling");
  EXPECT_EQ(redirect_to("sibling", "/a/"), "/a/sibling");
}

TEST(Backends, PromMetricsServesTheMetricsText) {
  absl::StatusOr<Chain> chain = Compile(Kind("prom_metrics"));
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain->terminal().needs_metrics_text());
  EXPECT_FALSE(chain->terminal().needs_admin_page());
  FakeExchange ex;
  ex.metrics_text = std::make_shared<const std::string>("up 1\n");
  chain->Run(ex, "/metrics");
  EXPECT_EQ(ex.status, 200);
  EXPECT_EQ(ex.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(ex.body, "up 1\n");
  FakeExchange before_first_render;
  chain->Run(before_first_render, "/");
  EXPECT_EQ(before_first_render.status, 200);
  EXPECT_EQ(before_first_render.body, "");
}

TEST(Backends, EdgerouterAdminServesThePageAtTheRootOnly) {
  absl::StatusOr<Chain> chain = Compile(Kind("edgerouter_admin"));
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain->terminal().needs_admin_page());
  FakeExchange root;
  root.admin_page = "<html>apps</html>";
  chain->Run(root, "/");
  EXPECT_EQ(root.status, 200);
  EXPECT_EQ(root.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(root.body, "<html>apps</html>");
  FakeExchange other;
  chain->Run(other, "/x");
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(other.body, "404 page not found\n");
}

TEST(Backends, AwsKindsHandTheirConfigToTheConnection) {
  config::v1::Backend s3 = Kind("s3_static_website");
  auto* so = s3.mutable_s3_static_website_opts();
  so->set_bucket_name("bucket");
  so->set_region_id("eu-central-1");
  so->set_deployed_version("v7");
  so->set_not_found_page("/404.html");
  absl::StatusOr<Chain> site = Compile(s3, "site");
  ASSERT_TRUE(site.ok()) << site.status();
  FakeExchange ex;
  site->Run(ex, "/a.html");
  ASSERT_EQ(ex.started, "s3");
  EXPECT_EQ(ex.started_path, "/a.html");
  EXPECT_EQ(ex.s3_site->app_id, "site");
  EXPECT_EQ(ex.s3_site->bucket, "bucket");
  EXPECT_EQ(ex.s3_site->region, "eu-central-1");
  EXPECT_EQ(ex.s3_site->version, "v7");
  EXPECT_EQ(ex.s3_site->not_found_page, "404.html");

  config::v1::Backend lambda = Kind("aws_lambda");
  lambda.mutable_aws_lambda_opts()->set_function_name("fn");
  lambda.mutable_aws_lambda_opts()->set_region_id("us-east-1");
  lambda.mutable_aws_lambda_opts()->set_payload_format_version("2.0");
  absl::StatusOr<Chain> fn = Compile(lambda, "api");
  ASSERT_TRUE(fn.ok()) << fn.status();
  FakeExchange call;
  fn->Run(call, "/v1");
  ASSERT_EQ(call.started, "lambda");
  EXPECT_EQ(call.lambda_function->app_id, "api");
  EXPECT_EQ(call.lambda_function->function_name, "fn");
  EXPECT_EQ(call.lambda_function->region, "us-east-1");
  EXPECT_TRUE(call.lambda_function->v2);
}

TEST(Backends, TurbochargerChecksTheManifestIdAndAnswersThroughADeferredResponse) {
  config::v1::Backend b = Kind("turbocharger");
  EXPECT_FALSE(Compile(b).ok());
  b.mutable_turbocharger_opts()->set_manifest("short");
  absl::StatusOr<Chain> bad = Compile(b, "site");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("app site: backend.turbocharger_opts.manifest"), std::string::npos)
      << bad.status();
  EXPECT_NE(bad.status().message().find("invalid length for ObjectID; got 5"), std::string::npos);
  b.mutable_turbocharger_opts()->set_manifest("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
  absl::StatusOr<Chain> chain = Compile(b, "site");
  ASSERT_TRUE(chain.ok()) << chain.status();
  // This process has no TURBOCHARGER_STORE: a clear 502 instead of a store lookup.
  FakeExchange ex;
  chain->Run(ex, "/");
  EXPECT_EQ(ex.status, 502);
  EXPECT_EQ(ex.body, "turbocharger: this data plane has no TURBOCHARGER_STORE\n");
}

}  // namespace
}  // namespace edgerouter::backends
