// AcmeService on a real file event log and ConfigHub (no CA): challenges travel through the acme
// stream into the snapshot and out again, stale tokens are dropped, the account key is kept once
// in the stream, open orders are journaled, and certificates land on the certbus stream.
#include "controlplane/acme/acme_service.h"

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/certbus/cert_info.h"
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

controlplane::PreparedAppPtr HostApp(const std::string& id, const std::string& host) {
  auto app = std::make_shared<controlplane::PreparedApp>();
  app->id = id;
  auto resource = std::make_shared<snapshot::v1::Resource>();
  resource->set_name("app/" + id);
  config::v1::Frontend* f = resource->mutable_app()->add_frontends();
  f->set_kind("hostname");
  f->set_hostname(host);
  app->resource = std::move(resource);
  return app;
}

// A served certificate known by its event's fields only (the PEM does not parse).
controlplane::ResourcePtr CertResource(const std::string& id, const std::string& version,
                                       const std::vector<std::string>& domains, const std::string& expires) {
  auto r = std::make_shared<snapshot::v1::Resource>();
  r->set_name("cert/" + id);
  r->set_version(version);
  snapshot::v1::Certificate* c = r->mutable_certificate();
  c->set_cert_pem_bundle("not a PEM");
  for (const std::string& d : domains) c->add_domains(d);
  c->set_expires(expires);
  return r;
}

std::vector<std::string> Describe(const std::vector<NameStatus>& states) {
  std::vector<std::string> out;
  for (const NameStatus& s : states) {
    out.push_back(absl::StrCat(s.name, " ", absl::StrJoin(s.sources, ","), " ", NameStateName(s.state), " ",
                               absl::FormatTime(s.renew_at)));
  }
  return out;
}

// What a tracker told the whole snapshot at once makes of it.
std::vector<std::string> FromScratch(const controlplane::BuiltSnapshot& snapshot) {
  NameTracker tracker({}, {});
  tracker.SetWanted(WantedNamesOf(snapshot));
  std::vector<KnownCertificate> certs;
  for (const controlplane::ResourcePtr& r : snapshot.resources) {
    absl::StatusOr<absl::Time> expires = certbus::ParseRfc3339(r->certificate().expires());
    EXPECT_TRUE(expires.ok()) << expires.status();
    certs.push_back({.domains = {r->certificate().domains().begin(), r->certificate().domains().end()},
                     .not_after = expires.value_or(absl::InfinitePast())});
  }
  tracker.SetCertificates(std::move(certs));
  return Describe(tracker.States(absl::Now()));
}

// Snapshots differ from the last in a few apps and certificates: the issuer is told only the
// difference, and ends up where a tracker told everything does.
TEST_F(AcmeServiceTest, SnapshotChangesReachTheIssuerAsDifferences) {
  const std::string kFuture = "2999-01-01T00:00:00Z", kPast = "2000-01-01T00:00:00Z";
  std::vector<controlplane::PreparedAppPtr> apps;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = absl::StrFormat("app-%04d", i);
    apps.push_back(HostApp(id, id + ".example.test"));
  }
  auto snap = std::make_shared<controlplane::BuiltSnapshot>();
  snap->apps = controlplane::AppSet(apps);
  snap->resources = controlplane::ResourceSet({CertResource("one", "v1", {"app-0001.example.test"}, kFuture),
                                               CertResource("wild", "v1", {"*.example.test"}, kPast)});
  service_->OnSnapshot(snap);
  std::vector<std::string> states = Describe(service_->States());
  ASSERT_EQ(states.size(), 1000u);
  EXPECT_EQ(states, FromScratch(*snap));
  EXPECT_TRUE(absl::StrContains(states[1], " issued ")) << states[1];
  EXPECT_TRUE(absl::StrContains(states[2], " queued ")) << states[2];  // the wildcard is past renewal

  // Apps: one renamed, one removed, one more asking for an existing name.
  auto next = std::make_shared<controlplane::BuiltSnapshot>(*snap);
  next->apps = snap->apps.With({{"app-0005", HostApp("app-0005", "renamed.example.test")},
                                {"app-0007", nullptr},
                                {"zz-extra", HostApp("zz-extra", "APP-0009.example.test")}});
  service_->OnSnapshot(next);
  states = Describe(service_->States());
  EXPECT_EQ(states, FromScratch(*next));
  ASSERT_EQ(states.size(), 999u);
  EXPECT_TRUE(absl::StrContains(states[7], "app-0009.example.test app:app-0009,app:zz-extra ")) << states[7];

  // Certificates: one moves to another name, the stale wildcard goes, a valid one comes.
  snap = next;
  next = std::make_shared<controlplane::BuiltSnapshot>(*snap);
  next->resources = snap->resources.With({{"cert/more", CertResource("more", "v1", {"*.example.test"}, kFuture)},
                                          {"cert/one", CertResource("one", "v2", {"renamed.example.test"}, kPast)},
                                          {"cert/wild", nullptr}});
  service_->OnSnapshot(next);
  states = Describe(service_->States());
  EXPECT_EQ(states, FromScratch(*next));
  EXPECT_TRUE(absl::StrContains(states[2], " issued ")) << states[2];

  // The extra app goes again: its source leaves, the name stays for the other.
  snap = next;
  next = std::make_shared<controlplane::BuiltSnapshot>(*snap);
  next->apps = snap->apps.With({{"zz-extra", nullptr}});
  service_->OnSnapshot(next);
  states = Describe(service_->States());
  EXPECT_EQ(states, FromScratch(*next));
  EXPECT_TRUE(absl::StrContains(states[7], "app-0009.example.test app:app-0009 ")) << states[7];
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
