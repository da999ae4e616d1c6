// The cluster end to end: a 3-member etcd cluster, three control-plane replicas on it, a data
// plane connected to all three and real traffic (wrk) through it. Killing the etcd leader or
// the replica the data plane is on must cost no request; writes resume within 2 s of an etcd
// leader kill; the node is on another replica within 1 s and receives no full state again.
#include <signal.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controlplane/eventlog/etcd/test/etcd_cluster.h"
#include "controlplane/test/test_controlplane.h"
#include "dataplane/test/e2e_fixture.h"
#include "dataplane/test/http_test_client.h"
#include "gtest/gtest.h"

namespace edgerouter::testing {
namespace {

// The value of an unlabelled series in Prometheus text.
std::string Series(const std::string& metrics, const std::string& name) {
  const size_t at = metrics.find("\n" + name + " ");
  if (at == std::string::npos) return "";
  const size_t start = at + name.size() + 2;
  return metrics.substr(start, metrics.find('\n', start) - start);
}

class Cluster : public DataplaneE2E {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/er-cluster-e2e-XXXXXX";
    dir_ = mkdtemp(tmpl);
    StartOrigins();
    std::ofstream(dir_ + "/applications.json") << AppsJson();
    auto etcd = EtcdCluster::Start(dir_ + "/etcd", 3);
    ASSERT_TRUE(etcd.ok()) << etcd.status();
    etcd_ = *std::move(etcd);
    for (int r = 0; r < 3; ++r) StartReplica(r);
    admin_ = admin::v1::Admin::NewStub(grpc::CreateChannel(replicas_[0].grpc_address, grpc::InsecureChannelCredentials()));
    std::vector<std::string> addresses;
    for (const auto& r : replicas_) addresses.push_back(r.grpc_address);
    StartDataplane({"--controlplane=" + absl::StrJoin(addresses, ",")});
  }
  void TearDown() override {
    dp_.reset();
    for (auto& r : replicas_) r.process.reset();
    etcd_.reset();
    DataplaneE2E::TearDown();
  }
  void StartReplica(int r) {
    auto cp = StartTestControlPlane(
        "127.0.0.1:0", absl::StrCat(dir_, "/cp", r),
        {"--event_log=etcd", "--etcd_endpoints=" + etcd_->endpoints(), absl::StrCat("--replica_id=cp-", r),
         "--apps_file=" + dir_ + "/applications.json"},
        absl::StrCat(dir_, "/cp", r, ".log"));
    ASSERT_TRUE(cp.ok()) << cp.status();
    if (replicas_.size() <= static_cast<size_t>(r)) replicas_.resize(r + 1);
    replicas_[r] = *std::move(cp);
  }
  // The replica the data plane's discovery stream is on ("" when none).
  std::string DataplaneReplica() {
    const std::string m = Metrics();
    const size_t at = m.find("er_dp_controlplane_info{");
    if (at == std::string::npos || !absl::StrContains(Series(m, "er_dp_controlplane_connected"), "1")) return "";
    const size_t id = m.find("replica=\"", at);
    return m.substr(id + 9, m.find('"', id + 9) - id - 9);
  }

