// The ACME fleet tests' fixture: pebble (and its fake DNS: a.example.test → 127.0.0.1,
// b.example.test → 127.0.0.2, c.example.test → 127.0.0.3), a KEK made by openssl, a control plane
// with --acme_directory (or two replicas on etcd) and two data planes whose plain HTTP listeners
// share one port on 127.0.0.1 and 127.0.0.2 (pebble's httpPort).
#ifndef EDGEROUTER_CONTROLPLANE_ACME_TEST_ACME_FLEET_FIXTURE_H_
#define EDGEROUTER_CONTROLPLANE_ACME_TEST_ACME_FLEET_FIXTURE_H_

#include <openssl/ssl.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "controlplane/acme/test/pebble_harness.h"
#include "controlplane/eventlog/etcd/test/etcd_cluster.h"
#include "controlplane/test/test_controlplane.h"
#include "dataplane/test/http_test_client.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter::testing {

// `command` through /bin/sh; its output followed by "EXIT=<code>".
std::string Sh(const std::string& command);
// `key=value` of a log line ("" if absent), and the port of a host:port value.
std::string LogField(const std::string& line, const std::string& key);
int PortOf(const std::string& line, const std::string& key);
// A redirect app with one or more frontends (JSON objects, comma-separated).
std::string App(const std::string& id, const std::string& frontend);
// One TLS handshake to 127.0.0.1:`port` with SNI `sni`, verifying the chain up to `ctx`'s
// trust: the leaf's SHA-256 (hex), or why it failed.
absl::StatusOr<std::string> VerifiedLeaf(SSL_CTX* ctx, int port, const std::string& sni);

struct Dataplane {
  std::unique_ptr<Subprocess> process;
  int https_port = 0;
  std::string access_log;
};

class AcmeFleet : public ::testing::Test {
 protected:
  void SetUp() override {
    StartPebble();
    if (HasFatalFailure()) return;
    auto cp = StartTestControlPlane("127.0.0.1:0", dir_ + "/cp", AcmeFlags(), dir_ + "/cp.log");
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = *std::move(cp);
    admin_ = admin::v1::Admin::NewStub(grpc::CreateChannel(cp_.grpc_address, grpc::InsecureChannelCredentials()));
    StartDataplane(0, "127.0.0.1");
    StartDataplane(1, "127.0.0.2");
    for (Dataplane& dp : dps_) ASSERT_TRUE(dp.process->WaitForLine("config published", absl::Seconds(20)).ok());
  }

  // Pebble, a one-member etcd and two control-plane replicas on it.
  void StartReplicas() {
    StartPebble();
    if (HasFatalFailure()) return;
    auto etcd = EtcdCluster::Start(dir_ + "/etcd", 1);
    ASSERT_TRUE(etcd.ok()) << etcd.status();
    etcd_ = *std::move(etcd);
    for (int r = 0; r < 2; ++r) {
      std::vector<std::string> flags = AcmeFlags();
      flags.insert(flags.end(), {"--event_log=etcd", "--etcd_endpoints=" + etcd_->endpoints(),
                                 absl::StrCat("--replica_id=cp-", r)});
      auto cp = StartTestControlPlane("127.0.0.1:0", absl::StrCat(dir_, "/cp", r), flags,
                                      absl::StrCat(dir_, "/cp", r, ".log"));
      ASSERT_TRUE(cp.ok()) << cp.status();
      replicas_.push_back(*std::move(cp));
    }
  }

  std::vector<std::string> AcmeFlags() {
    return {"--apps_file=" + dir_ + "/applications.json", "--acme_directory=" + pebble_->directory_url(),
            "--acme_ca_file=" + pebble_->ca_file(), "--acme_kek_public=" + dir_ + "/kek.pub",
            "--acme_email=ops@example.test", "--acme_poll_ms=100", "--acme_backoff_s=1", "--tenant=1",
            "--acme_exclude=*.internal.test"};
  }

  void StartPebble() {
    char tmpl[] = "/tmp/er-acme-fleet-XXXXXX";
    dir_ = mkdtemp(tmpl);
    const std::string keys = Sh(absl::StrCat("cd ", dir_, " && openssl genrsa -traditional -out kek.pem 2048 2>&1",
                                             " && openssl rsa -in kek.pem -pubout -out kek.pub 2>&1"));
    ASSERT_TRUE(absl::StrContains(keys, "EXIT=0")) << keys;
    http_port_ = PickFreeLoopbackPort();  // both data planes' plain HTTP port, on .1 and .2
    auto pebble = acme::testing::PebbleHarness::Start(dir_, http_port_, validity_);
    ASSERT_TRUE(pebble.ok()) << pebble.status();
    pebble_ = *std::move(pebble);
    // b.example.test → the second data plane; c.example.test → an address nobody listens on.
    for (const auto& [host, ip] : {std::pair{"b.example.test.", "127.0.0.2"}, std::pair{"c.example.test.", "127.0.0.3"}}) {
      TestConnection cts(pebble_->challtestsrv_management_port());
      const std::string body = absl::StrCat(R"({"host":")", host, R"(","addresses":[")", ip, R"("]})");
      ASSERT_TRUE(cts.Send(absl::StrCat("POST /add-a HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ", body.size(),
                                        "\r\nConnection: close\r\n\r\n", body)));
      ASSERT_EQ(cts.Read().status, 200);
    }

    // No app yet: the names appear once the data planes are up.
    std::ofstream(dir_ + "/applications.json") << R"({"apps":[]})";
  }

