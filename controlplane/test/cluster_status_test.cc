// edgerouterctl cluster status against real control-plane replicas: each data-plane node is
// listed on the replica it is connected to, a dead replica is shown DOWN (exit 1), and the
// stream heads come from the replicas' own logs.
#include <algorithm>
#include <filesystem>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_cat.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "controlplane/test/test_controlplane.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/admin.grpc.pb.h"
#include "proto/discovery.grpc.pb.h"

namespace edgerouter {
namespace {

// A data-plane node reduced to its discovery stream: connects, reads the full state, stays.
class Node {
 public:
  Node(const std::string& address, const std::string& id)
      : stub_(discovery::v1::Discovery::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))),
        stream_(stub_->StreamSnapshots(&context_)) {
    discovery::v1::DiscoveryRequest first;
    first.set_node_id(id);
    EXPECT_TRUE(stream_->Write(first));
    discovery::v1::DiscoveryResponse response;
    EXPECT_TRUE(stream_->Read(&response));
    discovery::v1::DiscoveryRequest ack;
    ack.set_version_info(response.version_info());
    ack.set_response_nonce(response.nonce());
    EXPECT_TRUE(stream_->Write(ack));
  }
  ~Node() {
    context_.TryCancel();
    stream_->Finish().ok();
  }

 private:
  std::unique_ptr<discovery::v1::Discovery::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<discovery::v1::DiscoveryRequest, discovery::v1::DiscoveryResponse>> stream_;
};

// True if some line of `out` starts with these whitespace-separated fields.
bool HasRow(const std::string& out, const std::vector<std::string>& fields) {
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    std::vector<std::string> got = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (got.size() >= fields.size() && std::equal(fields.begin(), fields.end(), got.begin())) return true;
  }
  return false;
}

TEST(ClusterStatus, ListsEveryReplicaWithItsNodesAndMarksDeadOnes) {
  char tmpl[] = "/tmp/er-cluster-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::vector<testing::TestControlPlane> replicas;
  for (const char* id : {"cp-a", "cp-b"}) {
    auto cp = testing::StartTestControlPlane("127.0.0.1:0", absl::StrCat(dir, "/", id), {absl::StrCat("--replica_id=", id)},
                                             absl::StrCat(dir, "/", id, ".log"));
    ASSERT_TRUE(cp.ok()) << cp.status();
    replicas.push_back(*std::move(cp));
  }
  // One stream event on cp-a's own log, so its head differs from cp-b's.
  {
    auto admin = admin::v1::Admin::NewStub(grpc::CreateChannel(replicas[0].grpc_address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    admin::v1::AppendStreamRequest req;
    req.set_stream("/t-1/loadbalancer");
    req.add_lines("2026-03-05T10:00:00.000Z AppDeleted    {\"Id\":\"nothing\"}");
    admin::v1::AppendStreamResponse resp;
    ASSERT_TRUE(admin->AppendStream(&ctx, req, &resp).ok());
  }
  Node on_a(replicas[0].grpc_address, "edge-1");
  Node on_b(replicas[1].grpc_address, "edge-2");
  const std::string dead = absl::StrCat("127.0.0.1:", testing::PickFreeLoopbackPort());

  auto ctl = Subprocess::Start({testing::RunfilePath("cli/edgerouterctl"),
                                absl::StrCat("--controlplane=", replicas[0].grpc_address, ",", replicas[1].grpc_address,
                                             ",", dead),
                                "cluster", "status"});
  ASSERT_TRUE(ctl.ok()) << ctl.status();
  absl::StatusOr<int> status = (*ctl)->Wait(absl::Seconds(30));
  ASSERT_TRUE(status.ok()) << status.status();
  const std::string out = (*ctl)->Output();
  EXPECT_NE(*status, 0) << out;  // one replica did not answer
  EXPECT_TRUE(HasRow(out, {"cp-a", replicas[0].grpc_address, "file", "yes"})) << out;
  EXPECT_TRUE(HasRow(out, {"cp-b", replicas[1].grpc_address, "file", "yes"})) << out;
  EXPECT_TRUE(HasRow(out, {"?", dead, "-", "DOWN"})) << out;
  EXPECT_TRUE(HasRow(out, {"edge-1", "cp-a", "yes"})) << out;
  EXPECT_TRUE(HasRow(out, {"edge-2", "cp-b", "yes"})) << out;
  EXPECT_TRUE(absl::StrContains(out, "/t-1/loadbalancer  0 on cp-b; 1 on cp-a (replicas differ)")) << out;
  for (auto& r : replicas) r.process.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace edgerouter
