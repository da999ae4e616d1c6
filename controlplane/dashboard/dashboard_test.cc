// The dashboard's HTTP side on a real libmicrohttpd listener: assets and their headers, the
// state's access rules, methods, keep-alive.
#include "controlplane/dashboard/dashboard.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dataplane/test/tls_test_util.h"
#include "dataplane/test/http_test_client.h"
#include "gtest/gtest.h"

namespace edgerouter::controlplane::dashboard {
namespace {

using edgerouter::testing::Get;
using edgerouter::testing::HttpResponse;
using edgerouter::testing::TestConnection;

class DashboardTest : public ::testing::Test {
 protected:
  void Start(const std::string& token) {
    DashboardOptions options;
    options.token = token;
    board_ = std::make_unique<Dashboard>(options);
    board_->Register(&server_);
    ASSERT_TRUE(server_.Start("127.0.0.1:0").ok());
    ASSERT_GT(server_.port(), 0);
    ASSERT_TRUE(server_.loopback());
  }
  HttpResponse Request(const std::string& head, bool head_request = false) {
    TestConnection c(server_.port());
    c.Send(head);
    return c.Read(head_request);
  }

  std::unique_ptr<Dashboard> board_;
  WebServer server_;
};

TEST_F(DashboardTest, ServesTheEmbeddedPageWithAStrictPolicy) {
  Start("");
  const HttpResponse page = Get(server_.port(), "x", "/dashboard/");
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(absl::StartsWith(page.headers.at("content-type"), "text/html"));
  EXPECT_TRUE(absl::StrContains(page.headers.at("content-security-policy"), "default-src 'none'"));
  EXPECT_TRUE(absl::StrContains(page.body, "/dashboard/app.js"));
  EXPECT_FALSE(absl::StrContains(page.body, "http://")) << "nothing from elsewhere";
  EXPECT_FALSE(absl::StrContains(page.body, "https://"));
  EXPECT_TRUE(absl::StrContains(Get(server_.port(), "x", "/dashboard/app.js").body, "textContent"));
  EXPECT_EQ(Get(server_.port(), "x", "/").status, 302);
  EXPECT_EQ(Get(server_.port(), "x", "/nope").status, 404);
}

TEST_F(DashboardTest, StateIsUnavailableUntilTheAdminServiceIsAttached) {
  Start("");
  EXPECT_EQ(Get(server_.port(), "x", "/dashboard/api/state").status, 503);
}

TEST_F(DashboardTest, OnlyGetAndHeadAndKeepAlive) {
  Start("");
  EXPECT_EQ(Request("POST /dashboard/ HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc").status, 405);
  const HttpResponse head = Request("HEAD /dashboard/ HTTP/1.1\r\nHost: x\r\n\r\n", true);
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  TestConnection c(server_.port());
  for (int i = 0; i < 3; ++i) {  // one connection, several requests
    ASSERT_TRUE(c.Send("GET /dashboard/style.css HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_EQ(c.Read().status, 200) << i;
  }
}

TEST_F(DashboardTest, ATokenIsRequiredWhenConfigured) {
  Start("s3cret");
  const HttpResponse none = Get(server_.port(), "x", "/dashboard/api/state");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.headers.at("www-authenticate"), "Bearer");
  EXPECT_EQ(Get(server_.port(), "x", "/dashboard/api/state", "Authorization: Bearer wrong\r\n").status, 401);
  // The right token passes the check (then: still starting).
  EXPECT_EQ(Get(server_.port(), "x", "/dashboard/api/state", "Authorization: Bearer s3cret\r\n").status, 503);
  EXPECT_EQ(Get(server_.port(), "x", "/dashboard/").status, 200);  // the page holds no data
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// HTTPS with client certificates: curl with the CA's client certificate reads the state; without
// one, or with another CA's, it is refused. The page itself is served to anyone.
TEST(DashboardTlsTest, ClientCertificatesSignedByTheConfiguredCaAreRequired) {
  char tmpl[] = "/tmp/er-dash-tls-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string made = edgerouter::testing::Shell(absl::StrCat(
      "cd ", dir, " && ", edgerouter::testing::MakeCaScript("ca"), edgerouter::testing::MakeCaScript("rogue"),
      edgerouter::testing::MakeLeafScript("server", "127.0.0.1", "ca", "subjectAltName=IP:127.0.0.1"),
      edgerouter::testing::MakeLeafScript("ops", "ops", "ca", "extendedKeyUsage=clientAuth"),
      edgerouter::testing::MakeLeafScript("intruder", "ops", "rogue", "extendedKeyUsage=clientAuth")));
  ASSERT_TRUE(absl::StrContains(made, "EXIT=0")) << made;
  WebTls tls{Slurp(dir + "/server.crt"), Slurp(dir + "/server.key"), Slurp(dir + "/ca.pem")};
  DashboardOptions options;
  options.client_certs = true;
  Dashboard board(options);
  WebServer server;
  board.Register(&server);
  ASSERT_TRUE(server.Start("127.0.0.1:0", &tls).ok());
  ASSERT_TRUE(server.client_certs());
  auto curl = [&](const std::string& args, const std::string& path) {
    return edgerouter::testing::Shell(absl::StrCat("curl -s -o /dev/null -w '%{http_code}\\n' --cacert ", dir,
                                                   "/ca.pem ", args, " https://127.0.0.1:", server.port(), path));
  };
  const std::string ops = absl::StrCat("--cert ", dir, "/ops.crt --key ", dir, "/ops.key");
  const std::string intruder = absl::StrCat("--cert ", dir, "/intruder.crt --key ", dir, "/intruder.key");
  // 503: authorized, and the state is not attached in this test.
  EXPECT_TRUE(absl::StartsWith(curl(ops, "/dashboard/api/state"), "503")) << curl(ops, "/dashboard/api/state");
  EXPECT_TRUE(absl::StartsWith(curl("", "/dashboard/api/state"), "403")) << curl("", "/dashboard/api/state");
  const std::string rogue = curl(intruder, "/dashboard/api/state");
  EXPECT_FALSE(absl::StartsWith(rogue, "503")) << rogue;  // refused (403) or the handshake fails
  EXPECT_TRUE(absl::StartsWith(curl("", "/dashboard/"), "200"));
  std::filesystem::remove_all(dir);
}

TEST(DashboardAccessTest, BoundWiderWithoutATokenNothingIsServed) {
  Dashboard open({});
  EXPECT_TRUE(open.Authorized("", /*loopback=*/true));
  EXPECT_FALSE(open.Authorized("", /*loopback=*/false));
  EXPECT_FALSE(open.Authorized("Bearer x", /*loopback=*/false));
  DashboardOptions options;
  options.token = "t0k";
  Dashboard locked(options);
  EXPECT_TRUE(locked.Authorized("Bearer t0k", false));
  EXPECT_FALSE(locked.Authorized("Bearer t0k ", false));
  EXPECT_FALSE(locked.Authorized("", true));
  DashboardOptions certs;
  certs.client_certs = true;
  Dashboard mtls(certs);
  EXPECT_FALSE(mtls.Authorized("", /*loopback=*/true));  // certificates required, loopback too
  EXPECT_TRUE(mtls.Authorized("", false, /*client_verified=*/true));
}

}  // namespace
}  // namespace edgerouter::controlplane::dashboard
