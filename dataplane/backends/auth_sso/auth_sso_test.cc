#include "dataplane/backends/auth_sso/auth_sso.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "dataplane/backends/auth_sso/jwt.h"
#include "dataplane/backends/auth_sso/jwt_test_util.h"
#include "dataplane/backends/builtin.h"
#include "dataplane/pipeline/fake_exchange.h"
#include "gtest/gtest.h"

namespace edgerouter::backends {
namespace {

using pipeline::FakeExchange;
using pipeline::Verdict;
using sso::TestSigner;

TEST(Jwt, ParsesAndVerifiesEd25519) {
  TestSigner signer("k1");
  const std::string token = signer.Token("u1", "app", 60);
  absl::StatusOr<sso::Jwt> jwt = sso::ParseJwt(token);
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->kid, "k1");
  EXPECT_EQ(jwt->claims.sub, "u1");
  ASSERT_EQ(jwt->claims.aud.size(), 1u);
  EXPECT_EQ(jwt->claims.aud[0], "app");
  absl::StatusOr<sso::KeySet> keys = sso::ParseJwks(sso::JwksJson({&signer}));
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_TRUE(sso::VerifySignature(*jwt, keys->at("k1").get()));
  // Another key, or one flipped byte of the payload, fails.
  TestSigner other("k2");
  absl::StatusOr<sso::KeySet> other_keys = sso::ParseJwks(sso::JwksJson({&other}));
  EXPECT_FALSE(sso::VerifySignature(*jwt, other_keys->at("k2").get()));
  sso::Jwt tampered = *jwt;
  tampered.signing_input.back() ^= 1;
  EXPECT_FALSE(sso::VerifySignature(tampered, keys->at("k1").get()));
}

TEST(Jwt, RejectsWhatIsNotAnEdDsaJwt) {
  EXPECT_EQ(sso::ParseJwt("abc").status().message(), "token is not a JWT");
  const std::string hs256 = absl::WebSafeBase64Escape(R"({"alg":"HS256"})") + "." + absl::WebSafeBase64Escape("{}") + ".c2ln";
  EXPECT_EQ(sso::ParseJwt(hs256).status().message(), "JWT alg must be EdDSA");
  const std::string none = absl::WebSafeBase64Escape(R"({"alg":"none"})") + "." + absl::WebSafeBase64Escape("{}") + ".";
  EXPECT_FALSE(sso::ParseJwt(none).ok());
  EXPECT_FALSE(sso::ParseJwt("!!.!!.!!").ok());
  const std::string bad_exp = absl::WebSafeBase64Escape(R"({"alg":"EdDSA"})") + "." +
                              absl::WebSafeBase64Escape(R"({"exp":"soon"})") + ".c2ln";
  EXPECT_EQ(sso::ParseJwt(bad_exp).status().message(), "JWT exp is not a number");
}

TEST(Jwt, Jwks) {
  EXPECT_FALSE(sso::ParseJwks("[]").ok());
  EXPECT_FALSE(sso::ParseJwks(R"({"keys":[{"kty":"RSA","n":"x","e":"AQAB"}]})").ok());
  EXPECT_FALSE(sso::ParseJwks(R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"c2hvcnQ"}]})").ok());
  TestSigner a("a"), b("b");
  absl::StatusOr<sso::KeySet> keys = sso::ParseJwks(sso::JwksJson({&a, &b}));
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 2u);
}

class AuthSsoStage : public ::testing::Test {
 protected:
  AuthSsoStage() : signer_("k1") {
    keys_ = std::make_shared<sso::KeySet>(*sso::ParseJwks(sso::JwksJson({&signer_})));
    stage_ = MakeAuthSso({"https://id.example/id", "myapp", {"u1"}}, [this] { return keys_; },
                         [this] { ++refreshes_; });
  }
  Verdict Run(FakeExchange& ex) { return stage_->Check(ex); }

  TestSigner signer_;
  std::shared_ptr<const sso::KeySet> keys_;
  int refreshes_ = 0;
  std::unique_ptr<const pipeline::AccessStage> stage_;
};

