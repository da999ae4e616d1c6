// The issuer end to end against a real pebble issuing short-lived certificates. The test's HTTP
// server on pebble's validation port plays the data planes (ChallengePublisher); the sink
// collects the CertificateObtained events, whose keys are decrypted with a KEK made by openssl.
#include <atomic>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/certbus/cert_info.h"
#include "common/certbus/certbus.h"
#include "common/http_admin_server.h"
#include "common/test_util.h"
#include "controlplane/acme/acme_issuer.h"
#include "controlplane/acme/test/issuer_test_support.h"
#include "controlplane/acme/test/pebble_harness.h"
#include "gtest/gtest.h"

namespace edgerouter::acme {
namespace {

using testing::Eventually;
using testing::StateOf;
using testing::TestPublisher;
using testing::TestSink;
using testing::ToggleLease;

// pebble's certificates live this long here, so a renewal (at two thirds) comes within seconds.
constexpr absl::Duration kValidity = absl::Seconds(12);

class AcmeIssuerPebbleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = new std::string(absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/issuer-pebble"));
    ASSERT_EQ(system(absl::StrCat("mkdir -p ", *dir_).c_str()), 0);
    ASSERT_EQ(system(absl::StrCat("openssl genrsa -traditional -out ", *dir_, "/kek.pem 2048 2>/dev/null").c_str()), 0);
    http01_ = new admin::HttpAdminServer();
    const int port = edgerouter::testing::PickFreeLoopbackPort();
    ASSERT_TRUE(http01_->Start(absl::StrCat("127.0.0.1:", port)).ok());
    absl::StatusOr<std::unique_ptr<testing::PebbleHarness>> pebble =
        testing::PebbleHarness::Start(*dir_, port, kValidity);
    ASSERT_TRUE(pebble.ok()) << pebble.status();
    pebble_ = pebble->release();
  }
  static void TearDownTestSuite() {
    delete pebble_;
    delete http01_;
    delete dir_;
  }

  static certbus::Kek Kek() {
    absl::StatusOr<certbus::Kek> kek = certbus::LoadKekFromPemFile(*dir_ + "/kek.pem");
    EXPECT_TRUE(kek.ok()) << kek.status();
    return *std::move(kek);
  }

  std::unique_ptr<Issuer> MakeIssuer(ChallengePublisher* publisher, controlplane::Lease* lease,
                                     absl::Duration backoff = absl::Minutes(5)) {
    IssuerOptions options{.client = {.directory_url = pebble_->directory_url(),
                                     .ca_file = pebble_->ca_file(),
                                     .poll_interval = absl::Milliseconds(100),
                                     .poll_max_interval = absl::Seconds(1)},
                          .emails = {"ops@example.test"},
                          .policy = {.backoff_initial = backoff},
                          .order_timeout = absl::Seconds(60),
                          .lease_poll = absl::Milliseconds(200)};
    return std::make_unique<Issuer>(options, Kek().public_key(), &keys_, publisher, &sink_, lease);
  }

  // The event's key decrypts with the KEK and belongs to its certificate, whose chain verifies
  // up to pebble's root.
  static void ExpectUsable(const events::v1::CertificateObtained& e, const std::string& name) {
    certbus::Kek kek = Kek();
    EXPECT_EQ(e.id(), name);
    EXPECT_EQ(e.challenge_type(), "http-01");
    EXPECT_EQ(e.private_key_dek_fingerprint(), kek.fingerprint());
    EXPECT_FALSE(absl::StrContains(e.private_key_ciphertext(), "PRIVATE KEY"));
    absl::StatusOr<std::string> key =
        certbus::DecryptPrivateKey(kek, e.private_key_dek_fingerprint(), e.private_key_ciphertext());
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_TRUE(certbus::VerifyKeyMatchesCertificate(e.cert_pem_bundle(), *key).ok());
    absl::StatusOr<std::string> root = pebble_->FetchRootPem();
    ASSERT_TRUE(root.ok()) << root.status();
    absl::Status verified = testing::PebbleHarness::VerifyChain(e.cert_pem_bundle(), *root);
    EXPECT_TRUE(verified.ok()) << verified;
    absl::StatusOr<certbus::CertificateInfo> info = certbus::ReadCertificateInfo(e.cert_pem_bundle());
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->domains, std::vector<std::string>{name});
    EXPECT_EQ(e.expires(), certbus::FormatRfc3339(info->not_after));
  }

  static inline std::string* dir_ = nullptr;
  static inline admin::HttpAdminServer* http01_ = nullptr;
  static inline testing::PebbleHarness* pebble_ = nullptr;
  MemoryAccountKeyStore keys_;
  TestSink sink_;
};

