#include "dataplane/test/e2e_fixture.h"

#include <signal.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/test_util.h"
#include "controlplane/test/test_controlplane.h"

namespace edgerouter::testing {

namespace {
int PortField(const std::string& line, const std::string& key) {
  std::string value = LogField(line, key);
  return std::stoi(value.substr(value.rfind(':') + 1));
}
}  // namespace

std::string RedirectApp(const std::string& id, const std::string& host) {
  return absl::StrCat(R"({"id":")", id, R"(","frontends":[{"kind":"hostname","hostname":")", host,
                      R"(","path_prefix":"/","allow_insecure_http":true}],"backend":{"kind":"redirect","redirect_opts":{"to":"https://x/"}}})");
}

WrkLoad::WrkLoad(int port, int seconds) {
  auto p = Subprocess::Start({"/usr/bin/wrk", "-t1", "-c16", absl::StrCat("-d", seconds, "s"), "-H", "Host: site.test",
                              absl::StrCat("http://127.0.0.1:", port, "/echo")});
  EXPECT_TRUE(p.ok());
  wrk_ = *std::move(p);
}

std::string WrkLoad::Finish() {
  EXPECT_TRUE(wrk_->Wait(absl::Seconds(60)).ok());
  return wrk_->Output();
}

void ExpectNoFailures(const std::string& wrk_output) {
  EXPECT_FALSE(absl::StrContains(wrk_output, "Non-2xx")) << wrk_output;
  EXPECT_FALSE(absl::StrContains(wrk_output, "Socket errors")) << wrk_output;
  EXPECT_TRUE(absl::StrContains(wrk_output, "requests in")) << wrk_output;
}

void ExpectOwnResponses(std::vector<std::unique_ptr<TestConnection>>& clients, const std::string& host) {
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < clients.size(); ++i) {
      std::string req = absl::StrCat("GET /c", i, "/r", round, " HTTP/1.1\r\nHost: ", host, "\r\n\r\n");
      if (i % 2 == 1) absl::StrAppend(&req, "GET /c", i, "/r", round, "b HTTP/1.1\r\nHost: ", host, "\r\n\r\n");
      ASSERT_TRUE(clients[i]->Send(req)) << i;
    }
    for (size_t i = 0; i < clients.size(); ++i) {
      HttpResponse r = clients[i]->Read();
      ASSERT_EQ(r.status, 200) << i;
      EXPECT_TRUE(absl::StartsWith(r.body, absl::StrCat("GET /c", i, "/r", round, " "))) << i << ": " << r.body;
      if (i % 2 == 1) {
        r = clients[i]->Read();
        EXPECT_TRUE(absl::StartsWith(r.body, absl::StrCat("GET /c", i, "/r", round, "b "))) << i << ": " << r.body;
      }
    }
  }
}

long CpuTicks(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  const std::string all((std::istreambuf_iterator<char>(in)), {});
  std::istringstream rest(all.substr(all.rfind(')') + 2));
  std::string field;
  long ticks = 0;
  for (int i = 0; i < 13 && rest >> field; ++i) {
    if (i >= 11) ticks += std::stol(field);  // fields 14 and 15 of the line
  }
  return ticks;
}

void DataplaneE2E::SetUp() {
  char tmpl[] = "/tmp/er-dp-e2e-XXXXXX";
  dir_ = mkdtemp(tmpl);
  StartOrigins();
  std::ofstream(dir_ + "/applications.json") << AppsJson();
  cp_grpc_port_ = PickFreeLoopbackPort();
  StartControlPlane();
  StartDataplane(DataplaneFlags());
  // A test's first request would otherwise race the first snapshot ("no configuration loaded
  // yet").
  WaitForApplied(1);
}

void DataplaneE2E::TearDown() {
  dp_.reset();
  cp_.reset();
  a_.reset();
  b_.reset();
  std::filesystem::remove_all(dir_);
}

