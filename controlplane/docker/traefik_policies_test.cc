// Traefik middleware and load-balancer labels → policies, through ApplicationFromLabels (so the
// app also passes ValidateApplication). Expectations are the app JSON the operator sees.
#include "controlplane/docker/traefik_policies.h"

#include <string>

#include "absl/strings/str_replace.h"
#include "common/json_codec.h"
#include "controlplane/docker/labels.h"
#include "gtest/gtest.h"

namespace edgerouter::controlplane::docker {
namespace {

Labels Routed(Labels extra) {
  extra.emplace("edgerouter.auth", "public");
  extra.emplace("traefik.http.routers.web.rule", "Host(`a.example`)");
  return extra;
}

absl::StatusOr<std::optional<config::v1::Application>> Run(const Labels& labels) {
  return ApplicationFromLabels("svc", labels, {"10.0.0.5"});
}

// The app's policies as compact JSON ("" when it has none).
std::string PoliciesJson(const Labels& labels) {
  auto app = Run(labels);
  EXPECT_TRUE(app.ok()) << app.status();
  if (!app.ok() || !app->has_value()) return "<no app>";
  return (*app)->has_policies() ? ToCompactJson((*app)->policies()) : "";
}

std::string ProxyJson(const Labels& labels) {
  auto app = Run(labels);
  EXPECT_TRUE(app.ok()) << app.status();
  if (!app.ok() || !app->has_value()) return "<no app>";
  config::v1::ReverseProxyOpts rp = (*app)->backend().reverse_proxy_opts();
  rp.clear_origins();
  rp.clear_pass_host_header();
  std::string json = ToCompactJson(rp);
  // `origins` is always written (as in edgerouter); leave it out.
  absl::StrReplaceAll({{R"("origins":[],)", ""}, {R"("origins":[])", ""}}, &json);
  return json;
}

std::string ErrorOf(const Labels& labels) {
  auto app = Run(labels);
  EXPECT_FALSE(app.ok());
  return app.ok() ? "" : std::string(app.status().message());
}

TEST(TraefikPoliciesTest, NoMiddlewaresNoPolicies) {
  EXPECT_EQ(PoliciesJson(Routed({})), "");
  EXPECT_EQ(ProxyJson(Routed({})), "{}");
}

TEST(TraefikPoliciesTest, Compress) {
  EXPECT_EQ(PoliciesJson(Routed({{"traefik.http.middlewares.gz.compress", "true"},
                                 {"traefik.http.routers.web.middlewares", "gz"}})),
            R"({"compress":{}})");
  EXPECT_EQ(PoliciesJson(Routed({
                {"traefik.http.middlewares.gz.compress.excludedContentTypes", "text/event-stream"},
                {"traefik.http.middlewares.gz.compress.includedcontenttypes", "application/json, text/html"},
                {"traefik.http.middlewares.gz.compress.minResponseBodyBytes", "1200"},
                {"traefik.http.middlewares.gz.compress.encodings", "br,gzip"},
                {"traefik.http.routers.web.middlewares", "gz@docker"},
            })),
            R"({"compress":{"encodings":["br","gzip"],"included_content_types":["application/json","text/html"],)"
            R"("excluded_content_types":["text/event-stream"],"min_response_body_bytes":1200}})");
}

TEST(TraefikPoliciesTest, RateLimit) {
  EXPECT_EQ(PoliciesJson(Routed({{"traefik.http.middlewares.rl.ratelimit.average", "100"},
                                 {"traefik.http.middlewares.rl.ratelimit.burst", "50"},
                                 {"traefik.http.middlewares.rl.ratelimit.period", "1m"},
                                 {"traefik.http.routers.web.middlewares", "rl"}})),
            R"({"rate_limit":{"average":100,"burst":50,"period":"1m"}})");
  // Traefik's defaults: burst 1; a bare number of seconds; requesthost = one bucket for the app.
  EXPECT_EQ(PoliciesJson(Routed({{"traefik.http.middlewares.rl.rateLimit.average", "5"},
                                 {"traefik.http.middlewares.rl.rateLimit.period", "10"},
                                 {"traefik.http.middlewares.rl.rateLimit.sourceCriterion.requestHost", "true"},
                                 {"traefik.http.routers.web.middlewares", "rl"}})),
            R"({"rate_limit":{"average":5,"burst":1,"period":"10s","per":"app"}})");
  // average 0 is Traefik's "no limit".
  EXPECT_EQ(PoliciesJson(Routed({{"traefik.http.middlewares.rl.ratelimit.average", "0"},
                                 {"traefik.http.routers.web.middlewares", "rl"}})),
            "");
}

TEST(TraefikPoliciesTest, Headers) {
  EXPECT_EQ(PoliciesJson(Routed({
                {"traefik.http.middlewares.h.headers.customRequestHeaders.X-Script-Name", "test"},
                {"traefik.http.middlewares.h.headers.customrequestheaders.X-Drop", ""},
                {"traefik.http.middlewares.h.headers.customResponseHeaders.X-Served-By", "edge"},
                {"traefik.http.middlewares.h.headers.stsSeconds", "31536000"},
                {"traefik.http.middlewares.h.headers.stsIncludeSubdomains", "true"},
                {"traefik.http.middlewares.h.headers.stsPreload", "true"},
                {"traefik.http.middlewares.h.headers.contentTypeNosniff", "true"},
                {"traefik.http.middlewares.h.headers.frameDeny", "true"},
                {"traefik.http.middlewares.h.headers.customFrameOptionsValue", "SAMEORIGIN"},
                {"traefik.http.middlewares.h.headers.referrerPolicy", "same-origin"},
                {"traefik.http.middlewares.h.headers.contentSecurityPolicy", "default-src 'self'"},
                {"traefik.http.routers.web.middlewares", "h"},
            })),
            R"({"headers":{"custom_request_headers":{"X-Drop":"","X-Script-Name":"test"},)"
            R"("custom_response_headers":{"Content-Security-Policy":"default-src 'self'","X-Served-By":"edge"},)"
            R"("sts_seconds":31536000,"sts_include_subdomains":true,"sts_preload":true,"content_type_nosniff":true,)"
            R"("frame_deny":true,"custom_frame_options_value":"SAMEORIGIN","referrer_policy":"same-origin"}})");
}

TEST(TraefikPoliciesTest, CorsAndTwoHeadersMiddlewaresCombine) {
  EXPECT_EQ(PoliciesJson(Routed({
                {"traefik.http.middlewares.cors.headers.accessControlAllowOriginList", "https://a.example,https://b.example"},
                {"traefik.http.middlewares.cors.headers.accessControlAllowMethods", "GET,OPTIONS,PUT"},
                {"traefik.http.middlewares.cors.headers.accessControlAllowHeaders", "Content-Type"},
                {"traefik.http.middlewares.cors.headers.accessControlExposeHeaders", "X-Total"},
                {"traefik.http.middlewares.cors.headers.accessControlAllowCredentials", "true"},
                {"traefik.http.middlewares.cors.headers.accessControlMaxAge", "100"},
                {"traefik.http.middlewares.sec.headers.frameDeny", "true"},
                {"traefik.http.routers.web.middlewares", "cors, sec"},
            })),
            R"({"headers":{"frame_deny":true,"access_control_allow_origin_list":["https://a.example","https://b.example"],)"
            R"("access_control_allow_methods":["GET","OPTIONS","PUT"],"access_control_allow_headers":["Content-Type"],)"
            R"("access_control_expose_headers":["X-Total"],"access_control_allow_credentials":true,)"
            R"("access_control_max_age":100}})");
}

TEST(TraefikPoliciesTest, RetryAndIpAllowList) {
  EXPECT_EQ(PoliciesJson(Routed({{"traefik.http.middlewares.r.retry.attempts", "4"},
                                 {"traefik.http.middlewares.r.retry.initialInterval", "100ms"},
                                 {"traefik.http.middlewares.ip.ipAllowList.sourceRange", "127.0.0.1/32, 10.0.0.0/8,::1"},
                                 {"traefik.http.routers.web.middlewares", "r,ip"}})),
            R"({"retry":{"attempts":4,"initial_interval":"100ms"},"ip_allow_list":["127.0.0.1/32","10.0.0.0/8","::1"]})");
  // Traefik v2's name.
  EXPECT_EQ(PoliciesJson(Routed({{"traefik.http.middlewares.ip.ipwhitelist.sourcerange", "192.0.2.0/24"},
                                 {"traefik.http.routers.web.middlewares", "ip"}})),
            R"({"ip_allow_list":["192.0.2.0/24"]})");
}

TEST(TraefikPoliciesTest, AllRoutersAttachTheSameMiddlewares) {
  Labels both = Routed({{"traefik.http.middlewares.gz.compress", "true"},
                        {"traefik.http.routers.web.middlewares", "gz"},
                        {"traefik.http.routers.api.rule", "Host(`b.example`)"},
                        {"traefik.http.routers.api.middlewares", "gz"}});
  EXPECT_EQ(PoliciesJson(both), R"({"compress":{}})");
  both.erase("traefik.http.routers.api.middlewares");
  EXPECT_EQ(ErrorOf(both), "routers api and web attach different middlewares; edgerouter applies policies per app");
}

TEST(TraefikPoliciesTest, RedirectToHttpsRouterIsAlreadyEdgerouters) {
  // The usual pair: a plain-HTTP router that only redirects, and the HTTPS router with policies.
  Labels pair = Routed({{"traefik.http.middlewares.to-https.redirectScheme.scheme", "https"},
                        {"traefik.http.middlewares.to-https.redirectScheme.permanent", "true"},
                        {"traefik.http.middlewares.gz.compress", "true"},
                        {"traefik.http.routers.web.middlewares", "gz"},
                        {"traefik.http.routers.web-http.rule", "Host(`a.example`)"},
                        {"traefik.http.routers.web-http.middlewares", "to-https@docker"}});
  EXPECT_EQ(PoliciesJson(pair), R"({"compress":{}})");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.r.redirectscheme.scheme", "http"}})),
            "traefik.http.middlewares.r.redirectscheme.scheme: \"http\" is not \"https\" (edgerouter only redirects "
            "plain HTTP to HTTPS)");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.r.redirectscheme.permanent", "true"}})),
            "traefik.http.middlewares.r.redirectscheme.permanent: redirectScheme needs scheme=https");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.r.redirectscheme.scheme", "https"},
                            {"traefik.http.middlewares.r.redirectscheme.port", "8443"}})),
            "traefik.http.middlewares.r.redirectscheme.port: not supported by edgerouter");
}

