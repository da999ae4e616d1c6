// Faults around the data plane's own disk: its state dir is read-only (a full or broken disk).
// Snapshots must still apply and serve; only persistence fails, visibly.
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dataplane/test/e2e_fixture.h"
#include "gtest/gtest.h"

namespace edgerouter::testing {
namespace {

class DataplaneFaults : public DataplaneE2E {
 protected:
  void TearDown() override {
    dp_.reset();
    if (!readonly_.empty()) umount2(readonly_.c_str(), MNT_DETACH);
    DataplaneE2E::TearDown();
  }
  std::string readonly_;
};

TEST_F(DataplaneFaults, UnwritableStateDirStillAppliesAndServes) {
  WaitForApplied(1);
  dp_.reset();
  readonly_ = dir_ + "/ro-state";
  std::filesystem::create_directories(readonly_);
  ASSERT_EQ(mount("tmpfs", readonly_.c_str(), "tmpfs", MS_RDONLY, "size=64k"), 0)
      << "mounting a tmpfs needs root: " << std::strerror(errno);
  StartDataplane({"--state_dir=" + readonly_});
  WaitForApplied(1);
  EXPECT_EQ(Get(http_port_, "site.test", "/").status, 200);
  ASSERT_TRUE(AppendApp(R"({"id":"later","frontends":[{"kind":"hostname","hostname":"later.test","path_prefix":"/",)"
                        R"("allow_insecure_http":true}],"backend":{"kind":"redirect","redirect_opts":{"to":"https://x/"}}})")
                  .ok());
  WaitForApplied(2);
  EXPECT_EQ(Get(http_port_, "later.test", "/").status, 302);
  // Said so, with the reason.
  ASSERT_TRUE(dp_->WaitForLine("snapshot not persisted", absl::Seconds(10)).ok()) << dp_->Output();
  EXPECT_TRUE(absl::StrContains(dp_->Output(), "Read-only file system")) << dp_->Output();
}

}  // namespace
}  // namespace edgerouter::testing
