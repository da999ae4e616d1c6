#include "common/app_config.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/test_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "proto/events.pb.h"

namespace edgerouter::config {
namespace {

using v1::Application;
using v1::Backend;
using google::protobuf::util::MessageDifferencer;
using edgerouter::testing::ReadFileOrDie;
using edgerouter::testing::RunfilePath;

std::string AppWithBackend(absl::string_view backend_json,
                           absl::string_view frontend_json =
                               R"({"kind":"hostname","hostname":"a.example.com","path_prefix":"/"})") {
  return absl::StrCat(R"({"id":"a","frontends":[)", frontend_json, R"(],"backend":)", backend_json,
                      "}");
}

// parse -> validate -> serialise -> parse gives the same app, and serialising is stable.
void ExpectRoundTrip(const std::string& json) {
  SCOPED_TRACE(json);
  absl::StatusOr<Application> first = ParseApplication(json, InputMode::kStrict);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string serialised = ToEdgerouterJson(*first);
  absl::StatusOr<Application> second = ParseApplication(serialised, InputMode::kStrict);
  ASSERT_TRUE(second.ok()) << second.status() << "\n" << serialised;
  EXPECT_TRUE(MessageDifferencer::Equals(*first, *second)) << serialised;
  EXPECT_EQ(ToEdgerouterJson(*second), serialised);
}

TEST(AppConfig, RoundTripsEveryBackendKind) {
  const char* backends[] = {
      R"({"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["http://10.0.0.5:8080","https://s3.eu-central-1.amazonaws.com/bucket/acme"],
          "tls_config":{"insecure_skip_verify":true,"server_name":"internal.example"},"caching":true,
          "pass_host_header":true,"index_document":"index.html","remove_query_string":true,
          "headers_to_origin":{"Authorization":"Basic Zm9vOmJhcg==","X-B":"2"}}})",
      R"({"kind":"s3_static_website","s3_static_website_opts":{"bucket_name":"b","region_id":"eu-central-1","deployed_version":"v1","404_page":"404.html"}})",
      R"({"kind":"aws_lambda","aws_lambda_opts":{"function_name":"MyFn","region_id":"eu-central-1","payload_format_version":"2.0"}})",
      R"({"kind":"turbocharger","turbocharger_opts":{"manifest":"QSA90-KjEwnNaPn2qdlo6cHJQeSazX_A1eizwOAl_fM"}})",
      R"({"kind":"redirect","redirect_opts":{"to":"https://example.com/"}})",
      R"({"kind":"auth_v0","auth_v0_opts":{"bearer_token":"Hunter2","authorized_backend":{"kind":"edgerouter_admin"}}})",
      R"({"kind":"auth_sso","auth_sso_opts":{"id_server_url":"https://id.example.com","allowed_user_ids":["u1","u2"],"audience":"t-2/mon",
          "authorized_backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["http://10.0.1.7:9090"],"pass_host_header":true}}}})",
      R"({"kind":"edgerouter_admin"})",
      R"({"kind":"prom_metrics"})",
  };
  for (const char* backend : backends) ExpectRoundTrip(AppWithBackend(backend));
}

TEST(AppConfig, RoundTripsEveryFrontendKind) {
  const char* redirect = R"({"kind":"redirect","redirect_opts":{"to":"/x"}})";
  const char* frontends[] = {
      R"({"kind":"hostname","hostname":"example.com","path_prefix":"/api","strip_path_prefix":true})",
      R"({"kind":"hostname_regexp","hostname_regexp":"hellohttp.{[^.]+}.fn61.net","path_prefix":"/"})",
      R"({"kind":"path_prefix","path_prefix":"/.well-known/acme-challenge/","strip_path_prefix":true,"allow_insecure_http":true})",
  };
  for (const char* frontend : frontends) ExpectRoundTrip(AppWithBackend(redirect, frontend));
}