TEST_F(AcmeIssuerPebbleTest, WantedNameGetsAnEncryptedCertificateAndIsRenewedAtTwoThirds) {
  TestPublisher publisher(http01_);
  controlplane::AlwaysHeldLease lease("test");
  std::unique_ptr<Issuer> issuer = MakeIssuer(&publisher, &lease);
  issuer->SetWantedNames({{"renew.example.test", "app:renew"}});
  issuer->Start();
  ASSERT_TRUE(Eventually([&] { return sink_.For("renew.example.test").size() >= 1; })) << pebble_->PebbleOutput();
  const events::v1::CertificateObtained first = sink_.For("renew.example.test")[0];
  ExpectUsable(first, "renew.example.test");
  EXPECT_EQ(first.reason(), "new");
  EXPECT_GE(publisher.validation_gets, 1);  // pebble validated against our answer
  NameStatus s = StateOf(*issuer, "renew.example.test");
  EXPECT_EQ(s.state, NameState::kIssued);
  EXPECT_EQ(s.sources, std::vector<std::string>{"app:renew"});
  EXPECT_EQ(certbus::FormatRfc3339(s.not_after), first.expires());
  absl::StatusOr<KnownCertificate> known = KnownCertificateFromPem(first.cert_pem_bundle());
  ASSERT_TRUE(known.ok());
  EXPECT_EQ(s.renew_at, RenewalTime(*known));
  // Nothing more until the renewal time: then exactly one renewal, a new certificate.
  ASSERT_TRUE(Eventually([&] { return sink_.For("renew.example.test").size() >= 2; }))
      << "first: " << known->not_before << " to " << known->not_after << "; state "
      << NameStateName(StateOf(*issuer, "renew.example.test").state) << " "
      << StateOf(*issuer, "renew.example.test").detail;
  const absl::Time renewed_at = absl::Now();
  EXPECT_GE(renewed_at, RenewalTime(*known));
  const events::v1::CertificateObtained second = sink_.For("renew.example.test")[1];
  ExpectUsable(second, "renew.example.test");
  EXPECT_EQ(second.reason(), "renew");
  // Ordered no earlier than the renewal time (pebble's notBefore is the issuance second).
  absl::StatusOr<KnownCertificate> second_known = KnownCertificateFromPem(second.cert_pem_bundle());
  ASSERT_TRUE(second_known.ok());
  EXPECT_GE(second_known->not_before, RenewalTime(*known) - absl::Seconds(1));
  EXPECT_LT(second_known->not_before, known->not_after);  // and before the first one expired
  EXPECT_NE(second.cert_pem_bundle(), first.cert_pem_bundle());
  EXPECT_GT(certbus::ParseRfc3339(second.expires()).value(), certbus::ParseRfc3339(first.expires()).value());
  issuer->Stop();
  // pebble 2.4.0's directory has no renewalInfo: no ARI request, renewal at two thirds alone.
  EXPECT_EQ(issuer->stats().renewal_info_fetches, 0);
  EXPECT_EQ(issuer->stats().orders_replacing, 0);
  EXPECT_GE(issuer->stats().acme_requests, 10);
  EXPECT_FALSE(issuer->stats().account_url.empty());
}

TEST_F(AcmeIssuerPebbleTest, RefusedNameFailsAloneWithPebblesReasonAndIsRetried) {
  TestPublisher publisher(http01_, {"refused.example.test"});
  controlplane::AlwaysHeldLease lease("test");
  std::unique_ptr<Issuer> issuer = MakeIssuer(&publisher, &lease, /*backoff=*/absl::Seconds(1));
  issuer->SetWantedNames({{"refused.example.test", "app:r"}, {"good.example.test", "app:g"}});
  issuer->Start();
  ASSERT_TRUE(Eventually([&] { return StateOf(*issuer, "refused.example.test").failures >= 1; }));
  NameStatus failing = StateOf(*issuer, "refused.example.test");
  EXPECT_EQ(failing.state, NameState::kFailing);
  EXPECT_NE(failing.detail.find("urn:ietf:params:acme:error:unauthorized"), std::string::npos) << failing.detail;
  EXPECT_NE(failing.detail.find("refused.example.test"), std::string::npos) << failing.detail;
  // Retried after the backoff (1 s, then 2 s), while the other name is issued regardless.
  ASSERT_TRUE(Eventually([&] { return StateOf(*issuer, "refused.example.test").failures >= 2; }));
  ASSERT_TRUE(Eventually([&] { return sink_.For("good.example.test").size() >= 1; }));
  ExpectUsable(sink_.For("good.example.test")[0], "good.example.test");
  EXPECT_TRUE(sink_.For("refused.example.test").empty());
  issuer->Stop();
}