  std::unique_ptr<EtcdCluster> etcd_;
  std::vector<TestControlPlane> replicas_;
};

TEST_F(Cluster, EtcdLeaderKillUnderLoadLosesNoRequestAndWritesResumeWithin2s) {
  WaitForApplied(1);
  WrkLoad load(http_port_, 6);
  absl::StatusOr<int> leader = etcd_->Leader(absl::Seconds(10));
  ASSERT_TRUE(leader.ok()) << leader.status();
  const absl::Time killed = absl::Now();
  etcd_->Kill(*leader);
  // A write through the admin API (retried by the client until etcd has a leader again), then
  // served by the data plane.
  grpc::Status written;
  for (int attempt = 0; attempt < 50; ++attempt) {
    written = AppendApp(RedirectApp("after-leader-kill", "after.test"));
    if (written.ok()) break;
  }
  ASSERT_TRUE(written.ok()) << written.error_message();
  while (Get(http_port_, "after.test", "/").status != 302) {
    ASSERT_LT(absl::Now() - killed, absl::Seconds(10)) << "never served";
  }
  const absl::Duration took = absl::Now() - killed;
  std::printf("etcd leader killed → new app written and served in %.0f ms\n", absl::ToDoubleMilliseconds(took));
  EXPECT_LT(took, absl::Seconds(2));
  ExpectNoFailures(load.Finish());
}

TEST_F(Cluster, ReplicaKillUnderLoadMovesTheNodeWithoutAFullStateResend) {
  WaitForApplied(1);
  std::string on;
  for (absl::Time until = absl::Now() + absl::Seconds(10); on.empty() && absl::Now() < until;) on = DataplaneReplica();
  ASSERT_FALSE(on.empty()) << Metrics();
  // The counters move just after the config is published.
  for (absl::Time until = absl::Now() + absl::Seconds(10);
       Series(Metrics(), "er_dp_controlplane_full_states_total") != "1" && absl::Now() < until;) {
  }
  ASSERT_EQ(Series(Metrics(), "er_dp_controlplane_full_states_total"), "1");
  WrkLoad load(http_port_, 4);
  const int index = on.back() - '0';
  const absl::Time killed = absl::Now();
  replicas_[index].process->Signal(SIGKILL);
  replicas_[index].process.reset();
  std::string now;
  while ((now = DataplaneReplica()).empty() || now == on) {
    ASSERT_LT(absl::Now() - killed, absl::Seconds(10)) << Metrics();
  }
  const absl::Duration took = absl::Now() - killed;
  std::printf("replica %s killed → data plane on %s in %.0f ms\n", on.c_str(), now.c_str(), absl::ToDoubleMilliseconds(took));
  EXPECT_LT(took, absl::Seconds(1));
  ExpectNoFailures(load.Finish());
  // A change after the move (written through a surviving replica) arrives as a delta: still one
  // full state in all.
  admin_ = admin::v1::Admin::NewStub(grpc::CreateChannel(replicas_[(index + 1) % 3].grpc_address,
                                                     grpc::InsecureChannelCredentials()));
  ASSERT_TRUE(AppendApp(RedirectApp("after-replica-kill", "moved.test")).ok());
  WaitForApplied(2);
  EXPECT_EQ(Get(http_port_, "moved.test", "/").status, 302);
  EXPECT_EQ(Series(Metrics(), "er_dp_controlplane_full_states_total"), "1");
  EXPECT_EQ(Series(Metrics(), "er_dp_controlplane_failovers_total"), "1");
}

// The run-once lease on etcd: every replica names the same holder, exactly one holds it, and
// when the holder dies another replica takes it over.
TEST_F(Cluster, OneReplicaHoldsTheDutiesLeaseAndAnotherTakesOver) {
  auto statuses = [&] {
    std::vector<admin::v1::ReplicaStatus> out;
    for (const auto& r : replicas_) {
      if (r.process == nullptr) continue;
      auto stub = admin::v1::Admin::NewStub(grpc::CreateChannel(r.grpc_address, grpc::InsecureChannelCredentials()));
      grpc::ClientContext ctx;
      admin::v1::ReplicaStatus status;
      if (stub->GetReplicaStatus(&ctx, admin::v1::GetReplicaStatusRequest(), &status).ok()) out.push_back(status);
    }
    return out;
  };
  // Every answering replica agrees on one holder, which is one of them and says it holds it.
  auto agreed_holder = [&]() -> std::string {
    std::vector<admin::v1::ReplicaStatus> all = statuses();
    std::string holder;
    int holding = 0;
    for (const auto& s : all) {
      if (s.leases_size() != 1 || s.leases(0).name() != "duties" || s.leases(0).holder().empty()) return "";
      if (!holder.empty() && s.leases(0).holder() != holder) return "";
      holder = s.leases(0).holder();
      holding += s.leases(0).held_here();
    }
    return holding == 1 ? holder : "";
  };
  std::string holder;
  for (absl::Time until = absl::Now() + absl::Seconds(20); (holder = agreed_holder()).empty();) {
    ASSERT_LT(absl::Now(), until) << "replicas never agreed on one lease holder";
  }
  const int index = holder.back() - '0';
  replicas_[index].process->Signal(SIGKILL);
  replicas_[index].process.reset();
  const absl::Time killed = absl::Now();
  std::string next;
  while ((next = agreed_holder()).empty() || next == holder) {
    ASSERT_LT(absl::Now() - killed, absl::Seconds(20)) << "nobody took the lease over";
  }
  std::printf("lease holder %s killed → %s holds it after %.0f ms\n", holder.c_str(), next.c_str(),
              absl::ToDoubleMilliseconds(absl::Now() - killed));
}

}  // namespace
}  // namespace edgerouter::testing