TEST(TraefikPoliciesTest, UnattachedMiddlewareIsCheckedButNotApplied) {
  EXPECT_EQ(PoliciesJson(Routed({{"traefik.http.middlewares.gz.compress", "true"}})), "");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.rl.ratelimit.period", "soon"}})),
            "traefik.http.middlewares.rl.ratelimit.period: \"soon\" is not a duration (\"10s\", \"250ms\")");
}

TEST(TraefikPoliciesTest, LabelErrorsNameTheLabel) {
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.routers.web.middlewares", "nope"}})),
            "traefik.http.routers.web.middlewares: middleware nope is not defined on this container");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.a.compress", "true"},
                            {"traefik.http.routers.web.middlewares", "a@file"}})),
            "traefik.http.routers.web.middlewares: middleware a@file: only middlewares from Docker labels are "
            "supported");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.auth.basicauth.users", "u:x"}})),
            "traefik.http.middlewares.auth.basicauth.users: middleware kind \"basicauth\" is not supported by "
            "edgerouter");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.rl.ratelimit.average", "many"}})),
            "traefik.http.middlewares.rl.ratelimit.average: \"many\" is not a non-negative integer");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.rl.ratelimit.average", "-1"}})),
            "traefik.http.middlewares.rl.ratelimit.average: \"-1\" is not a non-negative integer");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.rl.ratelimit.average", "5"},
                            {"traefik.http.middlewares.rl.ratelimit.sourcecriterion.ipstrategy.depth", "1"}})),
            "traefik.http.middlewares.rl.ratelimit.sourcecriterion.ipstrategy.depth: not supported by edgerouter");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.h.headers.frameDeny", "yes"}})),
            "traefik.http.middlewares.h.headers.frameDeny: \"yes\" is not a boolean");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.h.headers.browserXssFilter", "true"}})),
            "traefik.http.middlewares.h.headers.browserXssFilter: not supported by edgerouter");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.ip.ipallowlist.sourcerange", "10.0.0.300/8"}})),
            "traefik.http.middlewares.ip.ipallowlist.sourcerange: \"10.0.0.300/8\": not an IP address or CIDR "
            "prefix");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.ip.ipallowlist.ipstrategy.depth", "2"}})),
            "traefik.http.middlewares.ip.ipallowlist.ipstrategy.depth: not supported by edgerouter");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.r.retry.initialinterval", "1s"}})),
            "traefik.http.middlewares.r.retry.initialinterval: retry needs attempts >= 1");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.x.compress", "true"},
                            {"traefik.http.middlewares.x.retry.attempts", "2"}})),
            "traefik.http.middlewares.x.retry.attempts: a middleware has one kind; this one is already compress");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.a.retry.attempts", "2"},
                            {"traefik.http.middlewares.b.retry.attempts", "3"},
                            {"traefik.http.routers.web.middlewares", "a,b"}})),
            "middlewares a and b are both retry; edgerouter applies one per app");
  // Every problem at once.
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.middlewares.gz.compress", "false"},
                            {"traefik.http.middlewares.r.retry.attempts", "x"}})),
            "traefik.http.middlewares.gz.compress: \"false\" is not \"true\"; "
            "traefik.http.middlewares.r.retry.attempts: \"x\" is not a non-negative integer; "
            "traefik.http.middlewares.r.retry.attempts: retry needs attempts >= 1");
}

