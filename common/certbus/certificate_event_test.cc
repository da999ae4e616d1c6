#include "common/certbus/certificate_event.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/certbus/cert_info.h"
#include "common/subprocess.h"
#include "gtest/gtest.h"

namespace edgerouter::certbus {
namespace {

std::string Dir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

std::string Read(const std::string& name) {
  std::ifstream in(Dir() + "/" + name, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void Sh(const std::string& command) {
  auto p = Subprocess::Start({"/bin/sh", "-c", command});
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<int> status = (*p)->Wait(absl::Seconds(60));
  ASSERT_TRUE(status.ok() && *status == 0) << command << "\n" << (*p)->Output();
}

TEST(CertificateEventTest, DefaultIdIsTheFirstSortedDomain) {
  EXPECT_EQ(DefaultCertId({"example.test", "*.example.test"}), "*.example.test");
  EXPECT_EQ(DefaultCertId({"b.test", "a.test"}), DefaultCertId({"a.test", "b.test"}));
  EXPECT_EQ(DefaultCertId({}), "");
}

TEST(CertificateEventTest, ImportEventCarriesCiphertextOnly) {
  const std::string d = Dir();
  Sh(absl::StrCat("cd ", d, " && openssl genrsa -out kek.pem 2048 2>/dev/null",
                  " && openssl rsa -in kek.pem -pubout -out kek.pub 2>/dev/null",
                  " && openssl req -x509 -newkey rsa:2048 -nodes -keyout a.key -out a.pem -days 3",
                  " -subj /CN=ignored -addext subjectAltName=DNS:www.example.test,DNS:example.test",
                  " 2>/dev/null && openssl genrsa -out other.key 2048 2>/dev/null"));
  absl::StatusOr<KekPublicKey> pub = LoadKekPublicKeyFile(d + "/kek.pub");
  ASSERT_TRUE(pub.ok()) << pub.status();
  const std::string key = Read("a.key");
  absl::StatusOr<events::v1::CertificateObtained> event =
      MakeCertificateObtained(Read("a.pem"), key, *pub, "");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->id(), "example.test");
  EXPECT_EQ(event->reason(), "new");
  EXPECT_EQ(event->challenge_type(), "");
  EXPECT_EQ(std::vector<std::string>(event->domains().begin(), event->domains().end()),
            (std::vector<std::string>{"www.example.test", "example.test"}));
  absl::StatusOr<absl::Time> expires = ParseRfc3339(event->expires());
  ASSERT_TRUE(expires.ok());
  EXPECT_LT(absl::AbsDuration(*expires - absl::Now() - absl::Hours(72)), absl::Minutes(5));
  EXPECT_EQ(event->private_key_dek_fingerprint(), pub->fingerprint());
  EXPECT_FALSE(absl::StrContains(event->private_key_ciphertext(), "PRIVATE KEY"));

  absl::StatusOr<Kek> kek = LoadKekFromPemFile(d + "/kek.pem");
  ASSERT_TRUE(kek.ok());
  absl::StatusOr<std::string> back = DecryptPrivateKey(
      *kek, event->private_key_dek_fingerprint(), event->private_key_ciphertext());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, key);

  EXPECT_EQ(MakeCertificateObtained(Read("a.pem"), key, *pub, "my-id")->id(), "my-id");
  absl::Status wrong = MakeCertificateObtained(Read("a.pem"), Read("other.key"), *pub, "").status();
  EXPECT_TRUE(absl::StrContains(wrong.message(), "--key: private key does not match")) << wrong;
  EXPECT_TRUE(absl::StartsWith(
      MakeCertificateObtained("junk", key, *pub, "").status().message(), "--cert: "));
}

}  // namespace
}  // namespace edgerouter::certbus
