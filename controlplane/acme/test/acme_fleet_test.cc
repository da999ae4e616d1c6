// ACME in the product, end to end with real processes on loopback: pebble (and its fake DNS), a
// control plane with --acme_directory, two data planes with the KEK. Apps appear → pebble
// validates HTTP-01 on whichever data plane its DNS names (a.example.test → 127.0.0.1, the
// first; b.example.test → 127.0.0.2, the second), both on plain HTTP although the apps redirect
// to HTTPS → certificates on the certbus stream → both data planes serve both over TLS (SNI),
// the chain verified up to pebble's root, without a restart. cert ls states, metrics, a regexp
// frontend skipped, an unknown token routed as usual.
#include <signal.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_cat.h"
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
namespace {

std::string Sh(const std::string& command) {
  auto p = Subprocess::Start({"/bin/sh", "-c", command + "; echo EXIT=$?"});
  if (!p.ok()) return p.status().ToString();
  (void)(*p)->Wait(absl::Seconds(60));
  return (*p)->Output();
}

std::string LogField(const std::string& line, const std::string& key) {
  const size_t at = line.find(" " + key + "=");
  if (at == std::string::npos) return "";
  const size_t start = at + key.size() + 2;
  return line.substr(start, line.find(' ', start) - start);
}

int PortOf(const std::string& line, const std::string& key) {
  const std::string v = LogField(line, key);
  return v.empty() ? 0 : std::stoi(v.substr(v.rfind(':') + 1));
}

std::string App(const std::string& id, const std::string& frontend) {
  return absl::StrCat(R"({"id":")", id, R"(","frontends":[)", frontend,
                      R"(],"backend":{"kind":"redirect","redirect_opts":{"to":"https://elsewhere.test/"}}})");
}

// One TLS handshake to 127.0.0.1:`port` with SNI `sni`, verifying the chain up to `ctx`'s
// trust: the leaf's SHA-256 (hex), or why it failed.
absl::StatusOr<std::string> VerifiedLeaf(SSL_CTX* ctx, int port, const std::string& sni) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError("connect");
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, sni.c_str());
  SSL_set1_host(ssl, sni.c_str());
  absl::StatusOr<std::string> result = absl::InternalError("handshake failed");
  if (SSL_connect(ssl) == 1 && SSL_get_verify_result(ssl) == X509_V_OK) {
    X509* leaf = SSL_get1_peer_certificate(ssl);
    unsigned char md[32];
    unsigned int n = 0;
    X509_digest(leaf, EVP_sha256(), md, &n);
    X509_free(leaf);
    result = absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(md), n));
    SSL_shutdown(ssl);
  } else {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    result = absl::InternalError(absl::StrCat(buf, " verify=", SSL_get_verify_result(ssl)));
  }
  ERR_clear_error();
  SSL_free(ssl);
  close(fd);
  return result;
}

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
    admin_ = admin::Admin::NewStub(grpc::CreateChannel(cp_.grpc_address, grpc::InsecureChannelCredentials()));
    StartDataplane(0, "127.0.0.1");
    StartDataplane(1, "127.0.0.2");
    for (Dataplane& dp : dps_) ASSERT_TRUE(dp.process->WaitForLine("config published", absl::Seconds(20)).ok());
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

  admin::ListAcmeNamesResponse AcmeNames() {
    admin::ListAcmeNamesResponse r;
    grpc::ClientContext context;
    EXPECT_TRUE(admin_->ListAcmeNames(&context, admin::ListAcmeNamesRequest(), &r).ok());
    return r;
  }

  std::string StateOf(const admin::ListAcmeNamesResponse& r, const std::string& name) {
    for (const auto& n : r.names()) {
      if (n.name() == name) return n.state();
    }
    return "";
  }

  // Waits until `name` is issued per the control plane; the states seen on timeout otherwise.
  void AwaitIssued(const std::string& name) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    admin::ListAcmeNamesResponse r;
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
  std::unique_ptr<admin::Admin::Stub> admin_;
  std::vector<Dataplane> dps_;
  std::unique_ptr<EtcdCluster> etcd_;
  std::vector<TestControlPlane> replicas_;
};

