// The process log as the data plane binary writes it: --log_level filters, a failed start says
// why in one escaped logfmt line and exits 1.
#include <sys/wait.h>

#include <string>

#include "absl/strings/match.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "gtest/gtest.h"

namespace edgerouter::testing {
namespace {

// Runs the data plane with `flags` (it cannot start: the certificate file does not exist) and
// returns its output after it exited 1.
std::string FailedStart(const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {RunfilePath("dataplane/dataplane"), "--http_listen=127.0.0.1:0",
                                   "--https_listen=", "--admin_listen=127.0.0.1:0",
                                   "--default_cert=/nonexistent/with space.pem",
                                   "--state_dir=" + std::string(getenv("TEST_TMPDIR")) + "/dp-state"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto dp = Subprocess::Start(argv);
  EXPECT_TRUE(dp.ok()) << dp.status();
  if (!dp.ok()) return "";
  absl::StatusOr<int> status = (*dp)->Wait(absl::Seconds(10));
  EXPECT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(status.ok() && WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << (*dp)->Output();
  return (*dp)->Output();
}

TEST(DataplaneLog, AFailedStartIsOneErrorLineWithTheReasonQuoted) {
  const std::string out = FailedStart({});
  EXPECT_TRUE(absl::StrContains(out, "level=INFO msg=\"aws\"")) << out;  // info is on by default
  EXPECT_TRUE(absl::StrContains(out, "level=ERROR msg=\"not started\" error=\"")) << out;
  EXPECT_TRUE(absl::StrContains(out, "/nonexistent/with space.pem")) << out;
}

TEST(DataplaneLog, LogLevelDropsLowerLines) {
  const std::string out = FailedStart({"--log_level=error"});
  EXPECT_FALSE(absl::StrContains(out, "level=INFO")) << out;
  EXPECT_TRUE(absl::StrContains(out, "level=ERROR msg=\"not started\"")) << out;
}

TEST(DataplaneLog, AnUnknownLogLevelStopsTheStart) {
  const std::string out = FailedStart({"--log_level=loud"});
  EXPECT_TRUE(absl::StrContains(out, "msg=\"not started\"")) << out;
  EXPECT_TRUE(absl::StrContains(out, "--log_level: log level \\\"loud\\\"")) << out;
}

}  // namespace
}  // namespace edgerouter::testing
