#include "controlplane/docker/test/docker_e2e_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/test_util.h"
#include "controlplane/test/test_controlplane.h"
#include "grpcpp/grpcpp.h"

namespace edgerouter::testing {
namespace {

int PortOf(const std::string& line, const std::string& key) {
  const std::string v = LogField(line, key);
  return std::stoi(v.substr(v.rfind(':') + 1));
}

}  // namespace

DockerHarness* DockerE2E::harness_ = nullptr;

bool Routed(const HttpResponse& r, const std::string&) { return r.status == 200; }

bool Gone(const HttpResponse& r, const std::string& host) {
  return r.status == 404 && r.body == "no website for hostname: " + host + "\n";
}

std::vector<std::string> DistinctBodies(int port, const std::string& host, const std::string& path, int n) {
  std::set<std::string> seen;
  for (int i = 0; i < n; ++i) {
    seen.insert(std::string(absl::StripTrailingAsciiWhitespace(Get(port, host, path).body)));
  }
  return {seen.begin(), seen.end()};
}

void DockerE2E::SetUpTestSuite() {
  auto h = DockerHarness::Start();
  ASSERT_TRUE(h.ok()) << h.status();
  harness_ = h->release();
}

void DockerE2E::TearDownTestSuite() {
  delete harness_;
  harness_ = nullptr;
}

void DockerE2E::SetUp() {
  ASSERT_NE(harness_, nullptr);
  char tmpl[] = "/tmp/er-dock-e2e-XXXXXX";
  dir_ = mkdtemp(tmpl);
  const int grpc_port = PickFreeLoopbackPort();
  grpc_address_ = absl::StrCat("127.0.0.1:", grpc_port);
  auto cp = StartTestControlPlane(absl::StrCat("127.0.0.1:", grpc_port), dir_ + "/cp",
                                  {"--docker_url=" + harness_->url(), "--docker_network=bridge"},
                                  dir_ + "/controlplane.log");
  ASSERT_TRUE(cp.ok()) << cp.status();
  cp_ = std::move(cp->process);
  // The first resync has run: later latencies measure the event path, not start-up.
  auto synced = cp_->WaitForLine("docker apps updated", absl::Seconds(20));
  ASSERT_TRUE(synced.ok()) << synced.status() << "\n" << cp_->Output();
  admin_ = admin::v1::Admin::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port), grpc::InsecureChannelCredentials()));

  auto dp = Subprocess::Start({RunfilePath("dataplane/dataplane"), absl::StrCat("--controlplane=127.0.0.1:", grpc_port),
                               "--http_listen=127.0.0.1:0", "--https_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0", "--workers=2",
                               "--node_id=dp-docker", "--state_dir=" + dir_ + "/dp-state",
                               "--header_timeout_ms=2000", "--upstream_response_timeout_ms=5000", "--plain_is_https"},
                              dir_ + "/dataplane.log");
  ASSERT_TRUE(dp.ok()) << dp.status();
  dp_ = *std::move(dp);
  auto dp_ready = dp_->WaitForLine("data plane ready", absl::Seconds(20));
  ASSERT_TRUE(dp_ready.ok()) << dp_ready.status();
  http_port_ = PortOf(*dp_ready, "http");
}

void DockerE2E::TearDown() {
  for (const std::string& name : containers_) (void)harness_->Docker({"rm", "-f", name});
  dp_.reset();
  cp_.reset();
  std::filesystem::remove_all(dir_);
}

double DockerE2E::WaitForPublished(const std::function<bool()>& done, absl::Duration limit) {
  const absl::Time start = absl::Now();
  int published = dp_->LineCount("msg=\"config published\"");
  while (true) {
    // A snapshot published after the count is caught by the wait below, so none is missed.
    if (done()) return absl::ToDoubleMilliseconds(absl::Now() - start);
    const absl::Duration left = limit - (absl::Now() - start);
    if (left <= absl::ZeroDuration() || !dp_->WaitForNthLine("msg=\"config published\"", ++published, left).ok()) {
      return -1;
    }
  }
}

::testing::AssertionResult DockerE2E::Accepting(int port, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  // Polled: a listening socket in another process gives no event to wait on.
  for (absl::Duration backoff = absl::Milliseconds(5);; backoff = std::min(backoff * 2, absl::Milliseconds(100))) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool up = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (fd >= 0) close(fd);
    if (up) return ::testing::AssertionSuccess();
    if (absl::Now() + backoff > deadline) {
      return ::testing::AssertionFailure() << "nothing accepts on 127.0.0.1:" << port << " after " << limit;
    }
    absl::SleepFor(backoff);
  }
}

double DockerE2E::WaitFor(const std::string& host,
                          const std::function<bool(const HttpResponse&, const std::string&)>& done,
                          const std::string& path, absl::Duration limit) {
  return WaitForPublished([&] { return done(Get(http_port_, host, path), host); }, limit);
}

std::vector<std::string> DockerE2E::SnapshotOrigins(const std::string& id) {
  grpc::ClientContext ctx;
  admin::v1::GetSnapshotResponse resp;
  if (!admin_->GetSnapshot(&ctx, admin::v1::GetSnapshotRequest(), &resp).ok()) return {};
  for (const auto& r : resp.snapshot().resources()) {
    if (!r.has_app() || r.app().id() != id) continue;
    const config::v1::Backend& b = r.app().backend();
    const auto& origins = b.kind() == "auth_v0" ? b.auth_v0_opts().authorized_backend().reverse_proxy_opts().origins()
                                                : b.reverse_proxy_opts().origins();
    std::vector<std::string> out(origins.begin(), origins.end());
    std::sort(out.begin(), out.end());
    return out;
  }
  return {};
}

std::vector<std::string> DockerE2E::Rejected() {
  grpc::ClientContext ctx;
  admin::v1::GetSnapshotResponse resp;
  std::vector<std::string> out;
  if (!admin_->GetSnapshot(&ctx, admin::v1::GetSnapshotRequest(), &resp).ok()) return out;
  for (const auto& r : resp.rejected()) out.push_back(absl::StrCat(r.source(), "/", r.id(), ": ", r.reason()));
  return out;
}

}  // namespace edgerouter::testing
