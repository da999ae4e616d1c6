// A private Docker Engine for tests (recipe: ../shared/reference/test-environment.md, "Docker
// Engine"): its own socket, data and exec root under a short /tmp dir, no bridge, no iptables,
// vfs storage, a unique cgroup parent, and a busybox image imported as `localhost/bb:1`
// (/bin/busybox, and /bin/sh for health checks).
// The destructor tears down exactly what Start() created.
#ifndef EDGEROUTER_CONTROLPLANE_DOCKER_TEST_DOCKER_HARNESS_H_
#define EDGEROUTER_CONTROLPLANE_DOCKER_TEST_DOCKER_HARNESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace edgerouter::testing {

class DockerHarness {
 public:
  static constexpr const char* kImage = "localhost/bb:1";

  // Needs root and Debian's docker.io + busybox-static (scripts/setup.sh installs them).
  static absl::StatusOr<std::unique_ptr<DockerHarness>> Start();
  ~DockerHarness();

  std::string url() const { return "unix://" + dir_ + "/docker.sock"; }
  const std::string& dir() const { return dir_; }

  // Runs `/usr/bin/docker -H <our socket> args...` (the `docker` first on PATH here is another
  // tool); returns the last output line (e.g. a container id) or an error with all output.
  absl::StatusOr<std::string> Docker(std::vector<std::string> args,
                                     absl::Duration timeout = absl::Seconds(60));
  // Same, returning all output (stdout and stderr merged).
  absl::StatusOr<std::string> DockerOutput(std::vector<std::string> args,
                                           absl::Duration timeout = absl::Seconds(60));

  // Engine restart, in two steps so a test can look at the world in between: dockerd is
  // TERMed and reaped (its containers stop with it; restart policies bring them back), then
  // started again on the same data root.
  absl::Status StopDaemon();
  absl::Status StartDaemon();

  // A single-node Swarm on 127.0.0.1 (recipe in test-environment.md): a pre-made
  // docker_gwbridge on a private bridge name, then `swarm init`. Teardown leaves it.
  absl::Status InitSwarm();

 private:
  DockerHarness() = default;
  absl::Status Launch();
  absl::Status WaitReady(absl::Duration timeout);
  absl::Status ImportImage();
  void Teardown();

  std::string dir_;
  std::string cgroup_parent_;
  pid_t pid_ = -1;  // dockerd, our child
  int notify_fd_ = -1;  // receives dockerd's sd_notify READY=1
  std::string notify_path_;
  bool swarm_ = false;
};


}  // namespace edgerouter::testing

#endif  // EDGEROUTER_CONTROLPLANE_DOCKER_TEST_DOCKER_HARNESS_H_
