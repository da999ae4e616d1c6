// auth_sso end to end: an ID server the test runs (python's http.server publishing a JWKS made
// from OpenSSL Ed25519 keys on loopback), a control plane and a data plane in front of a real
// origin.
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "dataplane/backends/auth_sso/jwt_test_util.h"
#include "dataplane/test/e2e_fixture.h"

namespace edgerouter::testing {
namespace {

using backends::sso::JwksJson;
using backends::sso::TestSigner;

class AuthSso : public DataplaneE2E {
 protected:
  AuthSso() : k1_("k1"), k2_("k2") {}

  void StartOrigins() override {
    DataplaneE2E::StartOrigins();
    std::filesystem::create_directories(dir_ + "/id/id/.well-known");
    PublishKeys({&k1_});
    id_port_ = PickFreeLoopbackPort();
    auto id = Subprocess::Start({"/usr/bin/python3", "-u", "-m", "http.server", "--bind", "127.0.0.1",
                                 std::to_string(id_port_), "--directory", dir_ + "/id"},
                                dir_ + "/idserver.log");
    ASSERT_TRUE(id.ok()) << id.status();
    id_ = *std::move(id);
    ASSERT_TRUE(id_->WaitForLine("Serving HTTP", absl::Seconds(10)).ok()) << id_->Output();
  }

