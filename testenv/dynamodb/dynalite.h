// dynalite (DynamoDB on LevelDB, in memory here) for tests, installed from
// testenv/dynamodb/package-lock.json by install.sh and started on a free loopback port in its
// own session (setsid), so teardown signals exactly the process group it started. Readiness is
// dynalite's own "listening" line, never a sleep. It checks the shape of SigV4 headers but not
// signatures, and has no TransactWriteItems (UnknownOperationException).
#ifndef EDGEROUTER_TESTENV_DYNAMODB_DYNALITE_H_
#define EDGEROUTER_TESTENV_DYNAMODB_DYNALITE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/subprocess.h"

namespace edgerouter::testing {

// Runs install.sh (a no-op once installed) and returns the folder holding node_modules.
absl::StatusOr<std::string> InstallDynalite();

class Dynalite {
 public:
  ~Dynalite();  // SIGTERM to the group, then SIGKILL; reaps the leader
  static absl::StatusOr<std::unique_ptr<Dynalite>> Start();

  int port() const { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:PORT"

 private:
  Dynalite() = default;
  std::unique_ptr<Subprocess> process_;
  int port_ = 0;
};

}  // namespace edgerouter::testing

#endif  // EDGEROUTER_TESTENV_DYNAMODB_DYNALITE_H_
