// IP rules end to end: a control plane reading an ip-rules.hcl (and IpRulesUpdated events), a
// data plane applying them to clients that really connect from different loopback addresses
// (127.0.0.2, 127.0.0.3, ... bound as source addresses) and from ::1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "dataplane/test/e2e_fixture.h"

namespace edgerouter::testing {
namespace {

struct Answer {
  int status = 0;
  std::string body;
};

// One request over a connection bound to `source` (an IPv4 or IPv6 literal).
Answer RequestFrom(const std::string& source, const std::string& dest, int port, const std::string& host,
                   const std::string& path = "/", const std::string& extra = "") {
  const bool v6 = absl::StrContains(dest, ':');
  sockaddr_storage src{}, dst{};
  socklen_t len;
  if (v6) {
    auto* s = reinterpret_cast<sockaddr_in6*>(&src);
    auto* d = reinterpret_cast<sockaddr_in6*>(&dst);
    s->sin6_family = d->sin6_family = AF_INET6;
    inet_pton(AF_INET6, source.c_str(), &s->sin6_addr);
    inet_pton(AF_INET6, dest.c_str(), &d->sin6_addr);
    d->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
  } else {
    auto* s = reinterpret_cast<sockaddr_in*>(&src);
    auto* d = reinterpret_cast<sockaddr_in*>(&dst);
    s->sin_family = d->sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &s->sin_addr);
    inet_pton(AF_INET, dest.c_str(), &d->sin_addr);
    d->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  }
  Answer answer;
  const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (bind(fd, reinterpret_cast<sockaddr*>(&src), len) != 0 || connect(fd, reinterpret_cast<sockaddr*>(&dst), len) != 0) {
    ADD_FAILURE() << "connect from " << source << " to " << dest << ":" << port << ": " << strerror(errno);
    close(fd);
    return answer;
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: ", host, "\r\n", extra, "Connection: close\r\n\r\n");
  (void)!write(fd, request.data(), request.size());
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) raw.append(buf, n);
  close(fd);
  if (raw.size() > 12) (void)absl::SimpleAtoi(raw.substr(9, 3), &answer.status);
  const size_t body = raw.find("\r\n\r\n");
  if (body != std::string::npos) answer.body = raw.substr(body + 4);
  return answer;
}

Answer From(const std::string& source, int port, const std::string& host, const std::string& path = "/") {
  return RequestFrom(source, "127.0.0.1", port, host, path);
}

class IpRules : public DataplaneE2E {
 protected:
  std::vector<std::string> ControlPlaneFlags() override {
    WriteRules(R"(# the test's rules
allow_specified {
  prefix = "127.0.0.2/32"
  apps = ["site"]
}
allow_all { prefix = "127.0.0.1/32" }
allow_all { prefix = "::1/128" }
)");
    return {"--ip_rules_file=" + dir_ + "/ip-rules.hcl"};
  }
  // trusted_proxies: 127.0.0.5 forwards for others.
  std::vector<std::string> DataplaneFlags() override { return {"--trusted_proxies=127.0.0.5/32"}; }

  void WriteRules(const std::string& text) {
    // Atomic replace, as editors and config managers do.
    std::ofstream(dir_ + "/ip-rules.hcl.tmp") << text;
    std::rename((dir_ + "/ip-rules.hcl.tmp").c_str(), (dir_ + "/ip-rules.hcl").c_str());
  }

