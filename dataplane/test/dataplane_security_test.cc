// End to end through the real binaries: what a hostile client sends must not come back as
// markup, reach origins as trusted facts, or leak secrets through the dumps.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/test_util.h"
#include "dataplane/test/e2e_fixture.h"
#include "dataplane/test/tls_test_util.h"

namespace edgerouter::testing {
namespace {

class DataplaneSecurity : public DataplaneE2E {
 protected:
  std::string AppsJson() override {
    std::string json = DataplaneE2E::AppsJson();
    const std::string extra = R"(,
 {"id":"relredir","frontends":[{"kind":"hostname","hostname":"relredir.test","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"redirect","redirect_opts":{"to":"landing"}}}
]})";
    json.replace(json.rfind("\n]}"), 3, extra);
    return json;
  }
  // 127.0.0.2 stands for a load balancer in front of the data plane; 127.0.0.1 for any client.
  // The access log is written at the end of a loop turn: poll for the line.
  bool WaitForAccessLog(const std::string& needle) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      std::ifstream in(dir_ + "/access.log");
      std::stringstream all;
      all << in.rdbuf();
      if (absl::StrContains(all.str(), needle)) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }

  std::vector<std::string> DataplaneFlags() override {
    return {"--h2c", "--trusted_proxies=127.0.0.2/32, 10.0.0.0/8,2001:db8:ffff::/48"};
  }

  // One request from the loopback address `source`, read until the data plane closes.
  HttpResponse SendFrom(const std::string& source, const std::string& request) {
    HttpResponse r;
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &addr.sin_addr);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << source;
    addr.sin_port = htons(static_cast<uint16_t>(http_port_));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
      close(fd);
      return r;
    }
    std::string raw;
    char buf[16384];
    for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) raw.append(buf, n);
    close(fd);
    const size_t end = raw.find("\r\n\r\n");
    if (!absl::StartsWith(raw, "HTTP/1.1 ") || end == std::string::npos) return r;
    r.status = std::stoi(raw.substr(9, 3));
    r.head = raw.substr(0, end);
    r.body = raw.substr(end + 4);
    return r;
  }

  // One request over prior-knowledge HTTP/2 (h2_request.py): ":status: N", fields, "body: …".
  std::string H2Request(const std::string& method, const std::string& authority, const std::string& path,
                        const std::vector<std::string>& fields = {}) {
    std::string cmd = absl::StrCat("/usr/bin/python3 ", RunfilePath("dataplane/test/h2_request.py"), " ",
                                   http_port_, " ", method, " ", authority, " '", path, "'");
    for (const std::string& f : fields) absl::StrAppend(&cmd, " '", f, "'");
    return Shell(cmd + " 2>&1");
  }
};

// The request target comes back in Location and in a text/html body: no markup may survive.
TEST_F(DataplaneSecurity, RedirectBodiesEscapeTheTarget) {
  WaitForApplied(1);
  const std::string attack = "/\"><script>alert(1)</script>";
  // 307 to HTTPS (secure.test has no allow_insecure_http).
  HttpResponse r = Get(http_port_, "secure.test", attack);
  ASSERT_EQ(r.status, 307) << r.head;
  EXPECT_EQ(r.headers["location"], "https://secure.test/%22%3E%3Cscript%3Ealert(1)%3C/script%3E");
  EXPECT_FALSE(absl::StrContains(r.body, "<script")) << r.body;
  EXPECT_EQ(r.body, "<a href=\"https://secure.test/%22%3E%3Cscript%3Ealert(1)%3C/script%3E\">Temporary Redirect</a>.\n\n");
  // A relative redirect backend resolves against the request path.
  r = Get(http_port_, "relredir.test", "/x'y/\"<b>/z");
  ASSERT_EQ(r.status, 302) << r.head;
  EXPECT_EQ(r.headers["location"], "/x'y/%22%3Cb%3E/landing");
  EXPECT_EQ(r.body, "<a href=\"/x&#39;y/%22%3Cb%3E/landing\">Found</a>.\n\n");
  // A valid target is not changed.
  r = Get(http_port_, "secure.test", "/a%2Fb?x=%20y&z=1");
  EXPECT_EQ(r.headers["location"], "https://secure.test/a%2Fb?x=%20y&z=1");
  EXPECT_EQ(r.body, "<a href=\"https://secure.test/a%2Fb?x=%20y&amp;z=1\">Temporary Redirect</a>.\n\n");
}