TEST(AppConfig, SerialisesLikeGoMarshalIndent) {
  absl::StatusOr<Application> app =
      ParseApplication(ReadFileOrDie(RunfilePath("testdata/apps/readme-s3-website.json")),
                       InputMode::kStrict);
  ASSERT_TRUE(app.ok()) << app.status();
  // Byte-identical to the README's own (Go-written) text.
  EXPECT_EQ(ToEdgerouterJson(*app) + "\n",
            ReadFileOrDie(RunfilePath("testdata/apps/readme-s3-website.json")));
}

TEST(AppConfig, OmitemptyRulesMatchEdgerouter) {
  absl::StatusOr<Application> app = ParseApplication(
      AppWithBackend(R"({"kind":"auth_sso","auth_sso_opts":{"audience":"x","authorized_backend":{"kind":"prom_metrics"}}})",
                     R"({"kind":"hostname","hostname":"h"})"),
      InputMode::kStrict);
  ASSERT_TRUE(app.ok()) << app.status();
  // path_prefix is always written; hostname_regexp, strip_path_prefix, id_server_url are not;
  // allowed_user_ids (no omitempty) is written even when empty.
  EXPECT_EQ(ToCompactJson(*app),
            R"({"id":"a","frontends":[{"kind":"hostname","hostname":"h","path_prefix":""}],)"
            R"("backend":{"kind":"auth_sso","auth_sso_opts":{"allowed_user_ids":[],"audience":"x",)"
            R"("authorized_backend":{"kind":"prom_metrics"}}}})");
}

struct InvalidCase {
  std::string json;
  std::string error;
};