TEST_F(AuthSsoStage, ValidTokenFromBearerOrCookie) {
  const std::string token = signer_.Token("u1", "myapp", 60);
  FakeExchange bearer;
  bearer.headers["authorization"] = "Bearer " + token;
  EXPECT_EQ(Run(bearer), Verdict::kContinue);
  EXPECT_FALSE(bearer.strip_authorization);  // forwarded, as in edgerouter
  FakeExchange cookie;
  cookie.headers["cookie"] = "a=b; auth=" + token + "; c=d";
  EXPECT_EQ(Run(cookie), Verdict::kContinue);
}

TEST_F(AuthSsoStage, Refusals) {
  FakeExchange wrong_user;
  wrong_user.headers["authorization"] = "Bearer " + signer_.Token("u2", "myapp", 60);
  EXPECT_EQ(Run(wrong_user), Verdict::kAnswered);
  EXPECT_EQ(wrong_user.status, 403);
  EXPECT_EQ(wrong_user.body, "Forbidden\n");

  FakeExchange wrong_aud;
  wrong_aud.headers["authorization"] = "Bearer " + signer_.Token("u1", "other", 60);
  Run(wrong_aud);
  EXPECT_EQ(wrong_aud.status, 403);
  EXPECT_EQ(wrong_aud.body, "token audience mismatch\n");

  TestSigner impostor("k1");  // same kid, another key
  FakeExchange bad_sig;
  bad_sig.headers["authorization"] = "Bearer " + impostor.Token("u1", "myapp", 60);
  Run(bad_sig);
  EXPECT_EQ(bad_sig.status, 403);
  EXPECT_EQ(bad_sig.body, "token signature is invalid\n");
  FakeExchange bad_sig_again;  // answered from the cache, the same way
  bad_sig_again.headers = bad_sig.headers;
  Run(bad_sig_again);
  EXPECT_EQ(bad_sig_again.status, 403);
  EXPECT_EQ(bad_sig_again.body, "token signature is invalid\n");

  FakeExchange expired;
  expired.headers["authorization"] = "Bearer " + signer_.Token("u1", "myapp", -5);
  Run(expired);
  EXPECT_EQ(expired.status, 403);
  EXPECT_EQ(expired.body, "Forbidden\n");
  EXPECT_TRUE(absl::StrContains(expired.extra_headers, "Cache-Control: no-store, must-revalidate\r\n"));

  TestSigner rotated("k2");
  FakeExchange unknown_kid;
  unknown_kid.headers["authorization"] = "Bearer " + rotated.Token("u1", "myapp", 60);
  Run(unknown_kid);
  EXPECT_EQ(unknown_kid.status, 503);
  EXPECT_EQ(refreshes_, 1);
}

TEST_F(AuthSsoStage, AVerifiedTokenIsVerifiedAgainAfterTheKeysChange) {
  const std::string token = signer_.Token("u1", "myapp", 60);
  FakeExchange first;
  first.headers["authorization"] = "Bearer " + token;
  EXPECT_EQ(Run(first), Verdict::kContinue);
  TestSigner next("k2");
  keys_ = std::make_shared<sso::KeySet>(*sso::ParseJwks(sso::JwksJson({&next})));  // k1 withdrawn
  FakeExchange again;
  again.headers["authorization"] = "Bearer " + token;
  EXPECT_EQ(Run(again), Verdict::kAnswered);
  EXPECT_EQ(again.status, 503);
}

TEST_F(AuthSsoStage, BrowsersAreSentToTheIdServerWithPathAndQuery) {
  FakeExchange ex;
  ex.path = "/assets/view";
  ex.query = "id=foobar";
  ex.headers["host"] = "loppi.org";
  ex.headers["accept"] = "text/html,application/xhtml+xml";
  Run(ex);
  EXPECT_EQ(ex.status, 302);
  // upstream's test vector, with the '?' edgerouter lost.
  EXPECT_TRUE(absl::StrContains(ex.extra_headers,
                                "Location: https://id.example/id?next=https%3A%2F%2Floppi.org%2F_auth%2Fredirect%3Fnext%3D"
                                "%252Fassets%252Fview%253Fid%253Dfoobar\r\n"))
      << ex.extra_headers;
  EXPECT_TRUE(absl::StrContains(ex.extra_headers, "Cache-Control: no-store, must-revalidate\r\n"));
}

