// The real controlplane binary with --event_log=etcd: two replicas on one 3-member etcd cluster.
// An app written through one replica's Admin API is served by both; writes survive an etcd
// leader kill; without quorum writes fail with a clear error while reads keep serving.
#include <signal.h>
#include <stdlib.h>

#include <deque>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "controlplane/eventlog/etcd/test/etcd_cluster.h"
#include "controlplane/test/test_controlplane.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter {
namespace {

using testing::EtcdCluster;

std::string AppJson(const std::string& id) {
  return absl::StrCat(R"({"id":")", id, R"(","frontends":[{"kind":"hostname","hostname":")", id,
                      R"(.example.com","path_prefix":"/"}],"backend":{"kind":"redirect","redirect_opts":{"to":"https://)",
                      id, R"(/"}}})");
}

struct Replica {
  std::unique_ptr<Subprocess> process;
  std::unique_ptr<admin::v1::Admin::Stub> admin;

  grpc::Status Put(const std::string& id) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    admin::v1::PutAppRequest req;
    req.set_application_json(AppJson(id));
    admin::v1::PutAppResponse resp;
    return admin->PutApp(&ctx, req, &resp);
  }
  grpc::Status Get(const std::string& id, std::string* json = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    admin::v1::GetAppRequest req;
    req.set_id(id);
    admin::v1::GetAppResponse resp;
    grpc::Status s = admin->GetApp(&ctx, req, &resp);
    if (json != nullptr) *json = resp.application_json();
    return s;
  }
  std::string SnapshotVersion() {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    admin::v1::GetSnapshotResponse resp;
    if (!admin->GetSnapshot(&ctx, admin::v1::GetSnapshotRequest(), &resp).ok()) return "";
    return resp.snapshot().version();
  }
  // Polls until the replica serves `id` (its etcd watch delivered the append).
  bool WaitServes(const std::string& id, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (Get(id).ok()) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }
};

class ControlPlaneOnEtcdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string tmpl = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/er-cp-etcd-XXXXXX");
    dir_ = mkdtemp(tmpl.data());
    auto cluster = EtcdCluster::Start(dir_ + "/etcd");
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
  }
  void TearDown() override {
    replicas_.clear();
    cluster_.reset();
    std::filesystem::remove_all(dir_);
  }

  Replica& StartReplica() {
    const int n = static_cast<int>(replicas_.size());
    auto cp = testing::StartTestControlPlane(
        "127.0.0.1:0", absl::StrCat(dir_, "/unused-data-", n),
        {"--event_log=etcd", "--etcd_endpoints=" + cluster_->endpoints(), "--etcd_prefix=/er-it"},
        absl::StrCat(dir_, "/controlplane-", n, ".log"));
    EXPECT_TRUE(cp.ok()) << cp.status();
    Replica r;
    if (cp.ok()) {
      r.process = std::move(cp->process);
      r.admin = admin::v1::Admin::NewStub(grpc::CreateChannel(cp->grpc_address, grpc::InsecureChannelCredentials()));
    }
    replicas_.push_back(std::move(r));
    return replicas_.back();
  }

  std::string dir_;
  std::unique_ptr<EtcdCluster> cluster_;
  std::deque<Replica> replicas_;  // references stay valid as replicas are added
};