TEST(TraefikPoliciesTest, HealthCheckAndSticky) {
  EXPECT_EQ(ProxyJson(Routed({{"traefik.http.services.web.loadbalancer.healthcheck.path", "/health"},
                              {"traefik.http.services.web.loadbalancer.healthcheck.interval", "5s"},
                              {"traefik.http.services.web.loadbalancer.healthcheck.timeout", "2s"},
                              {"traefik.http.services.web.loadBalancer.healthCheck.hostname", "probe.example"},
                              {"traefik.http.services.web.loadbalancer.healthcheck.status", "204"},
                              {"traefik.http.services.web.loadbalancer.sticky.cookie.name", "srv"},
                              {"traefik.http.services.web.loadbalancer.sticky.cookie.secure", "true"},
                              {"traefik.http.services.web.loadbalancer.sticky.cookie.httpOnly", "true"},
                              {"traefik.http.services.web.loadbalancer.sticky.cookie.sameSite", "Lax"},
                              {"traefik.http.services.web.loadbalancer.sticky.cookie.maxAge", "3600"}})),
            R"({"health_check":{"path":"/health","interval":"5s","timeout":"2s","expected_status":204,)"
            R"("hostname":"probe.example"},"sticky":{"cookie_name":"srv","secure":true,"http_only":true,)"
            R"("same_site":"lax","max_age_seconds":3600}})");
  // Traefik's 30 s default interval; `sticky.cookie=true` alone turns stickiness on.
  EXPECT_EQ(ProxyJson(Routed({{"traefik.http.services.web.loadbalancer.healthcheck.path", "/"},
                              {"traefik.http.services.web.loadbalancer.sticky.cookie", "true"}})),
            R"({"health_check":{"path":"/","interval":"30s"},"sticky":{}})");
}