TEST(AppConfig, InvalidInputsReportExactErrors) {
  const std::vector<InvalidCase> cases = {
      {R"({"frontends":[{"kind":"hostname","hostname":"h","path_prefix":"/"}],"backend":{"kind":"prom_metrics"}})",
       "app (no id): id is required"},
      {R"({"id":"a","frontends":[],"backend":{"kind":"prom_metrics"}})",
       "app a: frontends is required"},
      {R"({"id":"a","frontends":[{"kind":"hostname","path_prefix":"/"}],"backend":{"kind":"prom_metrics"}})",
       "app a: frontends[0].hostname is required"},
      {R"({"id":"a","frontends":[{"kind":"hostname_regexp","path_prefix":"/"}],"backend":{"kind":"prom_metrics"}})",
       "app a: frontends[0].hostname_regexp is required"},
      {R"({"id":"a","frontends":[{"kind":"hostname_regexp","hostname_regexp":"a(b","path_prefix":"/"}],"backend":{"kind":"prom_metrics"}})",
       "app a: frontends[0].hostname_regexp: invalid regexp: missing ): a(b"},
      {R"({"id":"a","frontends":[{"kind":"path_prefix"}],"backend":{"kind":"prom_metrics"}})",
       "app a: frontends[0].path_prefix is required"},
      {R"({"id":"a","frontends":[{"kind":"hostname","hostname":"h","path_prefix":"api"}],"backend":{"kind":"prom_metrics"}})",
       "app a: frontends[0].path_prefix must start with \"/\""},
      {R"({"id":"a","frontends":[{"kind":"host","hostname":"h"}],"backend":{"kind":"prom_metrics"}})",
       "app a: frontends[0].kind: unknown frontend kind: host"},
      {R"({"id":"a","frontends":[{"hostname":"h"}],"backend":{"kind":"prom_metrics"}})",
       "app a: frontends[0].kind is required"},
      {AppWithBackend(R"({"kind":"s3_static_website","s3_static_website_opts":{"region_id":"r"}})"),
       "app a: backend.s3_static_website_opts.bucket_name is required"},
      {AppWithBackend(R"({"kind":"s3_static_website"})"),
       "app a: backend.s3_static_website_opts is required"},
      {AppWithBackend(R"({"kind":"reverse_proxy"})"),
       "app a: backend.reverse_proxy_opts is required"},
      {AppWithBackend(R"({"kind":"reverse_proxy","reverse_proxy_opts":{"origins":[]}})"),
       "app a: backend.reverse_proxy_opts.origins is required"},
      {AppWithBackend(R"({"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["10.0.0.1:80"]}})"),
       "app a: backend.reverse_proxy_opts.origins[0]: invalid origin URL \"10.0.0.1:80\" (want http:// or https://host[:port][/path])"},
      {AppWithBackend(R"({"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["http://h"],"headers_to_origin":{"Bad Name":"x"}}})"),
       "app a: backend.reverse_proxy_opts.headers_to_origin.Bad Name: invalid header name"},
      {AppWithBackend(R"({"kind":"aws_lambda","aws_lambda_opts":{"function_name":"f","region_id":"r","payload_format_version":"3.0"}})"),
       "app a: backend.aws_lambda_opts.payload_format_version: unrecognized PayloadFormatVersion: 3.0"},
      {AppWithBackend(R"({"kind":"aws_lambda","aws_lambda_opts":{"region_id":"r"}})"),
       "app a: backend.aws_lambda_opts.function_name is required"},
      {AppWithBackend(R"({"kind":"turbocharger","turbocharger_opts":{"manifest":"abc"}})"),
       "app a: backend.turbocharger_opts.manifest: invalid manifest ID (want 43 characters of unpadded base64url, a SHA-256)"},
      {AppWithBackend(R"({"kind":"redirect","redirect_opts":{}})"),
       "app a: backend.redirect_opts.to is required"},
      {AppWithBackend(R"({"kind":"auth_v0","auth_v0_opts":{"bearer_token":"t"}})"),
       "app a: backend.auth_v0_opts.authorized_backend is required"},
      {AppWithBackend(R"({"kind":"auth_v0","auth_v0_opts":{"bearer_token":"t","authorized_backend":{"kind":"reverse_proxy","reverse_proxy_opts":{}}}})"),
       "app a: backend.auth_v0_opts.authorized_backend.reverse_proxy_opts.origins is required"},
      {AppWithBackend(R"({"kind":"auth_sso","auth_sso_opts":{"audience":"x","authorized_backend":{"kind":"nope"}}})"),
       "app a: backend.auth_sso_opts.authorized_backend.kind: unknown backend kind: nope"},
      {AppWithBackend(R"({"kind":"auth_sso","auth_sso_opts":{"authorized_backend":{"kind":"prom_metrics"}}})"),
       "app a: backend.auth_sso_opts.audience is required"},
      {AppWithBackend(R"({"kind":"magic"})"), "app a: backend.kind: unknown backend kind: magic"},
      {R"({"id":"a","frontends":[{"kind":"hostname","hostname":"h"}]})", "app a: backend is required"},
      {R"({"id":"a","frontends":[{"kind":"hostname","hostname":"h","path_prefix":"/","hostnme":"x"}],"backend":{"kind":"prom_metrics"}})",
       "app a: frontends[0].hostnme: unknown field"},
      {R"({"id":"a","frontends":[{"kind":"hostname","hostname":7}],"backend":{"kind":"prom_metrics"}})",
       "app a: frontends[0].hostname: expected string, got number\napp a: frontends[0].hostname is required"},
      {R"([1])", "app (no id): expected a JSON object, got array"},
      {R"({"id":"a","frontends":[{"kind":"hostname","hostname":"h","path_prefix":"/"}],"backend":{"kind":"prom_metrics"},)"
       R"("policies":{"ip_allow_list":["10.0.0.0/8","10.0.0.1/8"]}})",
       "app a: policies.ip_allow_list[1]: \"10.0.0.1/8\": address has bits set past the prefix length"},
  };
  for (const InvalidCase& c : cases) {
    absl::StatusOr<Application> app = ParseApplication(c.json, InputMode::kStrict);
    ASSERT_FALSE(app.ok()) << c.json;
    EXPECT_EQ(app.status().message(), c.error) << c.json;
  }
}

std::string AppWithPolicies(absl::string_view policies_json) {
  return absl::StrCat(R"({"id":"a","frontends":[{"kind":"hostname","hostname":"a.example.com","path_prefix":"/"}],)",
                      R"("backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["http://o"]}},"policies":)",
                      policies_json, "}");
}

