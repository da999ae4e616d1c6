// AcmeService on a real file event log and ConfigHub (no CA): challenges travel through the acme
// stream into the snapshot and out again, stale tokens are dropped, the account key is kept once
// in the stream, open orders are journaled, and certificates land on the certbus stream.
#include "controlplane/acme/acme_service.h"

#include <filesystem>

#include "absl/strings/match.h"
#include "common/test_util.h"
#include "controlplane/file_event_log.h"
#include "gtest/gtest.h"

namespace edgerouter::acme {
namespace {

class AcmeServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = std::string(tmp != nullptr ? tmp : "/tmp") + "/acme-service";
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ASSERT_EQ(system(("openssl genrsa -traditional -out " + dir_ + "/kek.pem 2048 2>/dev/null && openssl rsa -in " +
                      dir_ + "/kek.pem -pubout -out " + dir_ + "/kek.pub 2>/dev/null")
                         .c_str()),
              0);
    std::vector<std::string> notes;
    auto log = controlplane::FileEventLog::Open(dir_ + "/log", &notes);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    hub_ = std::make_unique<controlplane::ConfigHub>(log_.get(), controlplane::HubOptions{});
    discovery_ = std::make_unique<controlplane::DiscoveryServer>(&stats_, "cp-test");
    AcmeServiceOptions options;
    options.issuer.client.directory_url = "https://127.0.0.1:1/dir";  // never contacted here
    options.kek_public_file = dir_ + "/kek.pub";
    options.challenge_grace = absl::ZeroDuration();
    auto service = AcmeService::Create(options, log_.get(), hub_.get(), discovery_.get());
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    ASSERT_TRUE(hub_->Start().ok());
    // No lease keeper: the stream is read, the issuer never holds the lease (no CA contact).
    ASSERT_TRUE(service_->Start(nullptr).ok());
  }
  void TearDown() override {
    service_.reset();
    hub_->Stop();
  }

  std::vector<std::string> Tokens() {
    std::vector<std::string> out;
    for (const auto& r : hub_->Current()->resources) {
      if (r->has_acme_challenge()) out.push_back(r->acme_challenge().token() + "=" + r->acme_challenge().key_authorization());
    }
    return out;
  }

  std::string dir_;
  controlplane::DiscoveryStats stats_;
  std::unique_ptr<controlplane::FileEventLog> log_;
  std::unique_ptr<controlplane::ConfigHub> hub_;
  std::unique_ptr<controlplane::DiscoveryServer> discovery_;
  std::unique_ptr<AcmeService> service_;
};

TEST_F(AcmeServiceTest, ChallengesEnterAndLeaveTheSnapshotAndStaleOnesAreDropped) {
  EXPECT_TRUE(Tokens().empty());
  Http01Challenge a{.dns_name = "a.test", .token = "tokA", .key_authorization = "tokA.x"};
  Http01Challenge b{.dns_name = "b.test", .token = "tokB", .key_authorization = "tokB.x"};
  // Publish returns once the snapshot holds the token (no data plane is connected here).
  ASSERT_TRUE(service_->Publish(std::vector<Http01Challenge>{a}).ok());
  EXPECT_EQ(Tokens(), std::vector<std::string>{"tokA=tokA.x"});
  // The next order's publish drops tokA (its holder never withdrew it).
  ASSERT_TRUE(service_->Publish(std::vector<Http01Challenge>{b}).ok());
  EXPECT_EQ(Tokens(), std::vector<std::string>{"tokB=tokB.x"});
  service_->Withdraw({b});
  for (absl::Time deadline = absl::Now() + absl::Seconds(5); !Tokens().empty() && absl::Now() < deadline;) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_TRUE(Tokens().empty());
}

TEST_F(AcmeServiceTest, AccountKeyIsKeptOnceInTheStreamAndOrdersAreJournaled) {
  auto none = service_->Load();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto key = AccountKey::Generate();
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(service_->Save(*key).ok());
  auto loaded = service_->Load();
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ((*loaded)->thumbprint(), key->thumbprint());
  // A second key appended later does not replace it.
  auto other = AccountKey::Generate();
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(service_->Save(*other).ok());
  EXPECT_EQ((*service_->Load())->thumbprint(), key->thumbprint());  // every replica agrees on the first

  EXPECT_EQ(service_->OpenOrder("a.test"), "");
  service_->OrderStarted("a.test", "https://ca/order/1");
  for (absl::Time deadline = absl::Now() + absl::Seconds(5);
       service_->OpenOrder("a.test").empty() && absl::Now() < deadline;) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(service_->OpenOrder("a.test"), "https://ca/order/1");
  service_->OrderEnded("a.test", "issued");
  for (absl::Time deadline = absl::Now() + absl::Seconds(5);
       !service_->OpenOrder("a.test").empty() && absl::Now() < deadline;) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(service_->OpenOrder("a.test"), "");
}

TEST_F(AcmeServiceTest, StatusAndBadCertificatesAreRefused) {
  admin::v1::ListAcmeNamesResponse status = service_->Status();
  EXPECT_TRUE(status.enabled());
  EXPECT_FALSE(status.issuer_here());  // no lease
  events::v1::CertificateObtained plaintext;
  plaintext.set_id("a.test");
  plaintext.add_domains("a.test");
  plaintext.set_cert_pem_bundle("-----BEGIN CERTIFICATE-----\n");
  plaintext.set_private_key_dek_fingerprint("SHA256:x");
  plaintext.set_private_key_ciphertext("-----BEGIN PRIVATE KEY-----");
  plaintext.set_expires("2030-01-01T00:00:00Z");
  absl::Status s = service_->Publish(plaintext);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "plaintext")) << s;
  EXPECT_EQ(log_->Head(hub_->certbus_stream()), 0u);
}

TEST(AcmeServiceCreate, NeedsTheKekPublicKey) {
  AcmeServiceOptions options;
  options.issuer.client.directory_url = "https://127.0.0.1:1/dir";
  auto s = AcmeService::Create(options, nullptr, nullptr, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.status().message(), "--acme_kek_public")) << s.status();
  options.kek_public_file = "/nonexistent/kek.pub";
  s = AcmeService::Create(options, nullptr, nullptr, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.status().message(), "/nonexistent/kek.pub")) << s.status();
}

}  // namespace
}  // namespace edgerouter::acme
