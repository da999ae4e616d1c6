// Shared fixture of the Docker end-to-end suites: one private dockerd per suite, and per test
// a control plane discovering from it plus a data plane serving what it publishes.
//
// Docker apps have no `allow_insecure_http` (labels cannot set it, as in edgerouter), so the data
// plane runs with --plain_is_https (its listener stands for one behind a TLS terminator).
#ifndef EDGEROUTER_CONTROLPLANE_DOCKER_TEST_DOCKER_E2E_FIXTURE_H_
#define EDGEROUTER_CONTROLPLANE_DOCKER_TEST_DOCKER_E2E_FIXTURE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/subprocess.h"
#include "controlplane/docker/test/docker_harness.h"
#include "dataplane/test/http_test_client.h"
#include "gtest/gtest.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter::testing {

class DockerE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  // Checks `done` now and again after each snapshot the data plane publishes (it logs
  // "config published"), so waits follow events instead of sleeping; returns the time it took
  // in milliseconds, or -1 when `limit` passed first.
  double WaitForPublished(const std::function<bool()>& done, absl::Duration limit = absl::Seconds(10));
  // The same, with `done` judging a GET of `path` on `host` through the data plane.
  double WaitFor(const std::string& host,
                 const std::function<bool(const HttpResponse&, const std::string&)>& done,
                 const std::string& path = "/bin/busybox", absl::Duration limit = absl::Seconds(10));

  // Whether something accepts TCP connections on 127.0.0.1:`port` within `limit`. A container's
  // httpd binds after `docker run` returns, and nothing announces it; WaitFor checks routes only
  // when a snapshot is published, so a route published before the origin listens would be
  // judged on a 502 and never looked at again.
  static ::testing::AssertionResult Accepting(int port, absl::Duration limit = absl::Seconds(10));

  // Origins of app `id` in the control plane's current snapshot (empty when absent).
  std::vector<std::string> SnapshotOrigins(const std::string& id);
  // Rejected items of the current snapshot as "source/id: reason".
  std::vector<std::string> Rejected();

  // Remembers a container to remove in TearDown.
  void Track(const std::string& name) { containers_.push_back(name); }

  static DockerHarness* harness_;
  std::string dir_;
  std::string grpc_address_;  // the control plane's
  int http_port_ = 0;
  std::unique_ptr<Subprocess> cp_, dp_;
  std::unique_ptr<admin::v1::Admin::Stub> admin_;
  std::vector<std::string> containers_;
};

// Response predicates for WaitFor.
bool Routed(const HttpResponse& r, const std::string& host);
bool Gone(const HttpResponse& r, const std::string& host);

// The distinct bodies (trailing whitespace trimmed) of `n` GETs of `path` on `host`, sorted.
std::vector<std::string> DistinctBodies(int port, const std::string& host, const std::string& path, int n);

}  // namespace edgerouter::testing

#endif  // EDGEROUTER_CONTROLPLANE_DOCKER_TEST_DOCKER_E2E_FIXTURE_H_