// As nginx: TRACE is refused (it would echo credentials back to a script), and a raw backslash
// in the path (which some origins read as '/') is a bad request. Neither reaches an origin.
TEST_F(DataplaneSecurity, TraceAndBackslashPathsAreRefused) {
  WaitForApplied(1);
  TestConnection trace(http_port_);
  trace.Send("TRACE /trace-h1 HTTP/1.1\r\nHost: site.test\r\nCookie: c=1\r\n\r\n");
  HttpResponse r = trace.Read();
  EXPECT_EQ(r.status, 405) << r.head << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "c=1")) << r.body;
  r = Get(http_port_, "site.test", "/back\\slash-h1");
  EXPECT_EQ(r.status, 400) << r.head << r.body;
  r = Get(http_port_, "site.test", "/ok\\?q=1");
  EXPECT_EQ(r.status, 400) << r.head << r.body;
  // The same over HTTP/2.
  std::string out = H2Request("TRACE", "site.test", "/trace-h2");
  EXPECT_TRUE(absl::StrContains(out, ":status: 405")) << out;
  out = H2Request("GET", "site.test", "/back\\slash-h2");
  EXPECT_TRUE(absl::StrContains(out, ":status: 400")) << out;
  // A backslash that is percent-encoded, or in the query, is data like any other.
  EXPECT_EQ(Get(http_port_, "site.test", "/enc%5Cslash?q=a\\b").status, 200);
  out = H2Request("GET", "site.test", "/marker-h2");
  EXPECT_TRUE(absl::StrContains(out, ":status: 200")) << out;
  ASSERT_TRUE(a_->WaitForLine("request GET /marker-h2", absl::Seconds(5)).ok()) << a_->Output();
  EXPECT_FALSE(absl::StrContains(a_->Output(), "trace-h")) << a_->Output();
  EXPECT_FALSE(absl::StrContains(a_->Output(), "slash-h")) << a_->Output();
}

// A client's own word about addresses never reaches an origin; a trusted proxy's does, and
// names the client (right-most untrusted X-Forwarded-For entry) for origins and the access log.
TEST_F(DataplaneSecurity, ClientAddressComesFromThePeerOrATrustedProxy) {
  WaitForApplied(1);
  const std::string claims =
      "X-Forwarded-For: 198.51.100.1, garbage, 203.0.113.7:80\r\nX-Real-IP: 6.6.6.1\r\n"
      "Forwarded: for=6.6.6.2\r\nTrue-Client-IP: 6.6.6.3\r\nCF-Connecting-IP: 6.6.6.4\r\n";
  HttpResponse r = SendFrom("127.0.0.1", "GET /echo-untrusted HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n" +
                                             claims + "\r\n");
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_TRUE(absl::StrContains(r.body, "\r\nX-Forwarded-For: 127.0.0.1\r\n")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "\r\nX-Real-IP: 127.0.0.1\r\n")) << r.body;
  for (const char* gone : {"6.6.6.", "198.51.100.1", "garbage", "Forwarded:", "True-Client-IP", "CF-Connecting-IP"}) {
    EXPECT_FALSE(absl::StrContains(r.body, gone)) << gone << " in " << r.body;
  }
  // From the trusted proxy: valid entries kept, the proxy appended, the client found.
  r = SendFrom("127.0.0.2",
               "GET /echo-trusted HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\nX-Real-IP: 6.6.6.1\r\n"
               "CF-Connecting-IP: 203.0.113.7\r\nX-Forwarded-For: 6.6.6.6, junk, 2001:db8::7\r\n"
               "X-Forwarded-For: 10.1.2.3, 2001:db8:ffff::1\r\n\r\n");
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_TRUE(absl::StrContains(
      r.body, "\r\nX-Forwarded-For: 6.6.6.6, 2001:db8::7, 10.1.2.3, 2001:db8:ffff::1, 127.0.0.2\r\n")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "\r\nX-Real-IP: 2001:db8::7\r\n")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "\r\nCF-Connecting-IP: 203.0.113.7\r\n")) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "6.6.6.1")) << r.body;
  // The access log names the client and the peer it came through.
  ASSERT_TRUE(WaitForAccessLog("/echo-trusted"));
  const std::string log = ReadFileOrDie(dir_ + "/access.log");
  EXPECT_TRUE(absl::StrContains(log, "\"path\":\"/echo-untrusted\"")) << log;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, "/echo-untrusted")) {
      EXPECT_TRUE(absl::StrContains(line, "\"client\":\"127.0.0.1\",\"peer\":\"127.0.0.1\"")) << line;
    }
    if (absl::StrContains(line, "/echo-trusted")) {
      EXPECT_TRUE(absl::StrContains(line, "\"client\":\"2001:db8::7\",\"peer\":\"127.0.0.2\"")) << line;
    }
  }
  // A bad entry stops the start, naming it.
  auto bad = Subprocess::Start({RunfilePath("dataplane/dataplane"), "--trusted_proxies=127.0.0.2,10.0.0.1/8",
                                "--http_listen=127.0.0.1:0", "--https_listen=", "--admin_listen=127.0.0.1:0",
                                "--state_dir=" + dir_ + "/bad-state"});
  ASSERT_TRUE(bad.ok());
  absl::StatusOr<int> status = (*bad)->Wait(absl::Seconds(10));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << *status;
  EXPECT_TRUE(absl::StrContains((*bad)->Output(), "\\\"10.0.0.1/8\\\"")) << (*bad)->Output();
}

