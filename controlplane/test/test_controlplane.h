// Starts the real controlplane binary for tests (control-plane, data-plane and Docker suites
// all use it): loopback gRPC, HTTP on a free port, fast coalescing, plus the caller's flags.
#ifndef EDGEROUTER_CONTROLPLANE_TEST_TEST_CONTROLPLANE_H_
#define EDGEROUTER_CONTROLPLANE_TEST_TEST_CONTROLPLANE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/subprocess.h"

namespace edgerouter::testing {

struct TestControlPlane {
  std::unique_ptr<Subprocess> process;
  std::string grpc_address;  // host:port actually bound
  std::string http_address;
};

// `grpc_listen` is "127.0.0.1:0" for any port, or a fixed address a restart must reuse.
// Returns once the control plane has printed its ready line (first snapshot built).
absl::StatusOr<TestControlPlane> StartTestControlPlane(const std::string& grpc_listen,
                                                       const std::string& data_dir,
                                                       const std::vector<std::string>& extra_flags,
                                                       const std::string& log_path);

}  // namespace edgerouter::testing

#endif  // EDGEROUTER_CONTROLPLANE_TEST_TEST_CONTROLPLANE_H_
