// End to end against a private dockerd: labelled host-network busybox containers become apps in
// the control plane's snapshot and are served by a real data plane; stopping one removes it; a
// bad label is reported without affecting the others.
//
// Docker apps have no `allow_insecure_http` (labels cannot set it, as in edgerouter), so the data
// plane runs with --plain_is_https (its listener stands for one behind a TLS terminator) and a
// routed app is proven by a response from the container itself: busybox httpd serving
// /bin/busybox.
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "controlplane/test/test_controlplane.h"
#include "common/test_util.h"
#include "controlplane/docker/test/docker_harness.h"
#include "dataplane/test/http_test_client.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter::testing {
namespace {

int PortOf(const std::string& line, const std::string& key) {
  const std::string v = LogField(line, key);
  return std::stoi(v.substr(v.rfind(':') + 1));
}

bool Routed(const HttpResponse& r, const std::string& host) { return r.status == 200; }

bool Gone(const HttpResponse& r, const std::string& host) {
  return r.status == 404 && r.body == "no website for hostname: " + host + "\n";
}

class DockerDiscoveryE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto h = DockerHarness::Start();
    ASSERT_TRUE(h.ok()) << h.status();
    harness_ = h->release();
  }
  static void TearDownTestSuite() {
    delete harness_;
    harness_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(harness_, nullptr);
    char tmpl[] = "/tmp/er-dock-e2e-XXXXXX";
    dir_ = mkdtemp(tmpl);
    const int grpc_port = PickFreeLoopbackPort();
    auto cp = StartTestControlPlane(absl::StrCat("127.0.0.1:", grpc_port), dir_ + "/cp",
                                    {"--docker_url=" + harness_->url(), "--docker_network=bridge"},
                                    dir_ + "/controlplane.log");
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = std::move(cp->process);
    // The first resync has run: later latencies measure the event path, not start-up.
    auto synced = cp_->WaitForLine("docker apps updated", absl::Seconds(20));
    ASSERT_TRUE(synced.ok()) << synced.status() << "\n" << cp_->Output();
    admin_ = admin::Admin::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port), grpc::InsecureChannelCredentials()));

    auto dp = Subprocess::Start({RunfilePath("dataplane/dataplane"), absl::StrCat("--controlplane=127.0.0.1:", grpc_port),
                                 "--http_listen=127.0.0.1:0", "--https_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0", "--workers=2",
                                 "--node_id=dp-docker", "--state_dir=" + dir_ + "/dp-state",
                                 "--header_timeout_ms=2000", "--upstream_response_timeout_ms=1500", "--plain_is_https"},
                                dir_ + "/dataplane.log");
    ASSERT_TRUE(dp.ok()) << dp.status();
    dp_ = *std::move(dp);
    auto dp_ready = dp_->WaitForLine("data plane ready", absl::Seconds(20));
    ASSERT_TRUE(dp_ready.ok()) << dp_ready.status();
    http_port_ = PortOf(*dp_ready, "http");
  }

  void TearDown() override {
    for (const std::string& name : containers_) (void)harness_->Docker({"rm", "-f", name});
    dp_.reset();
    cp_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A host-network busybox httpd on a free loopback port, labelled for `host` with `auth`.
  void RunContainer(const std::string& name, const std::string& host, const std::string& auth) {
    const int port = PickFreeLoopbackPort();
    absl::StatusOr<std::string> id = harness_->Docker(
        {"run", "-d", "--network", "host", "--name", name, "--label", "traefik.frontend.rule=Host:" + host,
         "--label", absl::StrCat("traefik.port=", port), "--label", "edgerouter.auth=" + auth,
         DockerHarness::kImage, "/bin/busybox", "httpd", "-f", "-p", absl::StrCat("127.0.0.1:", port), "-h", "/"});
    ASSERT_TRUE(id.ok()) << id.status();
    containers_.push_back(name);
  }

  // Checks `done` after each snapshot the data plane publishes (it logs "config published"), so
  // the wait follows events instead of sleeping; returns the time it took, or -1.
  template <typename Pred>
  double WaitFor(const std::string& host, Pred done, absl::Duration limit = absl::Seconds(10)) {
    const absl::Time start = absl::Now();
    int published = dp_->LineCount("msg=\"config published\"");
    while (true) {
      // A snapshot published after the count is caught by the wait below, so none is missed.
      if (done(Get(http_port_, host, "/bin/busybox"), host)) return absl::ToDoubleMilliseconds(absl::Now() - start);
      const absl::Duration left = limit - (absl::Now() - start);
      if (left <= absl::ZeroDuration() ||
          !dp_->WaitForNthLine("msg=\"config published\"", ++published, left).ok()) {
        return -1;
      }
    }
  }

  static DockerHarness* harness_;
  std::string dir_;
  int http_port_ = 0;
  std::unique_ptr<Subprocess> cp_, dp_;
  std::unique_ptr<admin::Admin::Stub> admin_;
  std::vector<std::string> containers_;
};

DockerHarness* DockerDiscoveryE2E::harness_ = nullptr;

TEST_F(DockerDiscoveryE2E, ContainerRoutedOnRunAndGoneOnStop) {
  // Until its first snapshot arrives the data plane answers 503; then unknown hosts are 404.
  ASSERT_GE(WaitFor("dock.test", Gone), 0) << dp_->Output();
  RunContainer("dock", "dock.test", "public");
  const double up_ms = WaitFor("dock.test", Routed);
  std::printf("DISCOVERY_LATENCY run->routed_ms=%.1f\n", up_ms);
  ASSERT_GE(up_ms, 0) << cp_->Output() << dp_->Output();

  // busybox as PID 1 ignores SIGTERM: -t 1 keeps `docker stop` from waiting 10 s for SIGKILL.
  ASSERT_TRUE(harness_->Docker({"stop", "-t", "1", "dock"}).ok());
  const double down_ms = WaitFor("dock.test", Gone);
  std::printf("DISCOVERY_LATENCY stop->gone_ms=%.1f\n", down_ms);
  ASSERT_GE(down_ms, 0) << cp_->Output();
}

TEST_F(DockerDiscoveryE2E, BadLabelDoesNotAffectGoodContainer) {
  RunContainer("bad", "bad.test", "nope");
  RunContainer("good", "good.test", "public");
  ASSERT_GE(WaitFor("good.test", Routed), 0) << cp_->Output();
  EXPECT_TRUE(Gone(Get(http_port_, "bad.test", "/bin/busybox"), "bad.test"));

  grpc::ClientContext ctx;
  admin::ListAppsResponse apps;
  ASSERT_TRUE(admin_->ListApps(&ctx, admin::ListAppsRequest(), &apps).ok());
  bool good_listed = false, bad_rejected = false;
  for (const auto& a : apps.apps()) {
    if (a.id() == "good") good_listed = a.source() == "docker:good";
    EXPECT_NE(a.id(), "bad");
  }
  for (const auto& r : apps.rejected()) {
    if (r.source() == "docker" && r.id() == "bad" && r.reason() == "unsupported auth mode: nope") bad_rejected = true;
  }
  EXPECT_TRUE(good_listed) << apps.DebugString();
  EXPECT_TRUE(bad_rejected) << apps.DebugString();
}

}  // namespace
}  // namespace edgerouter::testing
