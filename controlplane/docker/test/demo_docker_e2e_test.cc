// The demo with a Docker engine (issue: "when a Docker socket is there, labelled containers
// appear too"): scripts/demo.sh against a private dockerd running one Traefik-labelled
// host-network container; the container's app is routed by the demo's data plane over HTTPS.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "controlplane/docker/test/docker_harness.h"
#include "gtest/gtest.h"

namespace edgerouter::testing {
namespace {

namespace fs = std::filesystem;

// Runs `argv` to its end and returns everything it printed.
std::string RunToEnd(std::vector<std::string> argv) {
  absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(std::move(argv));
  if (!p.ok()) return "";
  (void)(*p)->Wait(absl::Seconds(30));
  return (*p)->Output();
}

TEST(DemoDocker, LabelledContainerAppearsAndIsProxied) {
  absl::StatusOr<std::unique_ptr<DockerHarness>> docker = DockerHarness::Start();
  ASSERT_TRUE(docker.ok()) << docker.status();

  const int container_port = PickFreeLoopbackPort();
  absl::StatusOr<std::string> id = (*docker)->Docker(
      {"run", "-d", "--network", "host", "--name", "demo-web",
       "--label", "traefik.http.routers.dock.rule=Host(`dock.localhost`)",
       "--label", absl::StrCat("traefik.http.services.dock.loadbalancer.server.port=", container_port),
       "--label", "edgerouter.auth=public", DockerHarness::kImage, "/bin/busybox", "httpd", "-f", "-p",
       absl::StrCat("127.0.0.1:", container_port), "-h", "/"});
  ASSERT_TRUE(id.ok()) << id.status();

  // The layout demo.sh expects under $BIN, from this test's runfiles.
  const std::string tmp = ::testing::TempDir() + "/demo-docker";
  fs::remove_all(tmp);
  for (const char* bin : {"controlplane/controlplane", "dataplane/dataplane", "cli/edgerouterctl"}) {
    fs::create_directories(fs::path(tmp + "/bin/" + bin).parent_path());
    fs::create_symlink(RunfilePath(bin), tmp + "/bin/" + bin);
  }
  const int ports = PickFreeLoopbackPortBlock(6);
  const int cp_grpc = ports, cp_http = ports + 1, dp_http = ports + 2, dp_https = ports + 3;
  const int dp_admin = ports + 4, origin = ports + 5;
  absl::StatusOr<std::unique_ptr<Subprocess>> demo = Subprocess::Start(
      {"/usr/bin/env", "BIN=" + tmp + "/bin", "DEMO_STATE=" + tmp, "DOCKER_URL=" + (*docker)->url(),
       absl::StrCat("CP_GRPC_PORT=", cp_grpc), absl::StrCat("CP_HTTP_PORT=", cp_http),
       absl::StrCat("DP_HTTP_PORT=", dp_http), absl::StrCat("DP_HTTPS_PORT=", dp_https),
       absl::StrCat("DP_ADMIN_PORT=", dp_admin), absl::StrCat("ORIGIN_PORT=", origin),
       RunfilePath("scripts/demo.sh")});
  ASSERT_TRUE(demo.ok()) << demo.status();
  absl::StatusOr<std::string> ready = (*demo)->WaitForLine("demo: ready", absl::Seconds(90));
  ASSERT_TRUE(ready.ok()) << ready.status() << "\n" << (*demo)->Output();
  EXPECT_TRUE(absl::StrContains((*demo)->Output(), "docker         discovery on (" + (*docker)->url()))
      << (*demo)->Output();

  // Docker apps are HTTPS-only (labels cannot allow plain HTTP): ask the demo's TLS listener.
  const std::string url = absl::StrCat("https://dock.localhost:", dp_https, "/bin/busybox");
  const std::string resolve = absl::StrCat("dock.localhost:", dp_https, ":127.0.0.1");
  std::string status;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {  // discovery → snapshot → data plane: follows the engine's events
    status = RunToEnd({"/usr/bin/curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "--resolve", resolve, url});
    if (status == "200") break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(status, "200") << (*demo)->Output();
  const std::string apps = RunToEnd({tmp + "/bin/cli/edgerouterctl", absl::StrCat("--controlplane=127.0.0.1:", cp_grpc), "app", "ls"});
  EXPECT_TRUE(absl::StrContains(apps, "dock.localhost")) << apps;

  // SIGTERM ends the demo and the three processes it started.
  const int wait_status = (*demo)->Signal(SIGTERM);
  EXPECT_TRUE(WIFEXITED(wait_status) || WIFSIGNALED(wait_status));
  (void)(*docker)->Docker({"rm", "-f", "demo-web"});
  fs::remove_all(tmp);
}

}  // namespace
}  // namespace edgerouter::testing