  // Polls until `source`'s request gets `status` (config changes propagate asynchronously).
  void AwaitStatus(const std::string& source, const std::string& host, int status) {
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    Answer a;
    while (absl::Now() < deadline) {
      a = From(source, http_port_, host);
      if (a.status == status) return;
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << source << " -> " << host << ": got " << a.status << " " << a.body << ", want " << status;
  }

  int Ctl(const std::vector<std::string>& args, std::string* output = nullptr) {
    std::vector<std::string> argv = {RunfilePath("cli/edgerouterctl"),
                                     absl::StrCat("--controlplane=127.0.0.1:", cp_grpc_port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    auto ctl = Subprocess::Start(argv);
    EXPECT_TRUE(ctl.ok());
    absl::StatusOr<int> status = (*ctl)->Wait(absl::Seconds(10));
    EXPECT_TRUE(status.ok());
    if (output != nullptr) *output = (*ctl)->Output();
    return status.ok() && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }
};

TEST_F(IpRules, SourceAddressesAreFilteredPerApp) {
  WaitForApplied(1);
  EXPECT_EQ(From("127.0.0.1", http_port_, "site.test").status, 200);
  EXPECT_EQ(From("127.0.0.1", http_port_, "redir.test").status, 302);
  EXPECT_EQ(From("127.0.0.2", http_port_, "site.test").status, 200);
  Answer explicit_deny = From("127.0.0.2", http_port_, "redir.test");
  EXPECT_EQ(explicit_deny.status, 403);
  EXPECT_EQ(explicit_deny.body, "your IP (127.0.0.2) is not allowed (explicit deny)\n");
  Answer implicit_deny = From("127.0.0.3", http_port_, "site.test");
  EXPECT_EQ(implicit_deny.status, 403);
  EXPECT_EQ(implicit_deny.body, "your IP (127.0.0.3) is not allowed (implicit deny)\n");
  // The HTTPS redirect comes first (edgerouter's order); routing too: unknown hosts are 404.
  EXPECT_EQ(From("127.0.0.3", http_port_, "secure.test").status, 307);
  EXPECT_EQ(From("127.0.0.3", http_port_, "nowhere.test").status, 404);
  // A trusted proxy's X-Forwarded-For names the client the rules judge.
  EXPECT_EQ(RequestFrom("127.0.0.5", "127.0.0.1", http_port_, "site.test", "/", "X-Forwarded-For: 127.0.0.2\r\n").status,
            200);
  EXPECT_EQ(RequestFrom("127.0.0.5", "127.0.0.1", http_port_, "redir.test", "/", "X-Forwarded-For: 127.0.0.2\r\n").status,
            403);
  // An untrusted peer's claim is ignored.
  EXPECT_EQ(RequestFrom("127.0.0.3", "127.0.0.1", http_port_, "site.test", "/", "X-Forwarded-For: 127.0.0.1\r\n").status,
            403);
  // Denials are counted under the app.
  const std::string metrics = Metrics();
  EXPECT_TRUE(absl::StrContains(metrics, R"(er_requests_fail{app="redir",code="403",method="GET"} 2)")) << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, R"(er_requests_fail{app="site",code="403",method="GET"} 2)")) << metrics;
}

TEST_F(IpRules, BadFileIsRejectedWithLineAndColumnWhileTheOldRulesServe) {
  WaitForApplied(1);
  WriteRules("allow_all { prefix = \"127.0.0.0/8\" }\nallow_all {\n  prefix = \"127.0.0.300/32\"\n}\n");
  ASSERT_TRUE(cp_->WaitForLine("ip rules file rejected", absl::Seconds(10)).ok()) << cp_->Output();
  EXPECT_TRUE(absl::StrContains(cp_->Output(), "ip-rules.hcl:3:12: invalid prefix")) << cp_->Output();
  // That line comes when the file is read; the snapshot that reports it is built afterwards,
  // and logs each rejection once it is the current one.
  ASSERT_TRUE(cp_->WaitForLine("id=iprules", absl::Seconds(10)).ok()) << cp_->Output();
  std::string errors;
  EXPECT_EQ(Ctl({"discovery", "errors"}, &errors), 0);
  EXPECT_TRUE(absl::StrContains(errors, "3:12")) << errors;
  // The old rules still apply.
  EXPECT_EQ(From("127.0.0.3", http_port_, "site.test").status, 403);
  EXPECT_EQ(From("127.0.0.2", http_port_, "site.test").status, 200);
  // A good file replaces them.
  WriteRules("allow_all { prefix = \"127.0.0.0/29\" }\n");
  AwaitStatus("127.0.0.3", "site.test", 200);
  EXPECT_EQ(From("127.0.0.2", http_port_, "redir.test").status, 302);
  EXPECT_EQ(From("127.0.0.9", http_port_, "site.test").status, 403);
  // Removing the file turns filtering off.
  std::remove((dir_ + "/ip-rules.hcl").c_str());
  AwaitStatus("127.0.0.9", "site.test", 200);
}

TEST_F(IpRules, RulesOnTheStreamWinOverTheFile) {
  WaitForApplied(1);
  const std::string file = dir_ + "/stream-rules.hcl";
  std::ofstream(file) << "allow_all { prefix = \"127.0.0.4/32\" }\nallow_specified {\n  prefix = \"127.0.0.0/8\"\n  apps = [\"redir\"]\n}\n";
  ASSERT_EQ(Ctl({"iprules", "put", file}), 0);
  AwaitStatus("127.0.0.1", "site.test", 403);
  EXPECT_EQ(From("127.0.0.4", http_port_, "site.test").status, 200);
  EXPECT_EQ(From("127.0.0.1", http_port_, "redir.test").status, 302);
  std::string cat;
  ASSERT_EQ(Ctl({"iprules", "cat"}, &cat), 0);
  EXPECT_TRUE(absl::StrContains(cat, "# from /t-1/loadbalancer@")) << cat;
  EXPECT_TRUE(absl::StrContains(cat, "allow_all { prefix = \"127.0.0.4/32\" }")) << cat;
  EXPECT_TRUE(absl::StrContains(cat, "apps = [\"redir\"]")) << cat;
  // A bad file is refused before it reaches the stream, naming line and column.
  std::ofstream(file) << "allow_all {\n  prefixx = \"10.0.0.0/8\"\n}\n";
  std::string out;
  EXPECT_EQ(Ctl({"iprules", "put", file}, &out), 1);
  EXPECT_TRUE(absl::StrContains(out, "stream-rules.hcl:2:3: unknown key \"prefixx\"")) << out;
  // An empty put withdraws the stream's rules: the file's apply again.
  std::ofstream(file, std::ios::trunc).flush();
  ASSERT_EQ(Ctl({"iprules", "put", file}), 0);
  AwaitStatus("127.0.0.1", "site.test", 200);
  EXPECT_EQ(From("127.0.0.4", http_port_, "site.test").status, 403);
}

TEST_F(IpRules, Ipv6ClientsOnLoopback) {
  WaitForApplied(1);
  // A second data plane listening on ::1 against the same control plane.
  auto dp = Subprocess::Start({RunfilePath("dataplane/dataplane"), absl::StrCat("--controlplane=127.0.0.1:", cp_grpc_port_),
                               "--http_listen=[::1]:0", "--https_listen=", "--admin_listen=127.0.0.1:0", "--workers=1",
                               "--node_id=dp-v6", "--state_dir=" + dir_ + "/dp6-state"},
                              dir_ + "/dataplane6.log");
  ASSERT_TRUE(dp.ok());
  auto ready = (*dp)->WaitForLine("data plane ready", absl::Seconds(20));
  ASSERT_TRUE(ready.ok()) << ready.status() << (*dp)->Output();
  const std::string http = LogField(*ready, "http");
  const int port = std::stoi(http.substr(http.rfind(':') + 1));
  ASSERT_TRUE((*dp)->WaitForLine("msg=\"config published\"", absl::Seconds(20)).ok());
  EXPECT_EQ(RequestFrom("::1", "::1", port, "site.test").status, 200);
  // Only ::1 is allowed for IPv6 apart from the v4 rules: swap in a rule set without it.
  WriteRules("allow_all { prefix = \"127.0.0.1/32\" }\nallow_all { prefix = \"2001:db8::/32\" }\n");
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  Answer a;
  while (absl::Now() < deadline && (a = RequestFrom("::1", "::1", port, "site.test")).status != 403) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(a.status, 403);
  EXPECT_EQ(a.body, "your IP (::1) is not allowed (implicit deny)\n");
}

}  // namespace
}  // namespace edgerouter::testing
