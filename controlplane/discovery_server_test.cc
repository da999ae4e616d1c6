// The discovery server's fan-out over real gRPC streams on loopback: many nodes get the same
// bytes for one change (one serialisation shared by every stream), with versions and nonces as
// the protocol defines them.
#include "controlplane/discovery_server.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace edgerouter::controlplane {
namespace {

using discovery::v1::DiscoveryRequest;
using discovery::v1::DiscoveryResponse;

// Records every push's size.
class RecordingStats : public DiscoveryStats {
 public:
  void OnPush(size_t bytes, bool full_state) override {
    absl::MutexLock lock(&mu_);
    (full_state ? full_ : delta_).push_back(bytes);
  }
  std::vector<size_t> full() {
    absl::MutexLock lock(&mu_);
    return full_;
  }
  std::vector<size_t> delta() {
    absl::MutexLock lock(&mu_);
    return delta_;
  }

 private:
  absl::Mutex mu_;
  std::vector<size_t> full_ ABSL_GUARDED_BY(mu_), delta_ ABSL_GUARDED_BY(mu_);
};

ResourcePtr Res(const std::string& name, const std::string& version) {
  auto r = std::make_shared<snapshot::v1::Resource>();
  r->set_name(name);
  r->set_version(version);
  r->mutable_app()->set_id(name.substr(4));
  return r;
}

std::shared_ptr<const BuiltSnapshot> Snap(const std::string& version, std::vector<ResourcePtr> resources) {
  auto s = std::make_shared<BuiltSnapshot>();
  s->version = version;
  s->resources = std::move(resources);  // callers pass them sorted by name
  s->built_at = absl::Now();
  return s;
}

class DiscoveryFanoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<DiscoveryServer>(&stats_, "cp-test");
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(server_.get());
    grpc_ = builder.BuildAndStart();
    ASSERT_NE(grpc_, nullptr);
    ASSERT_GT(port, 0);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    server_->CloseAllStreams();
    grpc_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  // Polls until every node has ACKed `version` (status as ListNodes reports it).
  bool AllAcked(int nodes, const std::string& version) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      int acked = 0;
      for (const auto& n : server_->Nodes()) acked += n.last_acked_version() == version;
      if (acked == nodes) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  RecordingStats stats_;
  std::unique_ptr<DiscoveryServer> server_;
  std::unique_ptr<grpc::Server> grpc_;
  std::shared_ptr<grpc::Channel> channel_;
};

struct Node {
  grpc::ClientContext ctx;
  std::unique_ptr<discovery::v1::Discovery::Stub> stub;
  std::unique_ptr<grpc::ClientReaderWriter<DiscoveryRequest, DiscoveryResponse>> stream;
};

TEST_F(DiscoveryFanoutTest, EveryStreamGetsTheSameBytesForOneChange) {
  constexpr int kNodes = 64;
  server_->OnSnapshot(Snap("v1", {Res("app/a", "a1"), Res("app/b", "b1"), Res("app/c", "c1")}));
  std::vector<std::unique_ptr<Node>> nodes;
  for (int i = 0; i < kNodes; ++i) {
    auto node = std::make_unique<Node>();
    node->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    node->stub = discovery::v1::Discovery::NewStub(channel_);
    node->stream = node->stub->StreamSnapshots(&node->ctx);
    DiscoveryRequest first;
    first.set_node_id(absl::StrCat("node-", i));
    ASSERT_TRUE(node->stream->Write(first));
    nodes.push_back(std::move(node));
  }

  DiscoveryResponse full;
  full.set_version_info("v1");
  full.set_nonce("v1");
  full.set_full_state(true);
  for (const ResourcePtr& r : {Res("app/a", "a1"), Res("app/b", "b1"), Res("app/c", "c1")}) *full.add_resources() = *r;
  auto ack = [](Node& node, const DiscoveryResponse& r) {
    DiscoveryRequest req;
    req.set_version_info(r.version_info());
    req.set_response_nonce(r.nonce());
    return node.stream->Write(req);
  };
  for (auto& node : nodes) {
    DiscoveryResponse r;
    ASSERT_TRUE(node->stream->Read(&r));
    EXPECT_EQ(r.SerializeAsString(), full.SerializeAsString());
    ASSERT_TRUE(ack(*node, r));
  }
  ASSERT_TRUE(AllAcked(kNodes, "v1"));

  // One app changes and one is removed: every node gets the same delta, once.
  server_->OnSnapshot(Snap("v2", {Res("app/a", "a2"), Res("app/c", "c1")}));
  DiscoveryResponse delta;
  delta.set_version_info("v2");
  delta.set_nonce("v2");
  *delta.add_resources() = *Res("app/a", "a2");
  delta.add_removed_resources("app/b");
  for (auto& node : nodes) {
    DiscoveryResponse r;
    ASSERT_TRUE(node->stream->Read(&r));
    EXPECT_EQ(r.SerializeAsString(), delta.SerializeAsString());
    ASSERT_TRUE(ack(*node, r));
  }
  ASSERT_TRUE(AllAcked(kNodes, "v2"));

  // One serialisation per response, written by every stream: every push has the wire size.
  EXPECT_EQ(stats_.full(), std::vector<size_t>(kNodes, full.ByteSizeLong()));
  EXPECT_EQ(stats_.delta(), std::vector<size_t>(kNodes, delta.ByteSizeLong()));

  for (auto& node : nodes) {
    node->stream->WritesDone();
    EXPECT_TRUE(node->stream->Finish().ok());
  }
}

TEST_F(DiscoveryFanoutTest, StreamWithoutNodeIdIsRefusedAndOthersKeepServing) {
  server_->OnSnapshot(Snap("v1", {Res("app/a", "a1")}));
  grpc::ClientContext bad_ctx;
  auto stub = discovery::v1::Discovery::NewStub(channel_);
  auto bad = stub->StreamSnapshots(&bad_ctx);
  ASSERT_TRUE(bad->Write(DiscoveryRequest()));
  DiscoveryResponse r;
  EXPECT_FALSE(bad->Read(&r));
  EXPECT_EQ(bad->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext ctx;
  auto good = stub->StreamSnapshots(&ctx);
  DiscoveryRequest first;
  first.set_node_id("node-ok");
  ASSERT_TRUE(good->Write(first));
  ASSERT_TRUE(good->Read(&r));
  EXPECT_EQ(r.version_info(), "v1");
  EXPECT_TRUE(r.full_state());
  ctx.TryCancel();
  good->Finish();
}

}  // namespace
}  // namespace edgerouter::controlplane
