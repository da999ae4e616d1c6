// ACME with two control-plane replicas on etcd (controlplane/acme/test/acme_fleet_fixture.h):
// challenges reach the data plane of the replica that does not issue, the issuer moves on
// takeover, and a replica taking over mid-order continues the recorded order.
#include "controlplane/acme/test/acme_fleet_fixture.h"

namespace edgerouter::testing {
namespace {

TEST_F(AcmeCluster, ChallengesReachDataPlanesOnEveryReplicaAndTheIssuerMovesOnTakeover) {
  ASSERT_EQ(dps_.size(), 2u);
  std::ofstream(dir_ + "/apps.tmp") << R"({"apps":[)"
                                    << App("a", R"({"kind":"hostname","hostname":"a.example.test","path_prefix":"/"})") << ","
                                    << App("b", R"({"kind":"hostname","hostname":"b.example.test","path_prefix":"/"})")
                                    << "]}";
  std::filesystem::rename(dir_ + "/apps.tmp", dir_ + "/applications.json");
  // Which replica issues.
  int holder = -1;
  for (absl::Time deadline = absl::Now() + absl::Seconds(20); holder < 0 && absl::Now() < deadline;) {
    for (int r = 0; r < 2; ++r) {
      admin_ = Stub(r);
      if (AcmeNames().issuer_here()) holder = r;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_GE(holder, 0);
  admin_ = Stub(holder);
  AwaitIssued("a.example.test");
  AwaitIssued("b.example.test");
  EXPECT_EQ(AcmeNames().orders_failed(), 0);
  // Each name was validated on its own data plane: one of them is on the replica that does not issue.
  EXPECT_TRUE(absl::StrContains(ReadFileOrDie(dps_[0].access_log), "/.well-known/acme-challenge/"));
  EXPECT_TRUE(absl::StrContains(ReadFileOrDie(dps_[1].access_log), "/.well-known/acme-challenge/"));
  // Equal inputs, equal snapshots on both replicas.
  std::string v0, v1;
  for (absl::Time deadline = absl::Now() + absl::Seconds(10); absl::Now() < deadline;) {
    v0 = SnapshotVersion(0);
    v1 = SnapshotVersion(1);
    if (!v0.empty() && v0 == v1) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(v0, v1);

  // The holder stops (its lease is given up); the other replica issues the next name, validated
  // on its own data plane (dp-<other>: a name on 127.0.0.1 for dp-0, on 127.0.0.2 for dp-1).
  const int other = 1 - holder;
  replicas_[holder].process->Signal(SIGTERM);  // returns once it has exited
  const std::string next = other == 0 ? "d.example.test" : "b2.example.test";
  if (other == 1) {
    TestConnection cts(pebble_->challtestsrv_management_port());
    const std::string body = R"({"host":"b2.example.test.","addresses":["127.0.0.2"]})";
    ASSERT_TRUE(cts.Send(absl::StrCat("POST /add-a HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ", body.size(),
                                      "\r\nConnection: close\r\n\r\n", body)));
    ASSERT_EQ(cts.Read().status, 200);
  }
  admin_ = Stub(other);
  {
    admin::v1::PutAppRequest put;
    put.set_application_json(App("next", absl::StrCat(R"({"kind":"hostname","hostname":")", next, R"(","path_prefix":"/"})")));
    admin::v1::PutAppResponse response;
    grpc::ClientContext context;
    grpc::Status s = admin_->PutApp(&context, put, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  AwaitIssued(next);
  const admin::v1::ListAcmeNamesResponse r = AcmeNames();
  EXPECT_TRUE(r.issuer_here());
  EXPECT_EQ(r.certificates_issued(), 1);  // only the new name: a and b were not ordered again
  EXPECT_EQ(StateOf(r, "a.example.test"), "issued");
  EXPECT_EQ(StateOf(r, "b.example.test"), "issued");
  const absl::StatusOr<std::string> root = pebble_->FetchRootPem();
  ASSERT_TRUE(root.ok()) << root.status();
  std::ofstream(dir_ + "/root.pem") << *root;
  AwaitServed(dps_[other], next, dir_ + "/root.pem");
  AwaitServed(dps_[other], "a.example.test", dir_ + "/root.pem");
}

// The holder dies mid-order: its data plane is frozen (SIGSTOP: connected, never acknowledging),
// so the holder waits in the middle of the order with the order recorded and its challenges in
// the acme stream; then it is killed (SIGKILL: the lease expires after its TTL). The other replica
// takes the lease over, continues the recorded order (no second AcmeOrderStarted for the name),
// its own data plane answers pebble, and the certificate is issued.
class AcmeTakeover : public AcmeCluster {
 protected:
  void SetUp() override {
    StartReplicas();
    if (HasFatalFailure()) return;
    for (absl::Time deadline = absl::Now() + absl::Seconds(20); holder_ < 0 && absl::Now() < deadline;) {
      for (int r = 0; r < 2; ++r) {
        admin_ = Stub(r);
        if (AcmeNames().issuer_here()) holder_ = r;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_GE(holder_, 0);
    // dp-0 on the holder (127.0.0.1), dp-1 on the other replica (127.0.0.2, where b.example.test points).
    StartDataplaneOn(0, "127.0.0.1", replicas_[holder_].grpc_address);
    StartDataplaneOn(1, "127.0.0.2", replicas_[1 - holder_].grpc_address);
    for (Dataplane& dp : dps_) ASSERT_TRUE(dp.process->WaitForLine("config published", absl::Seconds(20)).ok());
  }

  int CountInAcmeStream(int replica, const std::string& needle) {
    admin::v1::ReadStreamRequest read;
    read.set_stream("/t-1/acme");
    admin::v1::ReadStreamResponse stream;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    if (grpc::Status s = Stub(replica)->ReadStream(&context, read, &stream); !s.ok()) {
      std::fprintf(stderr, "ReadStream on cp-%d: %s\n", replica, s.error_message().c_str());
      return -1;
    }
    int n = 0;
    for (const auto& e : stream.entries()) {
      for (const std::string& line : e.lines()) n += absl::StrContains(line, needle);
    }
    return n;
  }

  int holder_ = -1;
};

TEST_F(AcmeTakeover, AReplicaTakingOverContinuesTheOpenOrder) {
  ASSERT_EQ(dps_.size(), 2u);
  const int other = 1 - holder_;
  ASSERT_EQ(kill(dps_[0].process->pid(), SIGSTOP), 0);  // Subprocess::Signal would wait for an exit
  std::ofstream(dir_ + "/apps.tmp") << R"({"apps":[)"
                                    << App("b", R"({"kind":"hostname","hostname":"b.example.test","path_prefix":"/"})") << "]}";
  std::filesystem::rename(dir_ + "/apps.tmp", dir_ + "/applications.json");
  // The holder recorded the order and published its challenges, then waits for dp-0's ack.
  for (absl::Time deadline = absl::Now() + absl::Seconds(10);
       CountInAcmeStream(other, " AcmeChallengesPublished ") < 1 && absl::Now() < deadline;) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(CountInAcmeStream(other, " AcmeOrderStarted "), 1);
  ASSERT_EQ(CountInAcmeStream(other, " AcmeChallengesPublished "), 1);
  replicas_[holder_].process->Signal(SIGKILL);  // returns once it is reaped
  kill(dps_[0].process->pid(), SIGCONT);

  admin_ = Stub(other);
  AwaitIssued("b.example.test");
  const admin::v1::ListAcmeNamesResponse r = AcmeNames();
  EXPECT_TRUE(r.issuer_here());
  EXPECT_EQ(r.orders_failed(), 0);
  EXPECT_EQ(CountInAcmeStream(other, " AcmeOrderStarted "), 1) << "a second order was made";
  EXPECT_EQ(CountInAcmeStream(other, " AcmeOrderEnded "), 1);
  const std::string port = replicas_[other].http_address.substr(replicas_[other].http_address.rfind(':') + 1);
  HttpResponse metrics = Get(std::stoi(port), "127.0.0.1", "/metrics");
  EXPECT_TRUE(absl::StrContains(metrics.body, "er_cp_acme_orders_resumed_total 1")) << metrics.body;
  EXPECT_TRUE(absl::StrContains(ReadFileOrDie(dps_[1].access_log), "/.well-known/acme-challenge/"));
  const absl::StatusOr<std::string> root = pebble_->FetchRootPem();
  ASSERT_TRUE(root.ok()) << root.status();
  std::ofstream(dir_ + "/root.pem") << *root;
  AwaitServed(dps_[1], "b.example.test", dir_ + "/root.pem");
}

}  // namespace
}  // namespace edgerouter::testing