// Dumps are for looking at, not for credentials: auth_v0 tokens (and every other field the
// schema marks secret) are redacted in the data plane's /config_dump and in the control plane's
// snapshot unless asked for explicitly.
TEST_F(DataplaneSecurity, DumpsRedactSecrets) {
  WaitForApplied(1);
  TestConnection dump(admin_port_);
  dump.Send("GET /config_dump HTTP/1.1\r\nHost: x\r\n\r\n");
  HttpResponse d = dump.Read();
  ASSERT_EQ(d.status, 200);
  EXPECT_TRUE(absl::StrContains(d.body, "\"name\": \"app/token\"")) << d.body;
  EXPECT_FALSE(absl::StrContains(d.body, "s3cret")) << d.body;
  EXPECT_TRUE(absl::StrContains(d.body, "\"bearer_token\": \"[redacted]\"")) << d.body;
  // The token still works: only the dump is redacted.
  EXPECT_EQ(Get(http_port_, "token.test", "/", "Authorization: Bearer s3cret\r\n").status, 200);

  // Control plane: GetSnapshot redacts unless include_secrets is set.
  for (const bool include : {false, true}) {
    grpc::ClientContext ctx;
    admin::v1::GetSnapshotRequest req;
    req.set_include_secrets(include);
    admin::v1::GetSnapshotResponse resp;
    ASSERT_TRUE(admin_->GetSnapshot(&ctx, req, &resp).ok());
    EXPECT_EQ(absl::StrContains(resp.snapshot().DebugString(), "s3cret"), include) << resp.snapshot().DebugString();
  }
  auto ctl = [this](std::vector<std::string> args) {
    args.insert(args.begin(), {RunfilePath("cli/edgerouterctl"),
                               absl::StrCat("--controlplane=127.0.0.1:", cp_grpc_port_)});
    auto p = Subprocess::Start(args);
    EXPECT_TRUE(p.ok());
    absl::StatusOr<int> status = (*p)->Wait(absl::Seconds(10));
    EXPECT_TRUE(status.ok() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << (*p)->Output();
    return (*p)->Output();
  };
  std::string out = ctl({"snapshot", "show", "--json"});
  EXPECT_TRUE(absl::StrContains(out, "app/token")) << out;
  EXPECT_FALSE(absl::StrContains(out, "s3cret")) << out;
  out = ctl({"snapshot", "show", "--json", "--include-secrets"});
  EXPECT_TRUE(absl::StrContains(out, "s3cret")) << out;
}

}  // namespace
}  // namespace edgerouter::testing
