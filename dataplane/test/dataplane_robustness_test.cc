// Defects found by review and probing, each pinned by a black-box test against real processes
// (data plane, control plane, test origins) over real sockets. Every test here failed before
// its fix.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/test_util.h"
#include "dataplane/test/e2e_fixture.h"
#include "dataplane/test/http_test_client.h"

namespace edgerouter::testing {
namespace {

using Robustness = DataplaneE2E;

// A scrape while one worker still drains a request and the other's loop has ended: the
// scrape used to post to the ended loop and wait for ever (and the process never exited).
TEST_F(Robustness, MetricsScrapeDuringDrainAnswersAndTheProcessExits) {
  WaitForApplied(1);
  TestConnection slow(http_port_);
  slow.Send("GET /hold HTTP/1.1\r\nHost: site.test\r\n\r\n");
  ASSERT_TRUE(a_->WaitForLine("request GET /hold", absl::Seconds(5)).ok());
  StartDrain();
  // The worker without connections stops at once; the other waits for /hold.
  ASSERT_TRUE(dp_->WaitForLine("msg=\"worker stopped\"", absl::Seconds(5)).ok()) << dp_->Output();
  TestConnection scrape(admin_port_, /*timeout_ms=*/5000);
  scrape.Send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  HttpResponse metrics = scrape.Read();
  EXPECT_EQ(metrics.status, 200);
  EXPECT_TRUE(absl::StrContains(metrics.body, "er_dp_requests_in_flight")) << metrics.body.substr(0, 500);
  EXPECT_EQ(Get(origin_a_, "origin", "/release").status, 200);
  EXPECT_EQ(slow.Read().status, 200);
  absl::StatusOr<int> status = dp_->Wait(absl::Seconds(15));
  ASSERT_TRUE(status.ok()) << "data plane did not exit";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << dp_->Output();
}

TEST_F(Robustness, IdleSigtermExitsPromptly) {
  WaitForApplied(1);
  EXPECT_EQ(Get(http_port_, "site.test", "/echo").status, 200);  // pools and stats in use
  const auto start = std::chrono::steady_clock::now();
  kill(dp_->pid(), SIGTERM);
  absl::StatusOr<int> status = dp_->Wait(absl::Seconds(10));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(status.ok()) << "data plane did not exit";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << dp_->Output();
  std::printf("idle SIGTERM to exit: %lld ms\n", static_cast<long long>(ms));
  EXPECT_LT(ms, 1000);  // measured 20-100 ms; the margin is for a loaded machine
}

}  // namespace
}  // namespace edgerouter::testing