std::string DataplaneE2E::AppsJson() {
  const std::string a = absl::StrCat("http://127.0.0.1:", origin_a_);
  const std::string b = absl::StrCat("http://127.0.0.1:", origin_b_);
  const std::string dead = absl::StrCat("http://127.0.0.1:", PickFreeLoopbackPort());
  std::string json = R"({"apps":[
 {"id":"acme","frontends":[{"kind":"path_prefix","path_prefix":"/.well-known/acme-challenge/","strip_path_prefix":true,"allow_insecure_http":true}],
  "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["A"]}}},
 {"id":"site","frontends":[{"kind":"hostname","hostname":"site.test","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["A"],"pass_host_header":true,"index_document":"index.html"}}},
 {"id":"api","frontends":[{"kind":"hostname","hostname":"site.test","path_prefix":"/api","strip_path_prefix":true,"allow_insecure_http":true}],
  "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["B/v1"],"headers_to_origin":{"X-Api-Key":"k1"},"remove_query_string":false}}},
 {"id":"wild","frontends":[{"kind":"hostname_regexp","hostname_regexp":"{[a-z]+}.wild.test","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["B"],"remove_query_string":true}}},
 {"id":"secure","frontends":[{"kind":"hostname","hostname":"secure.test","path_prefix":"/"}],
  "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["A"]}}},
 {"id":"redir","frontends":[{"kind":"hostname","hostname":"redir.test","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"redirect","redirect_opts":{"to":"https://example.com/landing"}}},
 {"id":"token","frontends":[{"kind":"hostname","hostname":"token.test","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"auth_v0","auth_v0_opts":{"bearer_token":"s3cret","authorized_backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["A"]}}}}},
 {"id":"both","frontends":[{"kind":"hostname","hostname":"both.test","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["A","B"]}}},
 {"id":"dead","frontends":[{"kind":"hostname","hostname":"dead.test","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["DEAD","A"]}}}
]})";
  return absl::StrReplaceAll(json, {{"\"A\"", "\"" + a + "\""}, {"\"B/v1\"", "\"" + b + "/v1\""},
                                    {"\"B\"", "\"" + b + "\""}, {"\"DEAD\"", "\"" + dead + "\""}});
}

void DataplaneE2E::StartOrigins() {
  for (auto [name, proc, port] : {std::tuple{"a", &a_, &origin_a_}, std::tuple{"b", &b_, &origin_b_}}) {
    auto p = Subprocess::Start({RunfilePath("dataplane/test_origin"), absl::StrCat("--name=", name)});
    ASSERT_TRUE(p.ok());
    *proc = *std::move(p);
    auto ready = (*proc)->WaitForLine("test origin ready", absl::Seconds(10));
    ASSERT_TRUE(ready.ok()) << ready.status();
    *port = PortField(*ready, "port");
  }
}

void DataplaneE2E::StartControlPlane() {
  std::vector<std::string> flags = {"--apps_file=" + dir_ + "/applications.json"};
  for (std::string& flag : ControlPlaneFlags()) flags.push_back(std::move(flag));
  auto cp = StartTestControlPlane(absl::StrCat("127.0.0.1:", cp_grpc_port_), dir_ + "/cp", flags,
                                  dir_ + "/controlplane.log");
  ASSERT_TRUE(cp.ok()) << cp.status();
  cp_ = std::move(cp->process);
  admin_ = admin::v1::Admin::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", cp_grpc_port_),
                                                     grpc::InsecureChannelCredentials()));
}

void DataplaneE2E::StartDataplane(const std::vector<std::string>& extra_flags) {
  std::vector<std::string> argv = {RunfilePath("dataplane/dataplane"),
                                   absl::StrCat("--controlplane=127.0.0.1:", cp_grpc_port_),
                                   "--http_listen=127.0.0.1:0", "--https_listen=127.0.0.1:0",
                                   "--admin_listen=127.0.0.1:0", "--workers=2",
                                   "--node_id=dp-test", "--state_dir=" + dir_ + "/dp-state",
                                   "--access_log=" + dir_ + "/access.log", "--header_timeout_ms=2000"};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  auto dp = Subprocess::Start(argv, dir_ + "/dataplane.log");
  ASSERT_TRUE(dp.ok());
  dp_ = *std::move(dp);
  auto ready = dp_->WaitForLine("data plane ready", absl::Seconds(20));
  ASSERT_TRUE(ready.ok()) << ready.status();
  http_port_ = PortField(*ready, "http");
  https_port_ = PortField(*ready, "https");
  admin_port_ = PortField(*ready, "admin");
}

void DataplaneE2E::StartDrain() {
  kill(dp_->pid(), SIGTERM);
  ASSERT_TRUE(dp_->WaitForNthLine("msg=\"worker draining\"", 2, absl::Seconds(10)).ok()) << dp_->Output();
}

void DataplaneE2E::WaitForApplied(int count) {
  absl::StatusOr<std::string> line = dp_->WaitForNthLine("msg=\"config published\"", count, absl::Seconds(20));
  ASSERT_TRUE(line.ok()) << line.status() << "\n" << dp_->Output();
}

grpc::Status DataplaneE2E::AppendApp(const std::string& app_json) {
  grpc::ClientContext ctx;
  admin::v1::AppendStreamRequest req;
  req.set_stream("/t-1/loadbalancer");
  req.add_lines(absl::StrCat("2026-03-05T10:00:00.000Z AppUpdated    {\"Application\":", app_json, "}"));
  admin::v1::AppendStreamResponse resp;
  return admin_->AppendStream(&ctx, req, &resp);
}

long DataplaneE2E::DataplaneRssKb() {
  std::ifstream in(absl::StrCat("/proc/", dp_->pid(), "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

double MetricSum(absl::string_view text, absl::string_view series, absl::string_view selector) {
  const bool bare_name = !absl::StrContains(series, '{');
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, series) || line.size() <= series.size()) continue;
    const char next = line[series.size()];
    if (next != ' ' && !(bare_name && next == '{')) continue;
    if (!selector.empty() && !absl::StrContains(line, selector)) continue;
    double v = 0;
    if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) sum += v;
  }
  return sum;
}

std::string DataplaneE2E::Metrics() {
  TestConnection conn(admin_port_);
  conn.Send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  return conn.Read().body;
}

std::string DataplaneE2E::WaitForAccessLog(const std::function<bool(const std::string&)>& done,
                                           absl::Duration timeout) {
  const std::string path = dir_ + "/access.log";
  auto load = [&] {
    std::ifstream in(path);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
  };
  // The directory is watched: the file may not exist yet, and every write modifies it.
  const int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd >= 0) inotify_add_watch(fd, dir_.c_str(), IN_MODIFY | IN_CREATE | IN_CLOSE_WRITE);
  std::string content = load();
  for (const absl::Time deadline = absl::Now() + timeout; !done(content) && absl::Now() < deadline;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now())) + 1) > 0) {
      char events[4096];
      while (::read(fd, events, sizeof(events)) > 0) {
      }
    }
    content = load();
  }
  if (fd >= 0) close(fd);
  return content;
}

}  // namespace edgerouter::testing