TEST(AppConfig, RateLimitAndHeadersPoliciesValidateAndRoundTrip) {
  const std::string json = AppWithPolicies(
      R"({"rate_limit":{"average":100,"burst":20,"period":"1m30s","per":"app"},)"
      R"("headers":{"custom_request_headers":{"X-Drop":"","X-Set":"v"},"add_response_headers":{"X-Add":"1"},)"
      R"("sts_seconds":31536000,"sts_include_subdomains":true,"sts_preload":true,"content_type_nosniff":true,)"
      R"("frame_deny":true,"referrer_policy":"no-referrer","access_control_allow_origin_list":["https://a.example","http://b:8080"],)"
      R"("access_control_allow_methods":["GET","PUT"],"access_control_allow_headers":["X-Token"],)"
      R"("access_control_allow_credentials":true,"access_control_max_age":600}})");
  absl::StatusOr<Application> app = ParseApplication(json, InputMode::kStrict);
  ASSERT_TRUE(app.ok()) << app.status();
  EXPECT_TRUE(ValidateApplication(*app).empty());
  ExpectRoundTrip(json);
}

TEST(AppConfig, RateLimitAndHeadersPolicyErrorsNameAppAndPath) {
  const std::vector<InvalidCase> cases = {
      {AppWithPolicies(R"({"rate_limit":{"average":10,"period":"abc"}})"),
       "app a: policies.rate_limit.period: \"abc\" is not a duration"},
      {AppWithPolicies(R"({"rate_limit":{"average":10,"period":"-1s"}})"),
       "app a: policies.rate_limit.period: \"-1s\" is not a positive duration"},
      {AppWithPolicies(R"({"rate_limit":{"period":"1s"}})"),
       "app a: policies.rate_limit.average: must be at least 1 (requests per period)"},
      {AppWithPolicies(R"({"rate_limit":{"average":1,"per":"user"}})"),
       "app a: policies.rate_limit.per: \"user\" is not one of client_ip, app"},
      {AppWithPolicies(R"({"headers":{"custom_response_headers":{"X-A":"ok\r\nSet-Cookie: x"}}})"),
       "app a: policies.headers.custom_response_headers.X-A: invalid header value (control character)"},
      {AppWithPolicies(R"({"headers":{"add_request_headers":{"Bad Name":"v"}}})"),
       "app a: policies.headers.add_request_headers.Bad Name: invalid header name \"Bad Name\""},
      {AppWithPolicies(R"({"headers":{"add_response_headers":{"X-Empty":""}}})"),
       "app a: policies.headers.add_response_headers.X-Empty: empty value (add_* fields append a value)"},
      {AppWithPolicies(R"({"headers":{"custom_response_headers":{"Content-Length":"5"}}})"),
       "app a: policies.headers.custom_response_headers.Content-Length: this field is written by the proxy and cannot be set by a policy"},
      {AppWithPolicies(R"({"headers":{"custom_frame_options_value":"x\ny"}})"),
       "app a: policies.headers.custom_frame_options_value: invalid header value (control character)"},
      {AppWithPolicies(R"({"headers":{"referrer_policy":"always"}})"),
       "app a: policies.headers.referrer_policy: \"always\" is not a Referrer-Policy token"},
      {AppWithPolicies(R"({"headers":{"access_control_allow_origin_list":["https://a.example/path"]}})"),
       "app a: policies.headers.access_control_allow_origin_list[0]: \"https://a.example/path\" is not an origin (want \"*\" or scheme://host[:port])"},
      {AppWithPolicies(R"({"headers":{"access_control_allow_origin_list":["*"],"access_control_allow_credentials":true}})"),
       "app a: policies.headers.access_control_allow_credentials: cannot be combined with the origin \"*\""},
      {AppWithPolicies(R"({"headers":{"access_control_allow_methods":["GET, POST"]}})"),
       "app a: policies.headers.access_control_allow_methods[0]: \"GET, POST\" is not a token"},
  };
  for (const InvalidCase& c : cases) {
    absl::StatusOr<Application> app = ParseApplication(c.json, InputMode::kStrict);
    ASSERT_FALSE(app.ok()) << c.json;
    EXPECT_EQ(app.status().message(), c.error) << c.json;
  }
}

TEST(AppConfig, ValidatesCompressPolicy) {
  const std::string front = R"({"id":"a","frontends":[{"kind":"hostname","hostname":"h"}],"backend":{"kind":"prom_metrics"},)";
  absl::StatusOr<Application> ok = ParseApplication(
      front + R"("policies":{"compress":{"encodings":["br","gzip"],"included_content_types":["text/*","application/*+json","application/json"],"min_response_body_bytes":10}}})",
      InputMode::kStrict);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ParseApplication(front + R"("policies":{"compress":{}}})", InputMode::kStrict).ok());
  const std::vector<InvalidCase> cases = {
      {front + R"("policies":{"compress":{"encodings":["gzip","deflate"]}}})",
       "app a: policies.compress.encodings[1]: \"deflate\" is not one of gzip, br, zstd"},
      {front + R"("policies":{"compress":{"encodings":["br","br"]}}})",
       "app a: policies.compress.encodings[1]: \"br\" is listed twice"},
      {front + R"("policies":{"compress":{"included_content_types":["text/html; charset=utf-8"]}}})",
       "app a: policies.compress.included_content_types[0]: \"text/html; charset=utf-8\" is not a media type (type/subtype, type/*, type/*+suffix)"},
      {front + R"("policies":{"compress":{"excluded_content_types":["image/png","*/*","html"]}}})",
       "app a: policies.compress.excluded_content_types[1]: \"*/*\" is not a media type (type/subtype, type/*, type/*+suffix)\n"
       "app a: policies.compress.excluded_content_types[2]: \"html\" is not a media type (type/subtype, type/*, type/*+suffix)"},
  };
  for (const InvalidCase& c : cases) {
    absl::StatusOr<Application> app = ParseApplication(c.json, InputMode::kStrict);
    ASSERT_FALSE(app.ok()) << c.json;
    EXPECT_EQ(app.status().message(), c.error) << c.json;
  }
}

