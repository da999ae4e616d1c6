#include "controlplane/test/test_controlplane.h"

#include "common/test_util.h"

namespace edgerouter::testing {

absl::StatusOr<TestControlPlane> StartTestControlPlane(const std::string& grpc_listen,
                                                       const std::string& data_dir,
                                                       const std::vector<std::string>& extra_flags,
                                                       const std::string& log_path) {
  std::vector<std::string> argv = {RunfilePath("controlplane/controlplane"), "--grpc_listen=" + grpc_listen,
                                   "--http_listen=127.0.0.1:0", "--data_dir=" + data_dir,
                                   "--coalesce_quiet_ms=5", "--coalesce_max_ms=20"};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Start(argv, log_path);
  if (!process.ok()) return process.status();
  absl::StatusOr<std::string> ready = (*process)->WaitForLine("control plane ready", absl::Seconds(20));
  if (!ready.ok()) return ready.status();
  TestControlPlane cp;
  cp.process = *std::move(process);
  cp.grpc_address = LogField(*ready, "grpc");
  cp.http_address = LogField(*ready, "http");
  return cp;
}

}  // namespace edgerouter::testing
