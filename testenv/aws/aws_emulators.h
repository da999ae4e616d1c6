// Real AWS emulators for tests, installed from testenv/aws/package-lock.json (install.sh) and
// started on free loopback ports: @20minutes/s3rver (verifies SigV4; key and secret "S3RVER")
// and serverless-offline (the Lambda Invoke API, functions from testenv/aws/lambda/).
// Each runs in its own session (setsid), so teardown signals exactly the process group it
// started; readiness is the emulator's own "listening" log line, never a sleep.
#ifndef EDGEROUTER_TESTENV_AWS_AWS_EMULATORS_H_
#define EDGEROUTER_TESTENV_AWS_AWS_EMULATORS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/subprocess.h"

namespace edgerouter::testing {

inline constexpr char kS3rverKey[] = "S3RVER";
inline constexpr char kS3rverSecret[] = "S3RVER";

// Runs install.sh (a no-op when the pinned versions are already in the cache folder) and
// returns the folder holding node_modules.
absl::StatusOr<std::string> InstallAwsEmulators();

class AwsEmulator {
 public:
  ~AwsEmulator();  // SIGINT/SIGTERM to the group, then SIGKILL; reaps the leader
  int port() const { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:PORT"
  Subprocess& process() { return *process_; }
  // Points this process and the children it starts at this S3 emulator (the SDKs' standard
  // variables: endpoint, s3rver's key pair, no session token).
  void ExportS3Environment() const;

  // s3rver with its data in `data_dir` and `buckets` created at start.
  static absl::StatusOr<std::unique_ptr<AwsEmulator>> StartS3(const std::string& data_dir,
                                                              const std::vector<std::string>& buckets = {});
  // serverless-offline's Lambda Invoke API serving testenv/aws/lambda (functions
  // "ertest-dev-<name>"); `work_dir` receives a copy of the service folder.
  static absl::StatusOr<std::unique_ptr<AwsEmulator>> StartLambda(const std::string& work_dir);

 private:
  AwsEmulator() = default;
  void StopGroup();
  std::unique_ptr<Subprocess> process_;
  int port_ = 0;
  int stop_signal_ = 15;
};

}  // namespace edgerouter::testing

#endif  // EDGEROUTER_TESTENV_AWS_AWS_EMULATORS_H_