TEST(AppConfig, ReportsEveryErrorOfAnApp) {
  absl::StatusOr<Application> app = ParseApplication(
      R"({"id":"x","frontends":[{"kind":"hostname"},{"kind":"path_prefix"}],
          "backend":{"kind":"s3_static_website","s3_static_website_opts":{}}})",
      InputMode::kStrict);
  ASSERT_FALSE(app.ok());
  EXPECT_EQ(app.status().message(),
            "app x: frontends[0].hostname is required\n"
            "app x: frontends[1].path_prefix is required\n"
            "app x: backend.s3_static_website_opts.bucket_name is required\n"
            "app x: backend.s3_static_website_opts.region_id is required");
}

TEST(AppConfig, ToleratesUnknownFieldsInStreamEvents) {
  events::v1::AppUpdated updated;
  ASSERT_TRUE(DecodeEventPayload(
                  R"({"Application":{"id":"a","future":1,"frontends":[{"kind":"hostname","hostname":"h","path_prefix":"/","weight":3}],
                      "backend":{"kind":"prom_metrics","new_opts":{}}},"Trace":"t"})",
                  InputMode::kTolerant, &updated)
                  .ok());
  EXPECT_EQ(updated.application().id(), "a");
  EXPECT_TRUE(ValidateApplication(updated.application()).empty());
  absl::Status strict = DecodeEventPayload(R"({"Application":{"id":"a","future":1}})",
                                           InputMode::kStrict, &updated);
  EXPECT_EQ(strict.message(), "Application.future: unknown field");
}

TEST(AppConfig, NormalisesLegacyPeerSet) {
  const std::string json = R"({"id":"a","frontends":[{"kind":"hostname","hostname":"h","path_prefix":"/"}],
      "backend":{"kind":"auth_v0","auth_v0_opts":{"bearer_token":"t","authorized_backend":
        {"kind":"peer_set","peer_set_opts":{"addrs":["http://1.2.3.4"],"tls_config":{"server_name":"s"}}}}}})";
  absl::StatusOr<Application> app = ParseApplication(json, InputMode::kStrict);
  ASSERT_TRUE(app.ok()) << app.status();
  const Backend& inner = app->backend().auth_v0_opts().authorized_backend();
  EXPECT_EQ(inner.kind(), "reverse_proxy");
  EXPECT_EQ(inner.reverse_proxy_opts().origins(0), "http://1.2.3.4");
  EXPECT_EQ(inner.reverse_proxy_opts().tls_config().server_name(), "s");
  // Events get the same normalisation.
  events::v1::AppUpdated updated;
  ASSERT_TRUE(DecodeEventPayload(absl::StrCat(R"({"Application":)", json, "}"),
                                 InputMode::kTolerant, &updated)
                  .ok());
  EXPECT_TRUE(MessageDifferencer::Equals(updated.application(), *app));
}