  std::string AppsJson() override {
    std::string apps = DataplaneE2E::AppsJson();
    const std::string sso = absl::StrCat(
        R"( {"id":"sso","frontends":[{"kind":"hostname","hostname":"sso.test","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"auth_sso","auth_sso_opts":{"id_server_url":")", IdServer(), R"(","allowed_user_ids":["alice"],"audience":"app1",
  "authorized_backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["http://127.0.0.1:)", origin_a_, R"("]}}}}},
)");
    return absl::StrReplaceAll(apps, {{"{\"apps\":[\n", "{\"apps\":[\n" + sso}});
  }

  void TearDown() override {
    DataplaneE2E::TearDown();
    id_.reset();
  }

  std::string IdServer() const { return absl::StrCat("http://127.0.0.1:", id_port_, "/id"); }

  void PublishKeys(const std::vector<const TestSigner*>& signers) {
    const std::string path = dir_ + "/id/id/.well-known/jwks.json";
    std::ofstream(path + ".tmp") << JwksJson(signers);
    std::filesystem::rename(path + ".tmp", path);
  }

  HttpResponse WithToken(const std::string& token, const std::string& path = "/hello") {
    return Get(http_port_, "sso.test", path, "Authorization: Bearer " + token + "\r\n");
  }

  // The first request may come before the keys were fetched (503): wait for the answer.
  HttpResponse AwaitStatus(const std::string& token, int status) {
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    HttpResponse r;
    while (absl::Now() < deadline) {
      r = WithToken(token);
      if (r.status == status) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return r;
  }

  TestSigner k1_, k2_;
  int id_port_ = 0;
  std::unique_ptr<Subprocess> id_;
};

TEST_F(AuthSso, TokensAreCheckedAgainstTheIdServersKeys) {
  WaitForApplied(1);
  HttpResponse valid = AwaitStatus(k1_.Token("alice", "app1", 300), 200);
  ASSERT_EQ(valid.status, 200) << valid.body;
  EXPECT_EQ(valid.headers["x-origin"], "a");

  HttpResponse expired = WithToken(k1_.Token("alice", "app1", -10));
  EXPECT_EQ(expired.status, 403);
  EXPECT_EQ(expired.body, "Forbidden\n");
  EXPECT_EQ(expired.headers["cache-control"], "no-store, must-revalidate");

  HttpResponse audience = WithToken(k1_.Token("alice", "other-app", 300));
  EXPECT_EQ(audience.status, 403);
  EXPECT_EQ(audience.body, "token audience mismatch\n");

  HttpResponse user = WithToken(k1_.Token("mallory", "app1", 300));
  EXPECT_EQ(user.status, 403);
  EXPECT_EQ(user.body, "Forbidden\n");

  TestSigner forger("k1");  // claims the ID server's kid, signs with its own key
  HttpResponse forged = WithToken(forger.Token("alice", "app1", 300));
  EXPECT_EQ(forged.status, 403);
  EXPECT_EQ(forged.body, "token signature is invalid\n");

  // No token: browsers go to the ID server, with path and query intact; others get 403.
  HttpResponse browser = Get(http_port_, "sso.test", "/docs/page?id=7", "Accept: text/html\r\n");
  EXPECT_EQ(browser.status, 302);
  EXPECT_EQ(browser.headers["location"],
            IdServer() + "?next=https%3A%2F%2Fsso.test%2F_auth%2Fredirect%3Fnext%3D%252Fdocs%252Fpage%253Fid%253D7");
  EXPECT_EQ(Get(http_port_, "sso.test", "/docs/page").status, 403);
}

TEST_F(AuthSso, CookieFlowThroughAuthRedirect) {
  WaitForApplied(1);
  const std::string token = k1_.Token("alice", "app1", 300);
  ASSERT_EQ(AwaitStatus(token, 200).status, 200);
  HttpResponse back = Get(http_port_, "sso.test", "/_auth/redirect?next=%2Fhello%3Fx%3D1&token=" + token);
  ASSERT_EQ(back.status, 302) << back.body;
  EXPECT_EQ(back.headers["location"], "/hello?x=1");
  EXPECT_EQ(back.headers["set-cookie"], "auth=" + token + "; Path=/; HttpOnly; Secure; SameSite=Lax");
  EXPECT_EQ(back.headers["cache-control"], "no-store, must-revalidate");
  HttpResponse with_cookie = Get(http_port_, "sso.test", "/hello?x=1", "Cookie: theme=dark; auth=" + token + "\r\n");
  EXPECT_EQ(with_cookie.status, 200);
  EXPECT_EQ(with_cookie.headers["x-origin"], "a");

  for (const char* next : {"%2F%2Fevil.example%2F", "https%3A%2F%2Fevil.example%2F", "%2F%5Cevil.example", "evil"}) {
    HttpResponse open = Get(http_port_, "sso.test", absl::StrCat("/_auth/redirect?next=", next, "&token=", token));
    EXPECT_EQ(open.status, 400) << next;
    EXPECT_EQ(open.headers.count("set-cookie"), 0u) << next;
    EXPECT_EQ(open.headers.count("location"), 0u) << next;
  }
  EXPECT_EQ(Get(http_port_, "sso.test", "/_auth/redirect?next=%2F").body, "missing query param: token\n");
  EXPECT_EQ(Get(http_port_, "sso.test", "/_auth/redirect?next=%2F&token=" + k1_.Token("alice", "x", 300)).status, 400);

  HttpResponse logout = Get(http_port_, "sso.test", "/_auth/logout");
  EXPECT_EQ(logout.status, 302);
  EXPECT_EQ(logout.headers["location"], IdServer() + "/logout");
  EXPECT_EQ(logout.headers["set-cookie"], "auth=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax");
}

TEST_F(AuthSso, KeyRotationIsPickedUpWithoutARestart) {
  WaitForApplied(1);
  const std::string k1_token = k1_.Token("alice", "app1", 300);
  ASSERT_EQ(AwaitStatus(k1_token, 200).status, 200);
  // The ID server rotates to k2: a token naming k2 makes the data plane refetch the JWKS.
  PublishKeys({&k2_});
  HttpResponse rotated = AwaitStatus(k2_.Token("alice", "app1", 300), 200);
  EXPECT_EQ(rotated.status, 200) << rotated.body;
  // k1 is gone from the set: a k1 token not seen before is no longer accepted.
  HttpResponse old_key = WithToken(k1_.Token("alice", "app1", 301));
  EXPECT_EQ(old_key.status, 503) << old_key.body;
  EXPECT_TRUE(absl::StrContains(old_key.body, "unknown key id \"k1\"")) << old_key.body;
  // Nor is one verified before the rotation: the withdrawn key stops working at once.
  EXPECT_EQ(WithToken(k1_token).status, 503);
}

}  // namespace
}  // namespace edgerouter::testing
