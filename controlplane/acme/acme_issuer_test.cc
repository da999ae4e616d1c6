// The issuer's thread without a CA: the lease gate, backoff driven by a fake clock, waking and a
// prompt Stop. Orders against a real CA are in test/acme_issuer_pebble_test.
#include "controlplane/acme/acme_issuer.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <atomic>
#include <functional>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/test_util.h"
#include "gtest/gtest.h"

namespace edgerouter::acme {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

class FakeClock : public Clock {
 public:
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ = kT0;
};

class FakeLease : public controlplane::Lease {
 public:
  std::atomic<bool> held{false};
  absl::StatusOr<bool> TryAcquire() override { return held.load(); }
  bool IsHeld() override { return held.load(); }
  absl::StatusOr<std::string> Holder() override { return held.load() ? "test" : ""; }
};

class CountingPublisher : public ChallengePublisher, public CertificateSink {
 public:
  absl::Status Publish(const std::vector<Http01Challenge>&) override {
    ++published;
    return absl::OkStatus();
  }
  void Withdraw(const std::vector<Http01Challenge>&) override {}
  absl::Status Publish(const events::v1::CertificateObtained&) override {
    ++certificates;
    return absl::OkStatus();
  }
  std::atomic<int> published{0};
  std::atomic<int> certificates{0};
};

certbus::KekPublicKey TestKek() {
  certbus::PkeyPtr key(EVP_RSA_gen(2048));
  absl::StatusOr<certbus::KekPublicKey> kek = certbus::KekPublicKey::FromPkey(std::move(key));
  EXPECT_TRUE(kek.ok()) << kek.status();
  return *std::move(kek);
}

bool Eventually(const std::function<bool()>& condition) {
  for (absl::Time deadline = absl::Now() + absl::Seconds(20); absl::Now() < deadline;) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return condition();
}

// Wake() and wait for the scheduling round it causes.
bool WakeAndAwaitRound(Issuer& issuer) {
  const int64_t rounds = issuer.stats().wakeups;
  issuer.Wake();
  return Eventually([&] { return issuer.stats().wakeups > rounds; });
}

NameStatus Only(const Issuer& issuer) {
  std::vector<NameStatus> states = issuer.States();
  EXPECT_EQ(states.size(), 1u);
  return states.empty() ? NameStatus{} : states[0];
}

TEST(AcmeIssuerTest, OrdersOnlyUnderTheLeaseAndBacksOffOnTheInjectedClock) {
  FakeClock clock;
  FakeLease lease;
  CountingPublisher publisher;
  MemoryAccountKeyStore keys;
  IssuerOptions options{
      // Nothing listens there: connecting to the CA fails with a transport error.
      .client = {.directory_url = absl::StrCat("https://127.0.0.1:", testing::PickFreeLoopbackPort(), "/dir"),
                 .request_timeout = absl::Seconds(5)},
      .policy = {.backoff_initial = absl::Minutes(1)},
      .lease_poll = absl::Hours(1)};  // only Wake() re-reads the lease in this test
  Issuer issuer(options, TestKek(), &keys, &publisher, &publisher, &lease, &clock);
  issuer.SetWantedNames({{"a.example.test", "app:a"}});
  issuer.Start();

  // Lease not held: rounds run, nothing is ordered, not even an account key made.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(WakeAndAwaitRound(issuer));
  EXPECT_FALSE(issuer.stats().lease_held);
  EXPECT_EQ(issuer.stats().orders_started, 0);
  EXPECT_EQ(Only(issuer).state, NameState::kQueued);
  EXPECT_FALSE(keys.pem().has_value());

  // Lease held: the order fails (no CA) and the name waits out its backoff on the fake clock.
  lease.held = true;
  issuer.Wake();
  ASSERT_TRUE(Eventually([&] { return issuer.stats().orders_failed == 1; }));
  NameStatus s = Only(issuer);
  EXPECT_EQ(s.state, NameState::kFailing);
  EXPECT_NE(s.detail.find("ACME account at https://127.0.0.1:"), std::string::npos) << s.detail;
  EXPECT_EQ(s.retry_at, kT0 + absl::Minutes(1));
  EXPECT_TRUE(keys.pem().has_value());  // generated once, kept for every later attempt
  const std::string account_pem = *keys.pem();

  ASSERT_TRUE(WakeAndAwaitRound(issuer));
  EXPECT_EQ(issuer.stats().orders_started, 1);  // still backing off

  clock.Advance(absl::Minutes(1));
  issuer.Wake();
  ASSERT_TRUE(Eventually([&] { return issuer.stats().orders_failed == 2; }));
  EXPECT_EQ(Only(issuer).retry_at, kT0 + absl::Minutes(1) + absl::Minutes(2));
  EXPECT_EQ(Only(issuer).failures, 2);
  EXPECT_EQ(*keys.pem(), account_pem);
  EXPECT_EQ(publisher.published, 0);
  EXPECT_EQ(publisher.certificates, 0);

  // Stop wakes the idle thread at once (it would otherwise wait out the backoff or lease_poll).
  const absl::Time before = absl::Now();
  issuer.Stop();
  EXPECT_LT(absl::Now() - before, absl::Seconds(1));
}

// An issuer holding the lease whose CA is a port where nothing listens, on a fake clock.
struct NoCaIssuer {
  NoCaIssuer() {
    lease.held = true;
    IssuerOptions options{
        .client = {.directory_url = absl::StrCat("https://127.0.0.1:", testing::PickFreeLoopbackPort(), "/dir"),
                   .request_timeout = absl::Seconds(5)},
        .policy = {.backoff_initial = absl::Minutes(1)},
        .lease_poll = absl::Hours(1)};
    issuer = std::make_unique<Issuer>(options, TestKek(), &keys, &publisher, &publisher, &lease, &clock);
  }
  FakeClock clock;
  FakeLease lease;
  CountingPublisher publisher;
  MemoryAccountKeyStore keys;
  std::unique_ptr<Issuer> issuer;
};

// A CA that cannot be reached fails the account, not one name: one attempt, and every name due
// then waits out the same backoff (a thousand names do not make a thousand connections).
TEST(AcmeIssuerTest, AnUnreachableCaCostsOneAttemptPerRoundNotOnePerName) {
  NoCaIssuer no_ca;
  Issuer& issuer = *no_ca.issuer;
  FakeClock& clock = no_ca.clock;
  std::vector<NameRequest> names;
  for (int i = 0; i < 1000; ++i) names.push_back({absl::StrCat("n", i, ".example.test"), "app:x"});
  issuer.SetWantedNames(names);
  issuer.Start();
  ASSERT_TRUE(Eventually([&] { return issuer.stats().orders_failed == 1; }));
  ASSERT_TRUE(WakeAndAwaitRound(issuer));
  EXPECT_EQ(issuer.stats().orders_started, 1);
  for (const NameStatus& s : issuer.States()) {
    ASSERT_EQ(s.state, NameState::kFailing) << s.name;
    EXPECT_NE(s.detail.find("ACME account at https://127.0.0.1:"), std::string::npos) << s.detail;
    EXPECT_EQ(s.retry_at, kT0 + absl::Minutes(1));
  }
  // The next round, after the backoff: again one attempt for all of them.
  clock.Advance(absl::Minutes(1));
  issuer.Wake();
  ASSERT_TRUE(Eventually([&] { return issuer.stats().orders_failed == 2; }));
  ASSERT_TRUE(WakeAndAwaitRound(issuer));
  EXPECT_EQ(issuer.stats().orders_started, 2);
  EXPECT_EQ(issuer.States().back().failures, 2);
  issuer.Stop();
}

// The same for renewal information: certificates that all want their renewalInfo asked, and no
// CA: one attempt, and every fetch due then waits for its retry.
TEST(AcmeIssuerTest, AnUnreachableCaCostsOneRenewalInfoAttemptPerRound) {
  NoCaIssuer no_ca;
  Issuer& issuer = *no_ca.issuer;
  std::vector<NameRequest> names;
  std::vector<KnownCertificate> certs;
  for (int i = 0; i < 1000; ++i) {
    names.push_back({absl::StrCat("n", i, ".example.test"), "app:x"});
    certs.push_back({.domains = {names.back().name}, .not_before = kT0, .not_after = kT0 + absl::Hours(90 * 24),
                     .cert_id = absl::StrCat("aki.", i)});
  }
  issuer.SetCertificates(certs);
  issuer.SetWantedNames(names);
  issuer.Start();
  ASSERT_TRUE(Eventually([&] { return issuer.stats().renewal_info_failures == 1; }));
  ASSERT_TRUE(WakeAndAwaitRound(issuer));
  ASSERT_TRUE(WakeAndAwaitRound(issuer));
  EXPECT_EQ(issuer.stats().renewal_info_failures, 1);
  EXPECT_EQ(issuer.stats().orders_started, 0);
  EXPECT_NE(issuer.stats().last_renewal_info_error.find("ACME account at"), std::string::npos)
      << issuer.stats().last_renewal_info_error;
  issuer.Stop();
}

TEST(AcmeIssuerTest, ExcludedNamesAreNeverOrdered) {
  FakeLease lease;
  lease.held = true;
  CountingPublisher publisher;
  MemoryAccountKeyStore keys;
  Issuer issuer({.client = {.directory_url = "https://127.0.0.1:1/dir"}, .exclude = {"*.internal.test"}},
                TestKek(), &keys, &publisher, &publisher, &lease);
  issuer.SetWantedNames({{"db.internal.test", "app:db"}});
  issuer.Start();
  ASSERT_TRUE(WakeAndAwaitRound(issuer));
  EXPECT_TRUE(issuer.stats().lease_held);
  EXPECT_EQ(issuer.stats().orders_started, 0);
  EXPECT_EQ(Only(issuer).state, NameState::kExcluded);
  issuer.Stop();
}

}  // namespace
}  // namespace edgerouter::acme