TEST_F(AcmeIssuerPebbleTest, NothingIsOrderedWithoutTheLease) {
  TestPublisher publisher(http01_);
  ToggleLease lease;
  lease.held = false;
  std::unique_ptr<Issuer> issuer = MakeIssuer(&publisher, &lease);
  issuer->SetWantedNames({{"leased.example.test", "app:l"}});
  issuer->Start();
  // Several rounds (lease_poll 200 ms) without the lease: no request to pebble, no account.
  ASSERT_TRUE(Eventually([&] { return issuer->stats().wakeups >= 4; }));
  EXPECT_EQ(issuer->stats().orders_started, 0);
  EXPECT_EQ(issuer->stats().acme_requests, 0);
  EXPECT_FALSE(keys_.pem().has_value());
  EXPECT_EQ(StateOf(*issuer, "leased.example.test").state, NameState::kQueued);
  EXPECT_EQ(sink_.size(), 0u);
  // Taking the lease starts the work.
  lease.held = true;
  issuer->Wake();
  ASSERT_TRUE(Eventually([&] { return sink_.For("leased.example.test").size() == 1; }));
  ExpectUsable(sink_.For("leased.example.test")[0], "leased.example.test");
  issuer->Stop();
}

// Records the journal calls; `open` is what a previous holder left behind.
class TestJournal : public OrderJournal {
 public:
  std::string OpenOrder(const std::string& name) override {
    absl::MutexLock lock(&mu);
    auto it = open.find(name);
    return it == open.end() ? "" : it->second;
  }
  void OrderStarted(const std::string& name, const std::string& url) override {
    absl::MutexLock lock(&mu);
    started.push_back(name + " " + url);
    open[name] = url;
  }
  void OrderEnded(const std::string& name, const std::string& outcome) override {
    absl::MutexLock lock(&mu);
    ended.push_back(name + " " + outcome);
    open.erase(name);
  }
  absl::Mutex mu;
  std::map<std::string, std::string> open;
  std::vector<std::string> started, ended;
};

TEST_F(AcmeIssuerPebbleTest, TakeoverContinuesTheOpenOrderInsteadOfOrderingAgain) {
  // The previous holder: same account, made the order, died before its challenges were answered.
  absl::StatusOr<AccountKey> key = AccountKey::Generate();
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(keys_.Save(*key).ok());
  absl::StatusOr<AccountKey> same = AccountKey::FromPem(*keys_.pem());
  ASSERT_TRUE(same.ok());
  auto previous = AcmeClient::Connect({.directory_url = pebble_->directory_url(), .ca_file = pebble_->ca_file()},
                                      *std::move(same));
  ASSERT_TRUE(previous.ok()) << previous.status();
  ASSERT_TRUE((*previous)->RegisterAccount({.terms_of_service_agreed = true}).ok());
  absl::StatusOr<AcmeOrder> order = (*previous)->NewOrder({"resume.example.test"});
  ASSERT_TRUE(order.ok()) << order.status();
  ASSERT_EQ(order->status, "pending");

  TestJournal journal;
  journal.open["resume.example.test"] = order->url;
  journal.open["stale.example.test"] = order->url + "-gone";  // unusable: a new order is made
  TestPublisher publisher(http01_);
  controlplane::AlwaysHeldLease lease("test");
  std::unique_ptr<Issuer> issuer = MakeIssuer(&publisher, &lease);
  issuer->SetOrderJournal(&journal);
  issuer->SetWantedNames({{"resume.example.test", "app:r"}, {"stale.example.test", "app:s"}});
  issuer->Start();
  ASSERT_TRUE(Eventually([&] { return sink_.For("resume.example.test").size() == 1 && sink_.For("stale.example.test").size() == 1; }))
      << StateOf(*issuer, "resume.example.test").detail << " / " << StateOf(*issuer, "stale.example.test").detail;
  issuer->Stop();
  ExpectUsable(sink_.For("resume.example.test")[0], "resume.example.test");
  EXPECT_EQ(issuer->stats().orders_resumed, 1);
  absl::MutexLock lock(&journal.mu);
  // Only the stale name got a new order; both were closed as issued.
  ASSERT_EQ(journal.started.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(journal.started[0], "stale.example.test https://")) << journal.started[0];
  EXPECT_EQ(journal.ended, (std::vector<std::string>{"resume.example.test issued", "stale.example.test issued"}));
  EXPECT_TRUE(journal.open.empty());
  // The resumed order is the one the previous holder made, now valid.
  absl::StatusOr<AcmeOrder> after = (*previous)->FetchOrder(order->url);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->status, "valid");
}

}  // namespace
}  // namespace edgerouter::acme
