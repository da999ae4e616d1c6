// XdsClient against the real controlplane binary: full state + ACK, deltas assembled into full
// snapshots, NACK keeping the old config, persistence, reconnect after kill -9, prompt Stop().
#include "dataplane/xds/xds_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "controlplane/test/test_controlplane.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter::xds {
namespace {

constexpr absl::Duration kWait = absl::Seconds(20);

std::string AppJson(const std::string& id) {
  return absl::StrReplaceAll(
      R"({"id":"$","frontends":[{"kind":"hostname","hostname":"$.example.com","path_prefix":"/"}],)"
      R"("backend":{"kind":"redirect","redirect_opts":{"to":"https://$/"}}})",
      {{"$", id}});
}

std::string Updated(const std::string& id) {
  return absl::StrCat("2026-03-05T10:00:00.000Z AppUpdated    {\"Application\":", AppJson(id), "}");
}

std::string Deleted(const std::string& id) {
  return absl::StrCat("2026-03-05T10:00:00.000Z AppDeleted    {\"Id\":\"", id, "\"}");
}

std::vector<std::string> Names(const snapshot::v1::Snapshot& s) {
  std::vector<std::string> names;
  for (const auto& r : s.resources()) names.push_back(r.name());
  return names;
}

bool Same(const snapshot::v1::Snapshot& a, const snapshot::v1::Snapshot& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

// The data plane stand-in: records what it is asked to apply, rejects on demand, and can run a
// probe while an apply is in progress (when the server's view of the node is known exactly).
class Recorder {
 public:
  XdsClient::ApplyFn fn() {
    return [this](const SnapshotView& v) {
      {
        absl::MutexLock lock(&mu_);
        views_.push_back({v.full_state, v.changed, v.removed});
      }
      return Apply(v.ToSnapshot());
    };
  }

  // What the n-th apply call (1-based) was told had changed.
  struct Delta {
    bool full_state = false;
    std::vector<std::string> changed, removed;
  };
  Delta view(size_t n) {
    absl::MutexLock lock(&mu_);
    return n <= views_.size() ? views_[n - 1] : Delta{};
  }

  void set_reject(std::string error) {
    absl::MutexLock lock(&mu_);
    reject_ = std::move(error);
  }
  void set_during_apply(std::function<void()> probe) {
    absl::MutexLock lock(&mu_);
    during_apply_ = std::move(probe);
  }

  // The n-th accepted snapshot (1-based), waiting for it.
  snapshot::v1::Snapshot WaitForApplied(size_t n) {
    absl::MutexLock lock(&mu_);
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return applied_.size() >= n; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&ready), kWait)) {
      ADD_FAILURE() << "apply #" << n << " did not happen; got " << applied_.size();
      return {};
    }
    return applied_[n - 1];
  }
  std::vector<std::string> rejected() {
    absl::MutexLock lock(&mu_);
    return rejected_;
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Status Apply(const snapshot::v1::Snapshot& s) {
    std::function<void()> probe;
    {
      absl::MutexLock lock(&mu_);
      ++calls_;
      if (!reject_.empty()) {
        rejected_.push_back(s.version());
        return absl::InvalidArgumentError(reject_);
      }
      probe = during_apply_;
    }
    if (probe) probe();
    absl::MutexLock lock(&mu_);
    applied_.push_back(s);
    return absl::OkStatus();
  }

  absl::Mutex mu_;
  std::vector<Delta> views_ ABSL_GUARDED_BY(mu_);
  std::vector<snapshot::v1::Snapshot> applied_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> rejected_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::string reject_ ABSL_GUARDED_BY(mu_);
  std::function<void()> during_apply_ ABSL_GUARDED_BY(mu_);
};

class XdsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/er-xds-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::ofstream(dir_ + "/applications.json")
        << absl::StrCat(R"({"apps":[)", AppJson("file-a"), ",", AppJson("file-b"), "]}");
    grpc_addr_ = absl::StrCat("127.0.0.1:", testing::PickFreeLoopbackPort());
    StartControlPlane();
  }
  void TearDown() override {
    cp_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Same data dir and gRPC address every time, like a supervisor restarting it.
  void StartControlPlane() {
    auto cp = testing::StartTestControlPlane(grpc_addr_, dir_ + "/data",
                                             {"--apps_file=" + dir_ + "/applications.json"},
                                             dir_ + "/controlplane.log");
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = std::move(cp->process);
    admin_ = admin::v1::Admin::NewStub(
        grpc::CreateChannel(grpc_addr_, grpc::InsecureChannelCredentials()));
  }

  void KillControlPlane() {
    cp_->Signal(SIGKILL);
    cp_.reset();
  }

  XdsClientOptions Options(const std::string& node, const std::string& state_dir = "") {
    XdsClientOptions o;
    o.controlplane = grpc_addr_;
    o.node_id = node;
    o.state_dir = state_dir;
    o.initial_backoff = absl::Milliseconds(20);
    o.max_backoff = absl::Milliseconds(200);
    return o;
  }

  void Append(const std::vector<std::string>& lines) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    admin::v1::AppendStreamRequest req;
    req.set_stream("/t-1/loadbalancer");
    for (const auto& l : lines) req.add_lines(l);
    admin::v1::AppendStreamResponse resp;
    grpc::Status s = admin_->AppendStream(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  snapshot::v1::Snapshot ServerSnapshot() {
    grpc::ClientContext ctx;
    admin::v1::GetSnapshotResponse resp;
    EXPECT_TRUE(admin_->GetSnapshot(&ctx, admin::v1::GetSnapshotRequest(), &resp).ok());
    return resp.snapshot();
  }

  admin::v1::NodeStatus Node(const std::string& id) {
    grpc::ClientContext ctx;
    admin::v1::ListNodesResponse resp;
    EXPECT_TRUE(admin_->ListNodes(&ctx, admin::v1::ListNodesRequest(), &resp).ok());
    for (const auto& n : resp.nodes()) {
      if (n.node_id() == id) return n;
    }
    ADD_FAILURE() << "node " << id << " unknown to the control plane";
    return {};
  }

  std::string dir_;
  std::string grpc_addr_;
  std::unique_ptr<Subprocess> cp_;
  std::unique_ptr<admin::v1::Admin::Stub> admin_;
};

TEST_F(XdsClientTest, FullStateIsAppliedAndAcked) {
  Recorder rec;
  XdsClient client(Options("node-1"), rec.fn());
  client.Start();
  snapshot::v1::Snapshot first = rec.WaitForApplied(1);
  EXPECT_EQ(Names(first), (std::vector<std::string>{"app/file-a", "app/file-b"}));
  EXPECT_TRUE(Same(first, ServerSnapshot())) << first.DebugString();
  ASSERT_TRUE(client.AwaitStatus([](const XdsStatus& s) { return s.applies == 1; }, kWait));
  XdsStatus st = client.status();
  EXPECT_EQ(st.applied_version, first.version());
  EXPECT_TRUE(st.connected);
  EXPECT_TRUE(st.last_full_state);
  EXPECT_EQ(st.responses, 1u);
  EXPECT_NE(st.last_apply, absl::InfinitePast());

  // The server computes the next push only once the ACK arrived, so during the next apply its
  // node status shows exactly what the client has applied.
  admin::v1::NodeStatus during;
  std::string applied_during;
  rec.set_during_apply([&] {
    during = Node("node-1");
    applied_during = client.status().applied_version;
  });
  Append({Updated("stream-c")});
  rec.WaitForApplied(2);
  EXPECT_EQ(applied_during, first.version());
  EXPECT_EQ(during.last_acked_version(), applied_during);
  EXPECT_TRUE(during.connected());
  EXPECT_EQ(during.last_nack_message(), "");
}

TEST_F(XdsClientTest, DeltasAreAssembledIntoFullSnapshots) {
  Recorder rec;
  XdsClient client(Options("node-2"), rec.fn());
  client.Start();
  rec.WaitForApplied(1);

  Append({Updated("stream-c")});
  snapshot::v1::Snapshot added = rec.WaitForApplied(2);
  EXPECT_EQ(Names(added), (std::vector<std::string>{"app/file-a", "app/file-b", "app/stream-c"}));
  EXPECT_TRUE(Same(added, ServerSnapshot())) << added.DebugString();
  ASSERT_TRUE(client.AwaitStatus([](const XdsStatus& s) { return s.applies == 2; }, kWait));
  EXPECT_FALSE(client.status().last_full_state);

  // One batch: a removal and an addition in the same delta.
  Append({Deleted("stream-c"), Updated("stream-d")});
  snapshot::v1::Snapshot swapped = rec.WaitForApplied(3);
  EXPECT_EQ(Names(swapped), (std::vector<std::string>{"app/file-a", "app/file-b", "app/stream-d"}));
  EXPECT_TRUE(Same(swapped, ServerSnapshot())) << swapped.DebugString();
  // apply is told what each delta changed, so it can work in O(change).
  EXPECT_TRUE(rec.view(1).full_state);
  EXPECT_FALSE(rec.view(2).full_state);
  EXPECT_EQ(rec.view(2).changed, (std::vector<std::string>{"app/stream-c"}));
  EXPECT_TRUE(rec.view(2).removed.empty());
  EXPECT_EQ(rec.view(3).changed, (std::vector<std::string>{"app/stream-d"}));
  EXPECT_EQ(rec.view(3).removed, (std::vector<std::string>{"app/stream-c"}));
  ASSERT_TRUE(client.AwaitStatus([](const XdsStatus& s) { return s.applies == 3; }, kWait));
  EXPECT_FALSE(client.status().last_full_state);
  EXPECT_EQ(client.status().applied_version, swapped.version());
}

TEST_F(XdsClientTest, RejectedSnapshotIsNackedAndTheNextChangeApplies) {
  const std::string error = "route table: hostname stream-c.example.com claimed twice";
  Recorder rec;
  XdsClient client(Options("node-3"), rec.fn());
  client.Start();
  snapshot::v1::Snapshot first = rec.WaitForApplied(1);

  rec.set_reject(error);
  Append({Updated("stream-c")});
  ASSERT_TRUE(client.AwaitStatus([](const XdsStatus& s) { return s.nacks == 1; }, kWait));
  XdsStatus st = client.status();
  EXPECT_EQ(st.applied_version, first.version());
  EXPECT_EQ(st.last_nack, error);
  EXPECT_EQ(st.applies, 1u);
  ASSERT_EQ(rec.rejected().size(), 1u);
  const std::string rejected_version = rec.rejected()[0];
  EXPECT_NE(rejected_version, first.version());

  // The NACKed version is parked; the next change arrives once the NACK was processed, so the
  // server's node status during that apply holds it.
  rec.set_reject("");
  admin::v1::NodeStatus during;
  rec.set_during_apply([&] { during = Node("node-3"); });
  Append({Updated("stream-d")});
  snapshot::v1::Snapshot next = rec.WaitForApplied(2);
  EXPECT_EQ(during.last_nack_message(), error);
  EXPECT_EQ(during.last_nack_version(), rejected_version);
  EXPECT_EQ(during.last_acked_version(), first.version());
  // Delta against what the client kept: the rejected app arrives again with the new one.
  EXPECT_EQ(Names(next), (std::vector<std::string>{"app/file-a", "app/file-b", "app/stream-c",
                                                   "app/stream-d"}));
  EXPECT_TRUE(Same(next, ServerSnapshot())) << next.DebugString();
  ASSERT_TRUE(client.AwaitStatus([](const XdsStatus& s) { return s.applies == 2; }, kWait));
  EXPECT_EQ(client.status().applied_version, next.version());
  EXPECT_EQ(client.status().last_nack, error);  // the last rejection stays visible
  EXPECT_EQ(rec.calls(), 3);
}

TEST_F(XdsClientTest, PersistedSnapshotIsLoadedWithoutControlPlane) {
  const std::string state = dir_ + "/state";  // created by the first persist
  snapshot::v1::Snapshot last;
  {
    Recorder rec;
    XdsClient client(Options("node-4", state), rec.fn());
    EXPECT_EQ(client.LoadPersisted().code(), absl::StatusCode::kNotFound);
    client.Start();
    rec.WaitForApplied(1);
    Append({Updated("stream-c")});
    last = rec.WaitForApplied(2);
    client.Stop();  // joins the thread and waits for the snapshot writer
  }
  KillControlPlane();
  EXPECT_FALSE(std::filesystem::exists(state + "/snapshot.pb.tmp"));

  Recorder rec;
  XdsClient again(Options("node-4", state), rec.fn());
  ASSERT_TRUE(again.LoadPersisted().ok());
  EXPECT_EQ(rec.calls(), 1);
  EXPECT_TRUE(Same(rec.WaitForApplied(1), last)) << rec.WaitForApplied(1).DebugString();
  XdsStatus st = again.status();
  EXPECT_EQ(st.applied_version, last.version());
  EXPECT_EQ(st.applies, 1u);
  EXPECT_FALSE(st.connected);

  // A rejecting data plane gets the error, naming the file.
  Recorder refusing;
  refusing.set_reject("cannot compile");
  XdsClient refused(Options("node-4", state), refusing.fn());
  absl::Status rs = refused.LoadPersisted();
  EXPECT_FALSE(rs.ok());
  EXPECT_NE(rs.message().find(refused.persisted_path()), absl::string_view::npos) << rs;
  EXPECT_NE(rs.message().find("cannot compile"), absl::string_view::npos) << rs;
  EXPECT_EQ(refused.status().applied_version, "");

  std::ofstream(again.persisted_path(), std::ios::trunc) << "not a snapshot";
  Recorder fresh;
  XdsClient corrupt(Options("node-4", state), fresh.fn());
  absl::Status cs = corrupt.LoadPersisted();
  EXPECT_FALSE(cs.ok());
  EXPECT_NE(cs.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(cs.message().find(state + "/snapshot.pb"), absl::string_view::npos) << cs;
  EXPECT_EQ(fresh.calls(), 0);
  EXPECT_EQ(corrupt.status().applied_version, "");
}

TEST_F(XdsClientTest, ReconnectAfterControlPlaneRestartReceivesDeltas) {
  const std::string state = dir_ + "/state";
  snapshot::v1::Snapshot before;
  {
    // The same client across a kill -9 and restart of the control plane.
    Recorder rec;
    XdsClient client(Options("node-5", state), rec.fn());
    client.Start();
    rec.WaitForApplied(1);
    Append({Updated("stream-c")});
    rec.WaitForApplied(2);
    KillControlPlane();
    ASSERT_TRUE(client.AwaitStatus(
        [](const XdsStatus& s) { return !s.connected && s.reconnects >= 2; }, kWait));
    StartControlPlane();
    // Same state after the restart, so nothing is due until this change.
    Append({Updated("stream-e")});
    before = rec.WaitForApplied(3);
    EXPECT_EQ(Names(before), (std::vector<std::string>{"app/file-a", "app/file-b", "app/stream-c",
                                                       "app/stream-e"}));
    EXPECT_TRUE(Same(before, ServerSnapshot())) << before.DebugString();
    ASSERT_TRUE(client.AwaitStatus([](const XdsStatus& s) { return s.applies == 3; }, kWait));
    EXPECT_FALSE(client.status().last_full_state);
    EXPECT_EQ(client.status().responses, 3u);
  }

  // A restarted data plane: persisted state first, then a delta once the control plane is back.
  KillControlPlane();
  Recorder rec;
  XdsClient client(Options("node-5", state), rec.fn());
  ASSERT_TRUE(client.LoadPersisted().ok());
  client.Start();
  ASSERT_TRUE(client.AwaitStatus([](const XdsStatus& s) { return s.reconnects >= 1; }, kWait));
  StartControlPlane();
  ASSERT_TRUE(client.AwaitStatus([](const XdsStatus& s) { return s.connected; }, kWait));
  admin::v1::NodeStatus during;
  rec.set_during_apply([&] { during = Node("node-5"); });
  Append({Updated("stream-f")});
  snapshot::v1::Snapshot after = rec.WaitForApplied(2);
  EXPECT_EQ(Names(after), (std::vector<std::string>{"app/file-a", "app/file-b", "app/stream-c",
                                                    "app/stream-e", "app/stream-f"}));
  EXPECT_TRUE(Same(after, ServerSnapshot())) << after.DebugString();
  ASSERT_TRUE(client.AwaitStatus([](const XdsStatus& s) { return s.applies == 2; }, kWait));
  XdsStatus st = client.status();
  EXPECT_EQ(st.responses, 1u);
  EXPECT_FALSE(st.last_full_state);  // the first response of this client was a delta
  EXPECT_EQ(during.last_acked_version(), before.version());  // from its first request
}

TEST_F(XdsClientTest, StopReturnsWhileConnectedAndWhileBackingOff) {
  {
    Recorder rec;
    XdsClient client(Options("node-6"), rec.fn());
    client.Start();
    rec.WaitForApplied(1);
    ASSERT_TRUE(client.AwaitStatus([](const XdsStatus& s) { return s.connected; }, kWait));
    client.Stop();  // blocked in Read
    EXPECT_FALSE(client.status().connected);
  }
  {
    Recorder rec;
    XdsClientOptions o = Options("node-7");
    o.controlplane = absl::StrCat("127.0.0.1:", testing::PickFreeLoopbackPort());  // nobody listens
    o.initial_backoff = o.max_backoff = absl::Minutes(10);
    XdsClient client(o, rec.fn());
    client.Start();
    ASSERT_TRUE(client.AwaitStatus([](const XdsStatus& s) { return s.reconnects >= 1; }, kWait));
    client.Stop();  // waiting out a 10-minute backoff
    EXPECT_EQ(rec.calls(), 0);
    EXPECT_FALSE(client.status().connected);
  }
  {
    Recorder rec;
    XdsClient never_started(Options("node-8"), rec.fn());
    never_started.Stop();
  }
}

// Two replicas serving the same inputs build the same snapshot versions, so a node whose
// replica dies moves to the other one without a full-state resend, and gets deltas there.
TEST_F(XdsClientTest, FailsOverToAnotherReplicaAndReceivesDeltasOnly) {
  auto second = testing::StartTestControlPlane("127.0.0.1:0", dir_ + "/data2",
                                               {"--apps_file=" + dir_ + "/applications.json"},
                                               dir_ + "/controlplane2.log");
  ASSERT_TRUE(second.ok()) << second.status();
  std::unique_ptr<Subprocess> cp2 = std::move(second->process);
  Recorder rec;
  XdsClientOptions o = Options("node-9");
  o.controlplane = absl::StrCat(grpc_addr_, ",", second->grpc_address);
  XdsClient client(o, rec.fn());
  client.Start();
  const snapshot::v1::Snapshot first = rec.WaitForApplied(1);
  ASSERT_TRUE(client.AwaitStatus([](const XdsStatus& s) { return s.connected; }, kWait));
  const std::string on = client.status().controlplane;
  ASSERT_TRUE(on == grpc_addr_ || on == second->grpc_address) << on;
  const std::string other = on == grpc_addr_ ? second->grpc_address : grpc_addr_;

  const absl::Time killed = absl::Now();
  if (on == grpc_addr_) {
    KillControlPlane();
  } else {
    cp2->Signal(SIGKILL);
    cp2.reset();
  }
  ASSERT_TRUE(client.AwaitStatus(
      [&](const XdsStatus& s) { return s.connected && s.controlplane == other; }, kWait));
  const absl::Duration failover = absl::Now() - killed;
  std::printf("failover to the other replica took %.1f ms\n", absl::ToDoubleMilliseconds(failover));
  EXPECT_LT(failover, absl::Seconds(1));
  XdsStatus st = client.status();
  EXPECT_EQ(st.failovers, 1u);
  EXPECT_FALSE(st.replica_id.empty());  // the replica announced itself
  EXPECT_EQ(st.responses, 1u);  // the versions matched: nothing was resent
  EXPECT_EQ(st.full_states, 1u);

  // A change both replicas see (the shared applications.json) arrives as a delta.
  std::ofstream(dir_ + "/applications.json")
      << absl::StrCat(R"({"apps":[)", AppJson("file-a"), ",", AppJson("file-b"), ",", AppJson("file-c"), "]}");
  const snapshot::v1::Snapshot next = rec.WaitForApplied(2);
  EXPECT_EQ(Names(next), (std::vector<std::string>{"app/file-a", "app/file-b", "app/file-c"}));
  ASSERT_TRUE(client.AwaitStatus([](const XdsStatus& s) { return s.applies == 2; }, kWait));
  st = client.status();
  EXPECT_EQ(st.full_states, 1u);
  EXPECT_FALSE(st.last_full_state);
  EXPECT_NE(first.version(), next.version());
}

// A name stands for every address it resolves to; "localhost" reaches the IPv4 listener even
// when it also resolves to ::1, where nobody listens.
TEST_F(XdsClientTest, ResolvesANameToItsAddresses) {
  Recorder rec;
  XdsClientOptions o = Options("node-10");
  o.controlplane = absl::StrCat("localhost:", grpc_addr_.substr(grpc_addr_.rfind(':') + 1));
  XdsClient client(o, rec.fn());
  client.Start();
  rec.WaitForApplied(1);
  ASSERT_TRUE(client.AwaitStatus([](const XdsStatus& s) { return s.connected; }, kWait));
  EXPECT_EQ(client.status().controlplane, absl::StrCat("ipv4:", grpc_addr_));
}

}  // namespace
}  // namespace edgerouter::xds
