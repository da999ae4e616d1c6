// A private pebble ACME server for tests: makes a CA and a 127.0.0.1 certificate for pebble's
// API (the Debian package ships none), starts pebble-challtestsrv as pebble's only DNS (every
// name resolves to 127.0.0.1, nothing is asked off-machine) and pebble itself on free loopback
// ports, waits until the directory answers, and kills both by PID when destroyed.
#ifndef EDGEROUTER_CONTROLPLANE_ACME_TEST_PEBBLE_HARNESS_H_
#define EDGEROUTER_CONTROLPLANE_ACME_TEST_PEBBLE_HARNESS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/subprocess.h"

namespace edgerouter::acme::testing {

class PebbleHarness {
 public:
  // `work_dir` (existing) receives the certificates, the config and the logs. `http01_port` is
  // the port pebble's validator connects to (on 127.0.0.1) for HTTP-01.
  // `validity`: the lifetime of the certificates pebble issues (its certificateValidityPeriod,
  // whole seconds); zero keeps pebble's default (years).
  static absl::StatusOr<std::unique_ptr<PebbleHarness>> Start(const std::string& work_dir, int http01_port,
                                                              absl::Duration validity = absl::ZeroDuration());
  ~PebbleHarness() = default;  // the Subprocess members SIGKILL their child by PID

  std::string directory_url() const;
  // PEM trust for pebble's API (and management) TLS.
  const std::string& ca_file() const { return ca_file_; }
  // The root pebble issues under (it changes on every start), from the management port.
  absl::StatusOr<std::string> FetchRootPem() const;
  std::string PebbleOutput() const { return pebble_->Output(); }
  // pebble-challtestsrv's management port (plain HTTP on 127.0.0.1), e.g. POST /add-a
  // {"host":"b.example.test.","addresses":["127.0.0.2"]} to send one name elsewhere.
  int challtestsrv_management_port() const { return cts_management_port_; }

  // OK when the PEM chain (leaf first) verifies up to `root_pem`; else OpenSSL's reason.
  static absl::Status VerifyChain(const std::string& chain_pem, const std::string& root_pem);

 private:
  PebbleHarness() = default;

  std::string ca_file_;
  int api_port_ = 0;
  int management_port_ = 0;
  int cts_management_port_ = 0;
  std::unique_ptr<Subprocess> challtestsrv_;
  std::unique_ptr<Subprocess> pebble_;
};

}  // namespace edgerouter::acme::testing

#endif  // EDGEROUTER_CONTROLPLANE_ACME_TEST_PEBBLE_HARNESS_H_
