// Real processes for data-plane end-to-end tests: two test origins, a control plane serving an
// applications.json, and a data plane, all on loopback with ports chosen at start.
#ifndef EDGEROUTER_DATAPLANE_TEST_E2E_FIXTURE_H_
#define EDGEROUTER_DATAPLANE_TEST_E2E_FIXTURE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "dataplane/test/http_test_client.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter::testing {

// The sum of a metric's samples in a /metrics text. `series` is a bare name (every label set
// counts) or one rendered series (`er_dp_x_total{app="a"}`); with `selector`, only lines
// containing it count. 0 when nothing matches.
double MetricSum(absl::string_view text, absl::string_view series, absl::string_view selector = "");

// A redirect app on `host`, in edgerouter JSON (for AppendApp).
std::string RedirectApp(const std::string& id, const std::string& host);

// wrk in the background against site.test's /echo; Finish() returns its summary once it ends.
class WrkLoad {
 public:
  WrkLoad(int port, int seconds);
  std::string Finish();

 private:
  std::unique_ptr<Subprocess> wrk_;
};

// No non-2xx answer and no socket error in a wrk summary that shows requests.
void ExpectNoFailures(const std::string& wrk_output);

// Three rounds in which every client first sends its request for /c<i>/r<round> on `host`
// (every other client a second one, pipelined behind it) and only then does each read its
// answers: the requests arrive together. Each answer must be the origin's echo of its own request.
void ExpectOwnResponses(std::vector<std::unique_ptr<TestConnection>>& clients, const std::string& host);

// utime + stime of process `pid`, in clock ticks.
long CpuTicks(pid_t pid);

class DataplaneE2E : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The apps file the control plane starts with (uses origin_a_/origin_b_ ports).
  virtual std::string AppsJson();
  virtual void StartOrigins();
  // Flags the control plane starts with (besides its listener and --apps_file).
  virtual std::vector<std::string> ControlPlaneFlags() { return {}; }
  // Flags the data plane starts with in SetUp.
  virtual std::vector<std::string> DataplaneFlags() { return {}; }
  void StartControlPlane();
  void StartDataplane(const std::vector<std::string>& extra_flags = {});
  // Waits until the data plane has published `count` configs since it started (one per
  // accepted snapshot, the persisted one included).
  void WaitForApplied(int count);
  // SIGTERM to the data plane, returning once both workers have told their connections.
  void StartDrain();
  grpc::Status AppendApp(const std::string& app_json);
  long DataplaneRssKb();
  std::string Metrics();
  // MetricSum of the data plane's /metrics now (a counter's value, for one series).
  uint64_t MetricValue(const std::string& series) { return static_cast<uint64_t>(MetricSum(Metrics(), series)); }
  // The access log's content once `done(content)` holds, or what it held at the deadline. The
  // writer thread writes after responses went out: waits on inotify events for the state dir,
  // reading the file again at each write rather than on a timer.
  std::string WaitForAccessLog(const std::function<bool(const std::string&)>& done,
                               absl::Duration timeout = absl::Seconds(10));

  std::string dir_;
  int cp_grpc_port_ = 0;
  int origin_a_ = 0, origin_b_ = 0;
  int http_port_ = 0, https_port_ = 0, admin_port_ = 0;
  std::unique_ptr<Subprocess> a_, b_, cp_, dp_;
  std::unique_ptr<admin::v1::Admin::Stub> admin_;
};

}  // namespace edgerouter::testing

#endif  // EDGEROUTER_DATAPLANE_TEST_E2E_FIXTURE_H_