TEST_F(AcmeFleet, AppsGetCertificatesServedByEveryDataPlaneAndValidatedOnWhicheverPebbleReaches) {
  ASSERT_EQ(dps_.size(), 2u);
  // An app appears in applications.json (replaced atomically, as editors and deploys do).
  std::ofstream(dir_ + "/apps.tmp") << R"({"apps":[)"
                                    << App("a", R"({"kind":"hostname","hostname":"a.example.test","path_prefix":"/"})") << ","
                                    << App("c", R"({"kind":"hostname","hostname":"c.example.test","path_prefix":"/"},)"
                                                R"({"kind":"hostname","hostname":"x.internal.test","path_prefix":"/"})")
                                    << "]}";
  std::filesystem::rename(dir_ + "/apps.tmp", dir_ + "/applications.json");
  AwaitIssued("a.example.test");
  // A second app appears (through the Admin API this time) with a name on the other node, and
  // a regexp frontend that HTTP-01 cannot serve.
  {
    admin::PutAppRequest put;
    put.set_application_json(App("b", R"({"kind":"hostname","hostname":"b.example.test","path_prefix":"/"},)"
                                      R"({"kind":"hostname_regexp","hostname_regexp":"{sub:[a-z]+}.wild.test","path_prefix":"/"})"));
    admin::PutAppResponse response;
    grpc::ClientContext context;
    grpc::Status s = admin_->PutApp(&context, put, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  AwaitIssued("b.example.test");

  const absl::StatusOr<std::string> root = pebble_->FetchRootPem();
  ASSERT_TRUE(root.ok()) << root.status();
  std::ofstream(dir_ + "/root.pem") << *root;
  for (const Dataplane& dp : dps_) {
    for (const std::string name : {"a.example.test", "b.example.test"}) {
      const std::string out = AwaitServed(dp, name, dir_ + "/root.pem");
      EXPECT_TRUE(absl::StrContains(out, "CN = " + name) || absl::StrContains(out, "CN=" + name) ||
                  absl::StrContains(out, "Verification: OK"))
          << out;
    }
  }
  // pebble validated a on the first data plane and b on the second, over plain HTTP, although
  // both apps redirect plain HTTP to HTTPS.
  auto validations = [&](int index) {
    const std::string log = ReadFileOrDie(dps_[index].access_log);
    int n = 0;
    for (size_t at = log.find("/.well-known/acme-challenge/"); at != std::string::npos;
         at = log.find("/.well-known/acme-challenge/", at + 1)) {
      const size_t line_start = log.rfind('\n', at) + 1;
      const std::string line = log.substr(line_start, log.find('\n', at) - line_start);
      if (absl::StrContains(line, "\"status\":200") && absl::StrContains(line, "\"tls\":false")) ++n;
    }
    return n;
  };
  EXPECT_GE(validations(0), 1) << ReadFileOrDie(dps_[0].access_log);
  EXPECT_GE(validations(1), 1) << ReadFileOrDie(dps_[1].access_log);
  EXPECT_TRUE(absl::StrContains(ReadFileOrDie(dps_[0].access_log), "a.example.test"));
  EXPECT_TRUE(absl::StrContains(ReadFileOrDie(dps_[1].access_log), "b.example.test"));

  // Tokens are withdrawn once validated; an unknown token is routed as any other request (the
  // app redirects it to HTTPS).
  HttpResponse unknown = Get(http_port_, "a.example.test", "/.well-known/acme-challenge/not-a-token");
  EXPECT_EQ(unknown.status, 307) << unknown.head;

  // c.example.test fails with pebble's reason, retried with backoff; the others were unaffected.
  admin::ListAcmeNamesResponse r;
  for (absl::Time deadline = absl::Now() + absl::Seconds(30); absl::Now() < deadline;) {
    r = AcmeNames();
    bool retried = false;
    for (const auto& n : r.names()) retried |= n.name() == "c.example.test" && n.failures() >= 2;
    if (retried) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(r.enabled());
  EXPECT_TRUE(r.issuer_here());
  EXPECT_EQ(r.certificates_issued(), 2);
  EXPECT_EQ(StateOf(r, "{sub:[a-z]+}.wild.test"), "skipped") << r.DebugString();
  EXPECT_EQ(StateOf(r, "x.internal.test"), "excluded") << r.DebugString();
  for (const auto& n : r.names()) {
    if (n.state() == "issued") {
      EXPECT_GT(n.not_after_unix(), absl::ToUnixSeconds(absl::Now()));
      EXPECT_EQ(n.failures(), 0) << n.DebugString();
    }
    if (n.name() == "c.example.test") {
      EXPECT_EQ(n.state(), "failing");
      EXPECT_GE(n.failures(), 2) << n.DebugString();
      EXPECT_TRUE(absl::StrContains(n.detail(), "urn:ietf:params:acme:error:connection")) << n.detail();
      EXPECT_TRUE(absl::StrContains(n.detail(), "127.0.0.3")) << n.detail();
      EXPECT_GT(n.retry_at_unix(), 0);
    }
  }
  // No challenge is left in the snapshot once the orders are done.
  {
    admin::GetSnapshotResponse snap;
    grpc::ClientContext context;
    ASSERT_TRUE(admin_->GetSnapshot(&context, admin::GetSnapshotRequest(), &snap).ok());
    int certs = 0;
    for (const auto& res : snap.snapshot().resources()) {
      EXPECT_FALSE(res.has_acme_challenge()) << res.name();
      certs += res.has_certificate();
    }
    EXPECT_EQ(certs, 2);
  }
  // edgerouterctl cert ls: the two certificates, then the ACME table with every state.
  const std::string ls = Sh(absl::StrCat(RunfilePath("controlplane/edgerouterctl"), " --controlplane=", cp_.grpc_address,
                                         " cert ls 2>&1"));
  EXPECT_TRUE(absl::StrContains(ls, "EXIT=0")) << ls;
  EXPECT_TRUE(absl::StrContains(ls, "ACME " + pebble_->directory_url())) << ls;
  for (const std::string want : {"a.example.test", "b.example.test", "issued", "failing", "excluded", "skipped",
                                 "urn:ietf:params:acme:error:connection", "app:c"}) {
    EXPECT_TRUE(absl::StrContains(ls, want)) << want << " missing in:\n" << ls;
  }
  std::printf("%s", ls.c_str());
  // Metrics.
  const std::string port = cp_.http_address.substr(cp_.http_address.rfind(':') + 1);
  HttpResponse metrics = Get(std::stoi(port), "127.0.0.1", "/metrics");
  EXPECT_TRUE(absl::StrContains(metrics.body, "er_cp_acme_certificates_issued 2")) << metrics.body;
  EXPECT_TRUE(absl::StrContains(metrics.body, "er_cp_acme_names_issued 2")) << metrics.body;
  EXPECT_TRUE(absl::StrContains(metrics.body, "er_cp_acme_names_skipped 1")) << metrics.body;
  EXPECT_TRUE(absl::StrContains(metrics.body, "er_cp_acme_names_excluded 1")) << metrics.body;
  EXPECT_TRUE(absl::StrContains(metrics.body, "er_cp_acme_names_failing 1")) << metrics.body;
  EXPECT_TRUE(absl::StrContains(metrics.body, "er_cp_acme_issuer_active 1")) << metrics.body;
  // The account key was made once and kept in the acme stream, never in a snapshot.
  {
    admin::ReadStreamRequest read;
    read.set_stream("/t-1/acme");
    admin::ReadStreamResponse stream;
    grpc::ClientContext context;
    ASSERT_TRUE(admin_->ReadStream(&context, read, &stream).ok());
    int keys = 0;
    for (const auto& e : stream.entries()) {
      for (const std::string& line : e.lines()) keys += absl::StrContains(line, " AcmeAccountKeyCreated ");
    }
    EXPECT_EQ(keys, 1);
  }
}

// Two replicas on etcd, each with one data plane of its own. Whichever replica holds the duties
// lease issues; the challenge for b reaches the data plane on the other replica through the
// acme stream, so both names are validated. Both replicas build the same snapshot. Then the
// holder stops; the other replica takes the issuer over and issues a new name.
class AcmeCluster : public AcmeFleet {
 protected:
  void SetUp() override {
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
    StartDataplaneOn(0, "127.0.0.1", replicas_[0].grpc_address);
    StartDataplaneOn(1, "127.0.0.2", replicas_[1].grpc_address);
    for (Dataplane& dp : dps_) ASSERT_TRUE(dp.process->WaitForLine("config published", absl::Seconds(20)).ok());
  }

  std::unique_ptr<admin::Admin::Stub> Stub(int r) {
    return admin::Admin::NewStub(grpc::CreateChannel(replicas_[r].grpc_address, grpc::InsecureChannelCredentials()));
  }
  std::string SnapshotVersion(int r) {
    admin::GetSnapshotResponse snap;
    grpc::ClientContext context;
    if (!Stub(r)->GetSnapshot(&context, admin::GetSnapshotRequest(), &snap).ok()) return "";
    return snap.snapshot().version();
  }
};

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
    admin::PutAppRequest put;
    put.set_application_json(App("next", absl::StrCat(R"({"kind":"hostname","hostname":")", next, R"(","path_prefix":"/"})")));
    admin::PutAppResponse response;
    grpc::ClientContext context;
    grpc::Status s = admin_->PutApp(&context, put, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  AwaitIssued(next);
  const admin::ListAcmeNamesResponse r = AcmeNames();
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

// pebble issues 15-second certificates: the issuer renews at two thirds (~10 s) and both data
// planes switch to the new certificate while handshakes run against them without pause; not one
// handshake fails or sees an unverifiable chain.
class AcmeRenewal : public AcmeFleet {
 protected:
  void SetUp() override {
    validity_ = absl::Seconds(15);
    AcmeFleet::SetUp();
  }
};

TEST_F(AcmeRenewal, RenewedUnderHandshakeLoadWithZeroFailures) {
  std::ofstream(dir_ + "/apps.tmp") << R"({"apps":[)"
                                    << App("a", R"({"kind":"hostname","hostname":"a.example.test","path_prefix":"/"})") << "]}";
  std::filesystem::rename(dir_ + "/apps.tmp", dir_ + "/applications.json");
  AwaitIssued("a.example.test");
  const absl::StatusOr<std::string> root = pebble_->FetchRootPem();
  ASSERT_TRUE(root.ok()) << root.status();
  std::ofstream(dir_ + "/root.pem") << *root;
  for (const Dataplane& dp : dps_) AwaitServed(dp, "a.example.test", dir_ + "/root.pem");

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ASSERT_EQ(SSL_CTX_load_verify_locations(ctx, (dir_ + "/root.pem").c_str(), nullptr), 1);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  std::atomic<bool> stop{false};
  absl::Mutex mu;
  int ok = 0;
  std::vector<std::string> failures;
  std::vector<std::set<std::string>> leaves(dps_.size());
  std::vector<std::thread> load;
  for (size_t i = 0; i < dps_.size(); ++i) {
    load.emplace_back([&, i] {
      while (!stop) {
        absl::StatusOr<std::string> leaf = VerifiedLeaf(ctx, dps_[i].https_port, "a.example.test");
        absl::MutexLock lock(&mu);
        if (leaf.ok()) {
          ++ok;
          leaves[i].insert(*leaf);
        } else {
          failures.push_back(std::string(leaf.status().message()));
        }
      }
    });
  }
  // Until both data planes served a renewed certificate (or a minute has passed).
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    {
      absl::MutexLock lock(&mu);
      if (leaves[0].size() >= 2 && leaves[1].size() >= 2) break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  stop = true;
  for (std::thread& t : load) t.join();
  SSL_CTX_free(ctx);
  absl::MutexLock lock(&mu);
  EXPECT_GE(leaves[0].size(), 2u) << cp_.process->Output();
  EXPECT_GE(leaves[1].size(), 2u);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed handshakes, first: " << failures[0];
  EXPECT_GT(ok, 100);
  std::printf("renewal under load: %d verified handshakes, %zu failed, leaves %zu/%zu\n", ok, failures.size(),
              leaves[0].size(), leaves[1].size());
  // The data planes may serve the renewal before the issuer has counted it.
  admin::ListAcmeNamesResponse r;
  for (absl::Time until = absl::Now() + absl::Seconds(10); absl::Now() < until; absl::SleepFor(absl::Milliseconds(50))) {
    r = AcmeNames();
    if (r.certificates_issued() >= 2) break;
  }
  EXPECT_GE(r.certificates_issued(), 2);
  EXPECT_EQ(r.orders_failed(), 0);
}

// The holder dies mid-order: its data plane is frozen (SIGSTOP: connected, never acknowledging),
// so the holder waits in the middle of the order with the order recorded and its challenges in
// the acme stream; then it is killed (SIGKILL: the lease expires after its TTL). The other replica
// takes the lease over, continues the recorded order (no second AcmeOrderStarted for the name),
// its own data plane answers pebble, and the certificate is issued.
class AcmeTakeover : public AcmeCluster {
 protected:
  void SetUp() override {
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
    admin::ReadStreamRequest read;
    read.set_stream("/t-1/acme");
    admin::ReadStreamResponse stream;
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
  const admin::ListAcmeNamesResponse r = AcmeNames();
  EXPECT_TRUE(r.issuer_here());
  EXPECT_EQ(r.orders_failed(), 0);
  EXPECT_EQ(CountInAcmeStream(other, " AcmeOrderStarted "), 1) << "a second order was made";
  EXPECT_EQ(CountInAcmeStream(other, " AcmeOrderEnded "), 1);
  const std::string port = replicas_[other].http_address.substr(replicas_[other].http_address.rfind(':') + 1);
  HttpResponse metrics = Get(std::stoi(port), "127.0.0.1", "/metrics");
  EXPECT_TRUE(absl::StrContains(metrics.body, "er_cp_acme_orders_resumed 1")) << metrics.body;
  EXPECT_TRUE(absl::StrContains(ReadFileOrDie(dps_[1].access_log), "/.well-known/acme-challenge/"));
  const absl::StatusOr<std::string> root = pebble_->FetchRootPem();
  ASSERT_TRUE(root.ok()) << root.status();
  std::ofstream(dir_ + "/root.pem") << *root;
  AwaitServed(dps_[1], "b.example.test", dir_ + "/root.pem");
}

}  // namespace
}  // namespace edgerouter::testing