TEST_F(AuthSsoStage, RedirectSetsTheCookieForLocalPathsOnly) {
  const std::string token = signer_.Token("u1", "myapp", 60);
  FakeExchange ok;
  ok.path = "/_auth/redirect";
  ok.query = "next=%2Fdocs%3Fa%3D1&token=" + token;
  Run(ok);
  EXPECT_EQ(ok.status, 302);
  EXPECT_TRUE(absl::StrContains(ok.extra_headers, "Location: /docs?a=1\r\n")) << ok.extra_headers;
  EXPECT_TRUE(absl::StrContains(ok.extra_headers,
                                "Set-Cookie: auth=" + token + "; Path=/; HttpOnly; Secure; SameSite=Lax\r\n"));
  for (const char* next : {"https%3A%2F%2Fevil.example%2F", "%2F%2Fevil.example", "%2F%5Cevil.example", "evil", ""}) {
    FakeExchange open;
    open.path = "/_auth/redirect";
    open.query = std::string("next=") + next + "&token=" + token;
    Run(open);
    EXPECT_EQ(open.status, 400) << next;
    EXPECT_EQ(open.extra_headers.find("Set-Cookie"), std::string::npos);
  }
  FakeExchange header_injection;
  header_injection.path = "/_auth/redirect";
  header_injection.query = "next=%2Fa%0D%0ASet-Cookie%3A%20x%3D1&token=" + token;
  Run(header_injection);
  EXPECT_EQ(header_injection.status, 302);
  EXPECT_TRUE(absl::StrContains(header_injection.extra_headers, "Location: /a%0D%0ASet-Cookie:%20x=1\r\n"))
      << header_injection.extra_headers;
  FakeExchange no_token;
  no_token.path = "/_auth/redirect";
  no_token.query = "next=%2F";
  Run(no_token);
  EXPECT_EQ(no_token.status, 400);
  EXPECT_EQ(no_token.body, "missing query param: token\n");
  FakeExchange bad_token;
  bad_token.path = "/_auth/redirect";
  bad_token.query = "next=%2F&token=" + signer_.Token("u1", "other", 60);
  Run(bad_token);
  EXPECT_EQ(bad_token.status, 400);
}

TEST_F(AuthSsoStage, Logout) {
  FakeExchange ex;
  ex.path = "/_auth/logout";
  Run(ex);
  EXPECT_EQ(ex.status, 302);
  EXPECT_TRUE(absl::StrContains(ex.extra_headers, "Location: https://id.example/id/logout\r\n"));
  EXPECT_TRUE(absl::StrContains(ex.extra_headers, "Set-Cookie: auth=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"));
}

TEST(AuthSsoCompile, OptionsAreChecked) {
  config::v1::Backend b;
  b.set_kind("auth_sso");
  EXPECT_FALSE(BuiltinBackends().CompileChain("a", b).ok());
  b.mutable_auth_sso_opts()->set_audience("aud");
  EXPECT_EQ(BuiltinBackends().CompileChain("a", b).status().message(),
            "app a: backend.auth_sso_opts.authorized_backend: required");
  b.mutable_auth_sso_opts()->mutable_authorized_backend()->set_kind("redirect");
  b.mutable_auth_sso_opts()->mutable_authorized_backend()->mutable_redirect_opts()->set_to("https://x/");
  b.mutable_auth_sso_opts()->set_id_server_url("http://127.0.0.1:9/id");
  absl::StatusOr<pipeline::Chain> chain = BuiltinBackends().CompileChain("a", b);
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(chain->Describe(), "auth_sso -> redirect");
}

}  // namespace
}  // namespace edgerouter::backends
