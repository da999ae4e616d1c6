// Fault: the control plane's data dir runs out of space. Appends must fail with a clear error,
// nothing acknowledged may be lost (also across a restart), and appends work again once space
// returns. The data dir is a small tmpfs this test mounts (the machine kind runs tests as root).
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "controlplane/test/test_controlplane.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter::controlplane {
namespace {

std::string Line(int i) {
  // ~4 KB per event, so a 256 KiB file system fills after a few dozen appends.
  return absl::StrCat("2026-03-05T10:00:00.000Z AppUpdated    {\"Application\":{\"id\":\"app-", i,
                      "\",\"frontends\":[{\"kind\":\"hostname\",\"hostname\":\"app-", i,
                      ".example.com\",\"path_prefix\":\"/\"}],\"backend\":{\"kind\":\"redirect\",\"redirect_opts\":{\"to\":"
                      "\"https://x/",
                      std::string(4000, 'a'), "\"}}}}");
}

class DiskFull : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/er-diskfull-XXXXXX";
    dir_ = mkdtemp(tmpl);
    data_ = dir_ + "/data";
    std::filesystem::create_directories(data_);
    ASSERT_EQ(mount("tmpfs", data_.c_str(), "tmpfs", 0, "size=256k"), 0)
        << "mounting a tmpfs needs root: " << std::strerror(errno);
    mounted_ = true;
  }
  void TearDown() override {
    cp_.process.reset();
    if (mounted_) umount2(data_.c_str(), MNT_DETACH);
    std::filesystem::remove_all(dir_);
  }
  void Start() {
    auto cp = testing::StartTestControlPlane("127.0.0.1:0", data_, {}, dir_ + "/cp.log");
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = *std::move(cp);
    admin_ = admin::v1::Admin::NewStub(grpc::CreateChannel(cp_.grpc_address, grpc::InsecureChannelCredentials()));
  }
  grpc::Status Append(int i, uint64_t* version) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    admin::v1::AppendStreamRequest req;
    req.set_stream("/t-1/loadbalancer");
    req.add_lines(Line(i));
    admin::v1::AppendStreamResponse resp;
    grpc::Status s = admin_->AppendStream(&ctx, req, &resp);
    *version = resp.version();
    return s;
  }
  std::vector<admin::v1::StreamEntry> ReadAll() {
    grpc::ClientContext ctx;
    admin::v1::ReadStreamRequest req;
    req.set_stream("/t-1/loadbalancer");
    admin::v1::ReadStreamResponse resp;
    EXPECT_TRUE(admin_->ReadStream(&ctx, req, &resp).ok());
    return {resp.entries().begin(), resp.entries().end()};
  }

  std::string dir_, data_;
  bool mounted_ = false;
  testing::TestControlPlane cp_;
  std::unique_ptr<admin::v1::Admin::Stub> admin_;
};

TEST_F(DiskFull, AppendsFailCleanlyLoseNothingAndRecover) {
  // Space to give back later.
  { std::ofstream(data_ + "/filler") << std::string(64 * 1024, 'f'); }
  Start();
  std::vector<std::pair<uint64_t, int>> acked;  // version → line index
  grpc::Status failed;
  int i = 0;
  for (; i < 200; ++i) {
    uint64_t version = 0;
    grpc::Status s = Append(i, &version);
    if (!s.ok()) {
      failed = s;
      break;
    }
    acked.emplace_back(version, i);
  }
  ASSERT_FALSE(failed.ok()) << "the file system never filled up";
  ASSERT_GT(acked.size(), 5u);
  EXPECT_TRUE(absl::StrContains(failed.error_message(), "No space left") ||
              absl::StrContains(failed.error_message(), "space"))
      << failed.error_code() << " " << failed.error_message();
  // A second attempt fails the same way; nothing half-written became visible.
  uint64_t ignored = 0;
  EXPECT_FALSE(Append(i, &ignored).ok());
  auto check = [&](const std::vector<admin::v1::StreamEntry>& entries) {
    ASSERT_EQ(entries.size(), acked.size());
    for (size_t k = 0; k < acked.size(); ++k) {
      EXPECT_EQ(entries[k].version(), acked[k].first);
      ASSERT_EQ(entries[k].lines_size(), 1);
      EXPECT_TRUE(absl::StrContains(entries[k].lines(0), absl::StrCat("\"app-", acked[k].second, "\"")));
    }
  };
  check(ReadAll());

  // Space returns: the next append works and follows the last acknowledged version.
  std::filesystem::remove(data_ + "/filler");
  uint64_t version = 0;
  grpc::Status again = Append(i, &version);
  ASSERT_TRUE(again.ok()) << again.error_message();
  EXPECT_EQ(version, acked.back().first + 1);
  acked.emplace_back(version, i);

  // And everything acknowledged survives a restart.
  cp_.process.reset();
  Start();
  check(ReadAll());
}

}  // namespace
}  // namespace edgerouter::controlplane