TEST_F(ControlPlaneOnEtcdTest, TwoReplicasShareAppsAndSurviveALeaderKill) {
  Replica& a = StartReplica();
  Replica& b = StartReplica();
  ASSERT_TRUE(a.process && b.process);
  EXPECT_NE(a.process->Output().find("event log on etcd"), std::string::npos);

  grpc::Status put = a.Put("app-one");
  ASSERT_TRUE(put.ok()) << put.error_message();
  std::string json;
  ASSERT_TRUE(a.Get("app-one", &json).ok());
  EXPECT_NE(json.find("app-one.example.com"), std::string::npos) << json;
  ASSERT_TRUE(b.WaitServes("app-one", absl::Seconds(5))) << "replica b never saw app-one";

  // Writes through the other replica land after the first one's (expected versions across
  // replicas), and both serve both apps.
  put = b.Put("app-two");
  ASSERT_TRUE(put.ok()) << put.error_message();
  ASSERT_TRUE(a.WaitServes("app-two", absl::Seconds(5)));

  auto leader = cluster_->Leader(absl::Seconds(5));
  ASSERT_TRUE(leader.ok()) << leader.status();
  const absl::Time kill = absl::Now();
  cluster_->Kill(*leader);
  put = a.Put("app-three");
  const absl::Duration took = absl::Now() - kill;
  ASSERT_TRUE(put.ok()) << put.error_message();
  std::printf("controlplane PutApp after an etcd leader kill -9: acknowledged in %.0f ms\n",
              absl::ToDoubleMilliseconds(took));
  EXPECT_LT(took, absl::Seconds(2));
  ASSERT_TRUE(b.WaitServes("app-three", absl::Seconds(5)));

  // A third replica started now replays everything from etcd.
  Replica& c = StartReplica();
  ASSERT_TRUE(c.process);
  for (const char* id : {"app-one", "app-two", "app-three"}) EXPECT_TRUE(c.Get(id).ok()) << id;
  // Same log, same inputs: byte-identical snapshot versions on every replica, so a data plane
  // can move between them and receive deltas only.
  const std::string version = a.SnapshotVersion();
  EXPECT_FALSE(version.empty());
  EXPECT_EQ(b.SnapshotVersion(), version);
  EXPECT_EQ(c.SnapshotVersion(), version);
}

// etcd down when the control plane starts: it says so and serves nothing (no gRPC, so no data
// plane gets an empty snapshot as if it were current), then becomes ready once etcd is back.
TEST_F(ControlPlaneOnEtcdTest, StartsWithEtcdDownWaitsAndServesOnceItIsBack) {
  for (int i = 0; i < cluster_->size(); ++i) cluster_->Kill(i);
  const int http_port = testing::PickFreeLoopbackPort();
  auto cp = Subprocess::Start({testing::RunfilePath("controlplane/controlplane"), "--grpc_listen=127.0.0.1:0",
                               absl::StrCat("--http_listen=127.0.0.1:", http_port), "--event_log=etcd",
                               "--etcd_endpoints=" + cluster_->endpoints(), "--etcd_prefix=/er-down",
                               "--data_dir=" + dir_ + "/unused"},
                              dir_ + "/controlplane-down.log");
  ASSERT_TRUE(cp.ok()) << cp.status();
  ASSERT_TRUE((*cp)->WaitForLine("waiting before serving", absl::Seconds(30)).ok()) << (*cp)->Output();
  EXPECT_EQ((*cp)->LineCount("control plane ready"), 0);
  // Health checks see it is not ready (and why nothing is served).
  auto health = Subprocess::Start({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                   absl::StrCat("http://127.0.0.1:", http_port, "/healthz")});
  ASSERT_TRUE(health.ok());
  ASSERT_TRUE((*health)->Wait(absl::Seconds(10)).ok());
  EXPECT_EQ((*health)->Output(), "503");
  for (int i = 0; i < cluster_->size(); ++i) ASSERT_TRUE(cluster_->Restart(i).ok());
  ASSERT_TRUE(cluster_->WaitHealthy(absl::Seconds(30)).ok());
  ASSERT_TRUE((*cp)->WaitForLine("control plane ready", absl::Seconds(30)).ok()) << (*cp)->Output();
  EXPECT_GE((*cp)->LineCount("event log reachable"), 1);
}

TEST_F(ControlPlaneOnEtcdTest, QuorumLossFailsWritesClearlyWhileReadsKeepServing) {
  Replica& a = StartReplica();
  ASSERT_TRUE(a.process);
  ASSERT_TRUE(a.Put("kept").ok());
  auto leader = cluster_->Leader(absl::Seconds(5));
  ASSERT_TRUE(leader.ok());
  cluster_->Kill(*leader);
  cluster_->Kill((*leader + 1) % 3);
  const absl::Time start = absl::Now();
  grpc::Status put = a.Put("lost");
  const absl::Duration took = absl::Now() - start;
  std::printf("controlplane PutApp without etcd quorum: %s after %.0f ms\n", put.error_message().c_str(),
              absl::ToDoubleMilliseconds(took));
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(put.error_message().find("etcd append /t-1/loadbalancer@2"), std::string::npos)
      << put.error_message();
  EXPECT_LT(took, absl::Seconds(8));  // the log's 5 s call deadline, not a hang
  EXPECT_TRUE(a.Get("kept").ok());    // the last snapshot keeps serving
}

}  // namespace
}  // namespace edgerouter