TEST(AppConfig, ReadmeExamplesValidate) {
  absl::StatusOr<Application> s3 = ParseApplication(
      ReadFileOrDie(RunfilePath("testdata/apps/readme-s3-website.json")), InputMode::kStrict);
  ASSERT_TRUE(s3.ok()) << s3.status();
  absl::StatusOr<Application> docker = ParseApplication(
      ReadFileOrDie(RunfilePath("testdata/apps/readme-docker-peer-set.json")), InputMode::kStrict);
  ASSERT_TRUE(docker.ok()) << docker.status();
  EXPECT_EQ(docker->backend().kind(), "reverse_proxy");
  EXPECT_EQ(docker->backend().reverse_proxy_opts().origins_size(), 2);
  EXPECT_NE(ToEdgerouterJson(*docker).find(R"("reverse_proxy_opts": {)"), std::string::npos);
  // The README prints it without the comma between the two addrs: a clear, located error.
  absl::StatusOr<Application> verbatim = ParseApplication(
      ReadFileOrDie(RunfilePath("testdata/apps/readme-docker-peer-set.verbatim.json")),
      InputMode::kStrict);
  ASSERT_FALSE(verbatim.ok());
  EXPECT_TRUE(absl::StartsWith(verbatim.status().message(), "invalid JSON at line 15, column"))
      << verbatim.status();
}

TEST(AppConfig, ApplicationsFileKeepsGoodAppsAndReportsBadOnes) {
  absl::StatusOr<ParsedApplications> parsed = ParseApplicationsFile(
      R"({"apps":[{"id":"good","frontends":[{"kind":"hostname","hostname":"g","path_prefix":"/"}],"backend":{"kind":"prom_metrics"}},
                  {"frontends":[],"backend":{"kind":"prom_metrics"}},
                  {"id":"bad","frontends":[{"kind":"hostname","hostname":"b"}],"backend":{"kind":"redirect"}}]})",
      InputMode::kStrict);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->apps.size(), 1u);
  EXPECT_EQ(parsed->apps[0].id(), "good");
  ASSERT_EQ(parsed->problems.size(), 2u);
  EXPECT_EQ(parsed->problems[0].Lines(),
            (std::vector<std::string>{"app apps[1]: id is required", "app apps[1]: frontends is required"}));
  EXPECT_EQ(parsed->problems[1].Lines(),
            std::vector<std::string>{"app bad: backend.redirect_opts is required"});
  EXPECT_EQ(ParseApplicationsFile(R"({"apps":{}})", InputMode::kStrict).status().message(),
            "apps: expected array, got object");
  EXPECT_EQ(ParseApplicationsFile(R"({"apps":[],"x":1})", InputMode::kStrict).status().message(),
            "x: unknown field");
}

