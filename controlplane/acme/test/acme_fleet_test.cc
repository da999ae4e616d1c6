// ACME in the product, end to end with real processes on loopback: pebble (and its fake DNS), a
// control plane with --acme_directory, two data planes with the KEK. Apps appear → pebble
// validates HTTP-01 on whichever data plane its DNS names (a.example.test → 127.0.0.1, the
// first; b.example.test → 127.0.0.2, the second), both on plain HTTP although the apps redirect
// to HTTPS → certificates on the certbus stream → both data planes serve both over TLS (SNI),
// the chain verified up to pebble's root, without a restart. cert ls states, metrics, a regexp
// frontend skipped, an unknown token routed as usual; renewal under handshake load.
#include "controlplane/acme/test/acme_fleet_fixture.h"

namespace edgerouter::testing {
namespace {

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
    admin::v1::PutAppRequest put;
    put.set_application_json(App("b", R"({"kind":"hostname","hostname":"b.example.test","path_prefix":"/"},)"
                                      R"({"kind":"hostname_regexp","hostname_regexp":"{sub:[a-z]+}.wild.test","path_prefix":"/"})"));
    admin::v1::PutAppResponse response;
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
  admin::v1::ListAcmeNamesResponse r;
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
    admin::v1::GetSnapshotResponse snap;
    grpc::ClientContext context;
    ASSERT_TRUE(admin_->GetSnapshot(&context, admin::v1::GetSnapshotRequest(), &snap).ok());
    int certs = 0;
    for (const auto& res : snap.snapshot().resources()) {
      EXPECT_FALSE(res.has_acme_challenge()) << res.name();
      certs += res.has_certificate();
    }
    EXPECT_EQ(certs, 2);
  }
  // edgerouterctl cert ls: the two certificates, then the ACME table with every state.
  const std::string ls = Sh(absl::StrCat(RunfilePath("cli/edgerouterctl"), " --controlplane=", cp_.grpc_address,
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
  EXPECT_TRUE(absl::StrContains(metrics.body, "er_cp_acme_certificates_issued_total 2")) << metrics.body;
  EXPECT_TRUE(absl::StrContains(metrics.body, "er_cp_acme_names_issued 2")) << metrics.body;
  EXPECT_TRUE(absl::StrContains(metrics.body, "er_cp_acme_names_skipped 1")) << metrics.body;
  EXPECT_TRUE(absl::StrContains(metrics.body, "er_cp_acme_names_excluded 1")) << metrics.body;
  EXPECT_TRUE(absl::StrContains(metrics.body, "er_cp_acme_names_failing 1")) << metrics.body;
  EXPECT_TRUE(absl::StrContains(metrics.body, "er_cp_acme_issuer_active 1")) << metrics.body;
  // The account key was made once and kept in the acme stream, never in a snapshot.
  {
    admin::v1::ReadStreamRequest read;
    read.set_stream("/t-1/acme");
    admin::v1::ReadStreamResponse stream;
    grpc::ClientContext context;
    ASSERT_TRUE(admin_->ReadStream(&context, read, &stream).ok());
    int keys = 0;
    for (const auto& e : stream.entries()) {
      for (const std::string& line : e.lines()) keys += absl::StrContains(line, " AcmeAccountKeyCreated ");
    }
    EXPECT_EQ(keys, 1);
  }
  // ...and it is never shown: ReadStream and `stream read` redact it unless asked for, and the
  // control plane's log does not carry it.
  {
    admin::v1::ReadStreamRequest read;
    read.set_stream("/t-1/acme");
    admin::v1::ReadStreamResponse stream;
    grpc::ClientContext context;
    ASSERT_TRUE(admin_->ReadStream(&context, read, &stream).ok());
    EXPECT_FALSE(absl::StrContains(stream.DebugString(), "PRIVATE KEY")) << stream.DebugString();
  }
  const std::string ctl = absl::StrCat(RunfilePath("cli/edgerouterctl"), " --controlplane=", cp_.grpc_address);
  const std::string shown = Sh(ctl + " stream read /t-1/acme 2>&1");
  EXPECT_TRUE(absl::StrContains(shown, "EXIT=0")) << shown;
  EXPECT_TRUE(absl::StrContains(shown, R"(AcmeAccountKeyCreated    {"KeyPem":"[redacted]"})")) << shown;
  EXPECT_FALSE(absl::StrContains(shown, "PRIVATE KEY")) << shown;
  EXPECT_TRUE(absl::StrContains(Sh(ctl + " stream read /t-1/acme --include-secrets 2>&1"), "PRIVATE KEY"));
  EXPECT_FALSE(absl::StrContains(cp_.process->Output(), "PRIVATE KEY"));
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
  admin::v1::ListAcmeNamesResponse r;
  for (absl::Time until = absl::Now() + absl::Seconds(10); absl::Now() < until; absl::SleepFor(absl::Milliseconds(50))) {
    r = AcmeNames();
    if (r.certificates_issued() >= 2) break;
  }
  EXPECT_GE(r.certificates_issued(), 2);
  EXPECT_EQ(r.orders_failed(), 0);
}

}  // namespace
}  // namespace edgerouter::testing
