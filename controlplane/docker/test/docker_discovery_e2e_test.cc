// End to end against a private dockerd: labelled host-network busybox containers become apps in
// the control plane's snapshot and are served by a real data plane; stopping one removes it; a
// bad label is reported without affecting the others. A routed app is proven by a response
// from the container itself: busybox httpd serving /bin/busybox.
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/test_util.h"
#include "controlplane/docker/test/docker_e2e_fixture.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace edgerouter::testing {
namespace {

class DockerDiscoveryE2E : public DockerE2E {
 protected:
  // A host-network busybox httpd on a free loopback port, labelled for `host` with `auth`.
  void RunContainer(const std::string& name, const std::string& host, const std::string& auth) {
    const int port = PickFreeLoopbackPort();
    absl::StatusOr<std::string> id = harness_->Docker(
        {"run", "-d", "--network", "host", "--name", name, "--label", "traefik.frontend.rule=Host:" + host,
         "--label", absl::StrCat("traefik.port=", port), "--label", "edgerouter.auth=" + auth,
         DockerHarness::kImage, "/bin/busybox", "httpd", "-f", "-p", absl::StrCat("127.0.0.1:", port), "-h", "/"});
    ASSERT_TRUE(id.ok()) << id.status();
    Track(name);
    ASSERT_TRUE(Accepting(port)) << harness_->Docker({"logs", name}).value_or("(no logs)");
  }
};

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
  admin::v1::ListAppsResponse apps;
  ASSERT_TRUE(admin_->ListApps(&ctx, admin::v1::ListAppsRequest(), &apps).ok());
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

  // The operator's view of the same problem.
  auto ctl = Subprocess::Start({RunfilePath("cli/edgerouterctl"), "--controlplane=" + grpc_address_,
                                "discovery", "errors"});
  ASSERT_TRUE(ctl.ok()) << ctl.status();
  ASSERT_TRUE((*ctl)->Wait(absl::Seconds(20)).ok());
  EXPECT_EQ((*ctl)->Output(),
            "SOURCE  SUBJECT  ERROR\n"
            "docker  bad      unsupported auth mode: nope");
}

}  // namespace
}  // namespace edgerouter::testing
