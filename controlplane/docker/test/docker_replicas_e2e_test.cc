// Active-active replicas with Docker discovery: two control planes on one etcd log, both watching
// the same private dockerd, must publish byte-identical snapshots (same version, same bytes, same
// rejected items) for the same inputs: labelled containers, a bad label and an app from the log.
// Data planes that fail over between replicas rely on it: equal versions mean no resend.
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/test_util.h"
#include "controlplane/docker/test/docker_harness.h"
#include "controlplane/eventlog/etcd/test/etcd_cluster.h"
#include "controlplane/test/test_controlplane.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter::testing {
namespace {

// Deterministic serialisation: equal messages give equal bytes.
std::string Bytes(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

struct Replica {
  TestControlPlane cp;
  std::unique_ptr<admin::v1::Admin::Stub> admin;

  admin::v1::GetSnapshotResponse Snapshot() {
    grpc::ClientContext ctx;
    admin::v1::GetSnapshotRequest req;
    req.set_include_secrets(true);  // compare everything, ciphertexts and tokens included
    admin::v1::GetSnapshotResponse resp;
    EXPECT_TRUE(admin->GetSnapshot(&ctx, req, &resp).ok());
    return resp;
  }
};

std::vector<std::string> AppIds(const admin::v1::GetSnapshotResponse& s) {
  std::vector<std::string> ids;
  for (const auto& r : s.snapshot().resources()) ids.push_back(r.name());
  return ids;
}

class DockerReplicasE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/er-dock-replicas-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto harness = DockerHarness::Start();
    ASSERT_TRUE(harness.ok()) << harness.status();
    harness_ = *std::move(harness);
    auto etcd = EtcdCluster::Start(dir_ + "/etcd", 1);
    ASSERT_TRUE(etcd.ok()) << etcd.status();
    etcd_ = *std::move(etcd);
    for (const char* id : {"cp-a", "cp-b"}) {
      auto cp = StartTestControlPlane(
          "127.0.0.1:0", absl::StrCat(dir_, "/", id),
          {"--event_log=etcd", "--etcd_endpoints=" + etcd_->endpoints(), "--etcd_prefix=/replicas",
           absl::StrCat("--replica_id=", id), "--docker_url=" + harness_->url(), "--docker_network=bridge"},
          absl::StrCat(dir_, "/", id, ".log"));
      ASSERT_TRUE(cp.ok()) << cp.status();
      Replica r{*std::move(cp), nullptr};
      r.admin = admin::v1::Admin::NewStub(grpc::CreateChannel(r.cp.grpc_address, grpc::InsecureChannelCredentials()));
      replicas_.push_back(std::move(r));
    }
  }
  void TearDown() override {
    for (const std::string& name : containers_) (void)harness_->Docker({"rm", "-f", name});
    replicas_.clear();
    etcd_.reset();
    harness_.reset();
    std::filesystem::remove_all(dir_);
  }

  void RunLabelled(const std::string& name, const std::string& host, const std::vector<std::string>& labels) {
    std::vector<std::string> args = {"run", "-d", "--network", "host", "--name", name,
                                     "--label", "traefik.frontend.rule=Host:" + host,
                                     "--label", absl::StrCat("traefik.port=", PickFreeLoopbackPort())};
    for (const std::string& l : labels) args.insert(args.end(), {"--label", l});
    args.insert(args.end(), {DockerHarness::kImage, "/bin/busybox", "sleep", "600"});
    absl::StatusOr<std::string> id = harness_->Docker(args);
    ASSERT_TRUE(id.ok()) << id.status();
    containers_.push_back(name);
  }

  // Polls both replicas until `want` holds for each and their versions agree.
  bool AwaitAgreement(const std::function<bool(const admin::v1::GetSnapshotResponse&)>& want) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      a_ = replicas_[0].Snapshot();
      b_ = replicas_[1].Snapshot();
      if (want(a_) && want(b_) && a_.snapshot().version() == b_.snapshot().version()) return true;
      absl::SleepFor(absl::Milliseconds(50));  // polling an external engine's effect: no event to await
    }
    return false;
  }

  void ExpectIdentical() {
    EXPECT_EQ(a_.snapshot().version(), b_.snapshot().version());
    EXPECT_EQ(Bytes(a_.snapshot()), Bytes(b_.snapshot())) << a_.snapshot().DebugString() << "\n---\n"
                                                          << b_.snapshot().DebugString();
    ASSERT_EQ(a_.rejected_size(), b_.rejected_size());
    for (int i = 0; i < a_.rejected_size(); ++i) EXPECT_EQ(Bytes(a_.rejected(i)), Bytes(b_.rejected(i)));
  }

  std::string dir_;
  std::unique_ptr<DockerHarness> harness_;
  std::unique_ptr<EtcdCluster> etcd_;
  std::vector<Replica> replicas_;
  std::vector<std::string> containers_;
  admin::v1::GetSnapshotResponse a_, b_;
};

bool Has(const admin::v1::GetSnapshotResponse& s, const std::string& id) {
  for (const auto& r : s.snapshot().resources()) {
    if (r.name() == id || absl::StrContains(r.name(), "/" + id)) return true;
  }
  return false;
}

TEST_F(DockerReplicasE2E, EqualInputsGiveByteIdenticalSnapshots) {
  RunLabelled("web1", "web1.test", {"edgerouter.auth=public"});
  RunLabelled("web2", "web2.test", {"edgerouter.auth=bearer_token", "edgerouter.auth_bearer_token=s3cret"});
  RunLabelled("broken", "broken.test", {"edgerouter.auth=nope"});  // rejected on both, with the same reason
  {
    grpc::ClientContext ctx;
    admin::v1::AppendStreamRequest req;
    req.set_stream("/t-1/loadbalancer");
    req.add_lines(
        "2026-03-05T10:00:00.000Z AppUpdated    {\"Application\":{\"id\":\"from-log\",\"frontends\":[{\"kind\":"
        "\"hostname\",\"hostname\":\"log.test\",\"path_prefix\":\"/\"}],\"backend\":{\"kind\":\"redirect\","
        "\"redirect_opts\":{\"to\":\"https://example.com/\"}}}}");
    admin::v1::AppendStreamResponse resp;
    grpc::Status s = replicas_[1].admin->AppendStream(&ctx, req, &resp);  // written on b, read by a from etcd
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  ASSERT_TRUE(AwaitAgreement([](const admin::v1::GetSnapshotResponse& s) {
    return Has(s, "web1") && Has(s, "web2") && Has(s, "from-log") && s.rejected_size() >= 1;
  })) << absl::StrJoin(AppIds(a_), ",") << " | " << absl::StrJoin(AppIds(b_), ",") << "\n"
      << replicas_[0].cp.process->Output() << replicas_[1].cp.process->Output();
  ExpectIdentical();
  EXPECT_FALSE(Has(a_, "broken"));

  // A container leaving is seen by both, and they agree again.
  ASSERT_TRUE(harness_->Docker({"rm", "-f", "web1"}).ok());
  ASSERT_TRUE(AwaitAgreement([](const admin::v1::GetSnapshotResponse& s) { return !Has(s, "web1") && Has(s, "web2"); }))
      << absl::StrJoin(AppIds(a_), ",") << " | " << absl::StrJoin(AppIds(b_), ",");
  ExpectIdentical();
}

}  // namespace
}  // namespace edgerouter::testing
