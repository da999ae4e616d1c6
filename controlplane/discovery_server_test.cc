// The discovery server's fan-out over real gRPC streams on loopback: many nodes get the same
// bytes for one change (one serialisation shared by every stream), with versions and nonces as
// the protocol defines them.
#include "controlplane/discovery_server.h"

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/generic/generic_stub.h"
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
  s->resources = ResourceSet(std::move(resources));  // callers pass them sorted by name
  s->built_at = absl::Now();
  return s;
}

// The delta between two snapshots skips the chunks they share and equals the delta from the
// full list of versions.
TEST(ComputeDelta, FromASnapshotEqualsFromItsVersions) {
  std::vector<ResourcePtr> items;
  for (int i = 0; i < 2000; ++i) items.push_back(Res(absl::StrCat("app/", 10000 + i), "v1"));
  auto from = Snap("1", items);
  std::mt19937 rng(3);
  ResourceSet set = from->resources;
  for (int round = 0; round < 50; ++round) {
    std::map<std::string, ResourcePtr> changes;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 20); k < n; ++k) {
      const std::string name = absl::StrCat("app/", 10000 + rng() % 2500);
      changes[name] = rng() % 3 == 0 ? nullptr : Res(name, absl::StrCat("v", round));
    }
    set = set.With(std::vector<ResourceSet::Change>(changes.begin(), changes.end()));
    auto to = std::make_shared<BuiltSnapshot>();
    to->resources = set;
    discovery::v1::DiscoveryResponse fast, slow;
    ComputeDelta(*from, *to, &fast);
    ComputeDelta(VersionsOf(*from), *to, &slow);
    ASSERT_EQ(fast.SerializeAsString(), slow.SerializeAsString()) << "round " << round;
    EXPECT_GT(fast.resources_size() + fast.removed_resources_size(), 0);
  }
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

// A node that sees the raw bytes on the wire (generic stub, no protobuf on its side).
class RawNode : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  RawNode(const std::shared_ptr<grpc::Channel>& channel, const std::string& first) : stub_(channel) {
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    stub_.PrepareBidiStreamingCall(&ctx_, "/edgerouter.discovery.v1.Discovery/StreamSnapshots", grpc::StubOptions(),
                                   this);
    Send(first);
    StartRead(&in_);
    StartCall();
  }
  ~RawNode() override {
    ctx_.TryCancel();
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
  }
  // One write at a time (the completion may come after the server has answered).
  void Send(const std::string& bytes) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(+[](bool* writing) { return !*writing; }, &writing_));
      writing_ = true;
    }
    grpc::Slice slice(bytes);
    out_ = grpc::ByteBuffer(&slice, 1);
    StartWrite(&out_);
  }
  void OnWriteDone(bool) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
  }
  // The n-th message received (0-based), or "" if the stream ended first.
  std::string Received(size_t n) {
    absl::MutexLock lock(&mu_);
    auto ready = [&] { return received_.size() > n || done_; };
    mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(20));
    return received_.size() > n ? received_[n] : "";
  }
  grpc::Status Finished() {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&done_), absl::Seconds(20));
    return status_;
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (in_.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    {
      absl::MutexLock lock(&mu_);
      received_.push_back(std::move(bytes));
    }
    StartRead(&in_);
  }
  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
    done_ = true;
  }

 private:
  grpc::GenericStub stub_;
  grpc::ClientContext ctx_;
  grpc::ByteBuffer out_, in_;
  absl::Mutex mu_;
  std::vector<std::string> received_ ABSL_GUARDED_BY(mu_);
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
};

TEST_F(DiscoveryFanoutTest, WireBytesAreTheMessagesSerialisation) {
  server_->OnSnapshot(Snap("v1", {Res("app/a", "a1"), Res("app/b", "b1")}));
  DiscoveryRequest first;
  first.set_node_id("raw-node");
  RawNode node(channel_, first.SerializeAsString());
  DiscoveryResponse full;
  full.set_version_info("v1");
  full.set_nonce("v1");
  full.set_full_state(true);
  *full.add_resources() = *Res("app/a", "a1");
  *full.add_resources() = *Res("app/b", "b1");
  EXPECT_EQ(node.Received(0), full.SerializeAsString());

  DiscoveryRequest ack;
  ack.set_version_info("v1");
  ack.set_response_nonce("v1");
  node.Send(ack.SerializeAsString());
  ASSERT_TRUE(AllAcked(1, "v1"));
  server_->OnSnapshot(Snap("v2", {Res("app/b", "b2")}));
  DiscoveryResponse delta;
  delta.set_version_info("v2");
  delta.set_nonce("v2");
  *delta.add_resources() = *Res("app/b", "b2");
  delta.add_removed_resources("app/a");
  EXPECT_EQ(node.Received(1), delta.SerializeAsString());
}

// The full state is written resource by resource, not through a message holding copies: its
// bytes must still be exactly the message's, lengths of one and two varint bytes alike.
TEST_F(DiscoveryFanoutTest, FullStateOfManyResourcesIsTheMessagesSerialisation) {
  std::vector<ResourcePtr> resources;
  DiscoveryResponse full;
  full.set_version_info("big");
  full.set_nonce("big");
  full.set_full_state(true);
  for (int i = 0; i < 3000; ++i) {
    resources.push_back(Res(absl::StrFormat("app/%05d", i), std::string(static_cast<size_t>(i % 300), 'v')));
    *full.add_resources() = *resources.back();
  }
  server_->OnSnapshot(Snap("big", std::move(resources)));
  DiscoveryRequest first;
  first.set_node_id("raw-node");
  RawNode node(channel_, first.SerializeAsString());
  EXPECT_EQ(node.Received(0), full.SerializeAsString());
  EXPECT_EQ(stats_.full(), std::vector<size_t>{full.ByteSizeLong()});
}

TEST_F(DiscoveryFanoutTest, BytesThatAreNotADiscoveryRequestEndTheStream) {
  server_->OnSnapshot(Snap("v1", {Res("app/a", "a1")}));
  RawNode node(channel_, std::string("\xff\xff\xff\xff", 4));  // field 0x1fffffff?, truncated varint
  const grpc::Status status = node.Finished();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_NE(status.error_message().find("not a DiscoveryRequest"), std::string::npos) << status.error_message();
  EXPECT_EQ(node.Received(0), "");
}

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