TEST(TraefikPoliciesTest, LoadBalancerErrors) {
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.services.web.loadbalancer.healthcheck.interval", "10s"}})),
            "traefik.http.services.web.loadbalancer.healthcheck: path is required");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.services.web.loadbalancer.healthcheck.path", "/"},
                            {"traefik.http.services.web.loadbalancer.healthcheck.timeout", "0s"}})),
            "traefik.http.services.web.loadbalancer.healthcheck.timeout: \"0s\" is not a duration (\"10s\", "
            "\"250ms\")");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.services.web.loadbalancer.healthcheck.path", "/"},
                            {"traefik.http.services.web.loadbalancer.healthcheck.headers.X-Probe", "1"}})),
            "traefik.http.services.web.loadbalancer.healthcheck.headers.X-Probe: not supported by edgerouter");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.services.web.loadbalancer.sticky.cookie.samesite", "sometimes"}})),
            "traefik.http.services.web.loadbalancer.sticky.cookie.samesite: \"sometimes\" is not none, lax or "
            "strict");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.services.web.loadbalancer.sticky.cookie.path", "/app"}})),
            "traefik.http.services.web.loadbalancer.sticky.cookie.path: not supported by edgerouter");
  EXPECT_EQ(ErrorOf(Routed({{"traefik.http.services.web.loadbalancer.server.weight", "3"}})),
            "traefik.http.services.web.loadbalancer.server.weight: per-server weights are not supported from labels "
            "(use origin_weights in the app JSON)");
}

}  // namespace
}  // namespace edgerouter::controlplane::docker