TEST(AppConfig, DescribeStrings) {
  absl::StatusOr<Application> app = ParseApplication(
      R"({"id":"a","frontends":[{"kind":"hostname","hostname":"h","path_prefix":"/p"},
          {"kind":"hostname_regexp","hostname_regexp":"{.+}","path_prefix":"/"},{"kind":"path_prefix","path_prefix":"/x"}],
          "backend":{"kind":"auth_v0","auth_v0_opts":{"bearer_token":"secret","authorized_backend":
          {"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["http://a","http://b"]}}}}})",
      InputMode::kStrict);
  ASSERT_TRUE(app.ok()) << app.status();
  EXPECT_EQ(DescribeApplication(*app),
            "a\n  backend = auth_v0:[bearerToken=...] -> reverse_proxy:http://a, http://b\n"
            "  frontend = hostname:h/p\n  frontend = hostname_regexp:{.+}/\n  frontend = path_prefix:/x");
  Backend lambda;
  lambda.set_kind("aws_lambda");
  lambda.mutable_aws_lambda_opts()->set_function_name("Fn");
  lambda.mutable_aws_lambda_opts()->set_region_id("eu-central-1");
  EXPECT_EQ(DescribeBackend(lambda), "aws_lambda:Fn@eu-central-1");
}

TEST(AppConfig, HostnameRegexpConversionMatchesEdgerouter) {
  EXPECT_EQ(HostnameRegexpToRe2("hellohttp.{[^.]+}.fn61.net"), "^hellohttp\\.[^.]+\\.fn61\\.net$");
  EXPECT_EQ(HostnameRegexpToRe2("{.+}"), "^.+$");
}

// reverse_proxy_opts.health_check / sticky / origin_weights and policies.retry.
TEST(AppConfig, ProxyPolicyFieldsAreValidated) {
  const std::string rp = R"({"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["http://a:1","http://b:2"],)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {AppWithBackend(rp + R"("health_check":{"interval":"5s"}}})"),
       "app a: backend.reverse_proxy_opts.health_check.path is required"},
      {AppWithBackend(rp + R"("health_check":{"path":"/h","interval":"abc"}}})"),
       "app a: backend.reverse_proxy_opts.health_check.interval: \"abc\" is not a duration"},
      {AppWithBackend(rp + R"("health_check":{"path":"/h","timeout":"-1s"}}})"),
       "app a: backend.reverse_proxy_opts.health_check.timeout: \"-1s\" is not a positive duration"},
      {AppWithBackend(rp + R"("health_check":{"path":"/h","expected_status":42}}})"),
       "app a: backend.reverse_proxy_opts.health_check.expected_status: not an HTTP status (100..599)"},
      {AppWithBackend(rp + R"("sticky":{"same_site":"sometimes"}}})"),
       "app a: backend.reverse_proxy_opts.sticky.same_site: \"sometimes\" (want lax, strict or none)"},
      {AppWithBackend(rp + R"("sticky":{"cookie_name":"a b"}}})"),
       "app a: backend.reverse_proxy_opts.sticky.cookie_name: invalid cookie name (want an HTTP token)"},
      {AppWithBackend(rp + R"("origin_weights":{"http://c:3":1}}})"),
       "app a: backend.reverse_proxy_opts.origin_weights.http://c:3: not one of origins"},
      {AppWithBackend(rp + R"("origin_weights":{"http://a:1":0,"http://b:2":0}}})"),
       "app a: backend.reverse_proxy_opts.origin_weights: every origin has weight 0"},
      {R"({"id":"a","frontends":[{"kind":"hostname","hostname":"h"}],"backend":{"kind":"prom_metrics"},"policies":{"retry":{"attempts":0}}})",
       "app a: policies.retry.attempts: want 1..10 (total tries)"},
      {R"({"id":"a","frontends":[{"kind":"hostname","hostname":"h"}],"backend":{"kind":"prom_metrics"},"policies":{"retry":{"attempts":2,"per_try_timeout":"2 s"}}})",
       "app a: policies.retry.per_try_timeout: \"2 s\" is not a duration"},
  };
  for (const auto& [json, error] : cases) {
    absl::StatusOr<Application> app = ParseApplication(json, InputMode::kStrict);
    ASSERT_FALSE(app.ok()) << json;
    EXPECT_EQ(app.status().message(), error) << json;
  }
  absl::StatusOr<Application> ok = ParseApplication(
      AppWithBackend(rp + R"("health_check":{"path":"/healthz","interval":"500ms","timeout":"1s","expected_status":204},)"
                          R"("sticky":{"cookie_name":"lb","secure":true,"same_site":"none","max_age_seconds":60},)"
                          R"("origin_weights":{"http://a:1":9,"http://b:2":1}}})"),
      InputMode::kStrict);
  EXPECT_TRUE(ok.ok()) << ok.status();
}

}  // namespace
}  // namespace edgerouter::config