  void TearDown() override {
    for (Dataplane& dp : dps_) dp.process.reset();
    cp_.process.reset();
    for (auto& r : replicas_) r.process.reset();
    etcd_.reset();
    pebble_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartDataplane(int index, const std::string& http_host) { StartDataplaneOn(index, http_host, cp_.grpc_address); }
  void StartDataplaneOn(int index, const std::string& http_host, const std::string& controlplane) {
    Dataplane dp;
    dp.access_log = absl::StrCat(dir_, "/access-", index, ".log");
    auto p = Subprocess::Start(
        {RunfilePath("dataplane/dataplane"), "--controlplane=" + controlplane,
         absl::StrCat("--http_listen=", http_host, ":", http_port_), "--https_listen=127.0.0.1:0",
         "--admin_listen=127.0.0.1:0", "--workers=2", absl::StrCat("--node_id=dp-", index),
         absl::StrCat("--state_dir=", dir_, "/dp-state-", index), "--access_log=" + dp.access_log,
         "--certbus_private_key=" + dir_ + "/kek.pem"},
        absl::StrCat(dir_, "/dataplane-", index, ".log"));
    ASSERT_TRUE(p.ok()) << p.status();
    dp.process = *std::move(p);
    auto ready = dp.process->WaitForLine("data plane ready", absl::Seconds(20));
    ASSERT_TRUE(ready.ok()) << ready.status() << dp.process->Output();
    dp.https_port = PortOf(*ready, "https");
    dps_.push_back(std::move(dp));
  }

  admin::v1::ListAcmeNamesResponse AcmeNames() {
    admin::v1::ListAcmeNamesResponse r;
    grpc::ClientContext context;
    EXPECT_TRUE(admin_->ListAcmeNames(&context, admin::v1::ListAcmeNamesRequest(), &r).ok());
    return r;
  }

  std::string StateOf(const admin::v1::ListAcmeNamesResponse& r, const std::string& name) {
    for (const auto& n : r.names()) {
      if (n.name() == name) return n.state();
    }
    return "";
  }

  // Waits until `name` is issued per the control plane; the states seen on timeout otherwise.
  void AwaitIssued(const std::string& name) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    admin::v1::ListAcmeNamesResponse r;
    while (absl::Now() < deadline) {
      r = AcmeNames();
      if (StateOf(r, name) == "issued") return;
      absl::SleepFor(absl::Milliseconds(100));
    }
    FAIL() << name << " not issued: " << r.DebugString() << "\ncontrol plane:\n" << cp_.process->Output()
           << "\npebble:\n" << pebble_->PebbleOutput();
  }

  // openssl s_client with SNI `name` against data plane `dp`, verifying up to pebble's root.
  // Polls: the data plane picks the certificate up from its next snapshot.
  std::string AwaitServed(const Dataplane& dp, const std::string& name, const std::string& root_file) {
    std::string out;
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      out = Sh(absl::StrCat("openssl s_client -connect 127.0.0.1:", dp.https_port, " -servername ", name,
                            " -CAfile ", root_file, " -verify_return_error -verify_hostname ", name,
                            " </dev/null 2>&1"));
      if (absl::StrContains(out, "Verify return code: 0 (ok)")) return out;
      absl::SleepFor(absl::Milliseconds(200));
    }
    ADD_FAILURE() << name << " on " << dp.https_port << ":\n" << out;
    return out;
  }

  std::string dir_;
  absl::Duration validity_ = absl::ZeroDuration();  // pebble's default (years)
  int http_port_ = 0;
  std::unique_ptr<acme::testing::PebbleHarness> pebble_;
  TestControlPlane cp_;
  std::unique_ptr<admin::v1::Admin::Stub> admin_;
  std::vector<Dataplane> dps_;
  std::unique_ptr<EtcdCluster> etcd_;
  std::vector<TestControlPlane> replicas_;
};


// Two replicas on etcd, each with one data plane of its own. Whichever replica holds the duties
// lease issues; the challenge for b reaches the data plane on the other replica through the
// acme stream, so both names are validated. Both replicas build the same snapshot. Then the
// holder stops; the other replica takes the issuer over and issues a new name.
class AcmeCluster : public AcmeFleet {
 protected:
  void SetUp() override {
    StartReplicas();
    if (HasFatalFailure()) return;
    StartDataplaneOn(0, "127.0.0.1", replicas_[0].grpc_address);
    StartDataplaneOn(1, "127.0.0.2", replicas_[1].grpc_address);
    for (Dataplane& dp : dps_) ASSERT_TRUE(dp.process->WaitForLine("config published", absl::Seconds(20)).ok());
  }

  std::unique_ptr<admin::v1::Admin::Stub> Stub(int r) {
    return admin::v1::Admin::NewStub(grpc::CreateChannel(replicas_[r].grpc_address, grpc::InsecureChannelCredentials()));
  }
  std::string SnapshotVersion(int r) {
    admin::v1::GetSnapshotResponse snap;
    grpc::ClientContext context;
    if (!Stub(r)->GetSnapshot(&context, admin::v1::GetSnapshotRequest(), &snap).ok()) return "";
    return snap.snapshot().version();
  }
};


}  // namespace edgerouter::testing

#endif  // EDGEROUTER_CONTROLPLANE_ACME_TEST_ACME_FLEET_FIXTURE_H_
