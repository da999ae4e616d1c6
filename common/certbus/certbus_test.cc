// Keys and certificates are made by the real tools (openssl, ssh-keygen) in TEST_TMPDIR, so
// the fingerprint is checked against `ssh-keygen -l -E sha256`, not a value we computed.
#include "common/certbus/certbus.h"

#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/certbus/cert_info.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "gtest/gtest.h"

namespace edgerouter::certbus {
namespace {

using ::edgerouter::testing::ReadFileOrDie;

std::string Dir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

// Runs a shell command line; fails the test (and returns its output) on a non-zero exit.
std::string Sh(const std::string& command) {
  auto p = Subprocess::Start({"/bin/sh", "-c", command});
  EXPECT_TRUE(p.ok()) << p.status();
  if (!p.ok()) return "";
  absl::StatusOr<int> status = (*p)->Wait(absl::Seconds(60));
  EXPECT_TRUE(status.ok() && *status == 0) << command << "\n" << (*p)->Output();
  return (*p)->Output();
}

class CertBusTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string d = Dir();
    Sh(absl::StrCat("cd ", d, " && openssl genrsa -traditional -out kek.pem 2048 2>/dev/null",
                    " && chmod 600 kek.pem && ssh-keygen -y -f kek.pem > kek.pub",
                    " && openssl pkcs8 -topk8 -nocrypt -in kek.pem -out kek_pkcs8.pem",
                    " && openssl rsa -in kek.pem -pubout -out kek_spki.pem 2>/dev/null",
                    " && openssl rsa -in kek.pem -RSAPublicKey_out -out kek_pkcs1_pub.pem 2>/dev/null",
                    " && openssl genrsa -traditional -out other.pem 2048 2>/dev/null",
                    " && openssl genrsa -aes256 -passout pass:secret -out locked.pem 2048 2>/dev/null",
                    " && openssl req -x509 -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.pem",
                    " -days 30 -subj /CN=example.test",
                    " -addext subjectAltName=DNS:*.example.test,DNS:example.test 2>/dev/null",
                    " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes",
                    " -keyout ec.key -out ec.pem -days 5 -subj /CN=cn-only.example.test 2>/dev/null"));
    // `2048 SHA256:… comment (RSA)`
    std::vector<std::string> fields =
        absl::StrSplit(Sh(absl::StrCat("ssh-keygen -l -E sha256 -f ", d, "/kek.pub")), ' ');
    ASSERT_GE(fields.size(), 2u);
    ssh_keygen_fingerprint_ = new std::string(fields[1]);
  }
  static void TearDownTestSuite() { delete ssh_keygen_fingerprint_; }

  Kek LoadKek(const std::string& name = "kek.pem") {
    absl::StatusOr<Kek> kek = LoadKekFromPemFile(Dir() + "/" + name);
    EXPECT_TRUE(kek.ok()) << kek.status();
    return *std::move(kek);
  }
  std::string Ciphertext(const std::string& plaintext) {
    absl::StatusOr<KekPublicKey> pub = LoadKekPublicKeyFile(Dir() + "/kek.pub");
    EXPECT_TRUE(pub.ok()) << pub.status();
    absl::StatusOr<std::string> ct = Encrypt(*pub, plaintext);
    EXPECT_TRUE(ct.ok()) << ct.status();
    return *ct;
  }

  static std::string* ssh_keygen_fingerprint_;
};
std::string* CertBusTest::ssh_keygen_fingerprint_ = nullptr;

TEST_F(CertBusTest, FingerprintMatchesSshKeygenForEveryKeyForm) {
  ASSERT_TRUE(absl::StartsWith(*ssh_keygen_fingerprint_, "SHA256:")) << *ssh_keygen_fingerprint_;
  EXPECT_EQ(LoadKek("kek.pem").fingerprint(), *ssh_keygen_fingerprint_);
  EXPECT_EQ(LoadKek("kek_pkcs8.pem").fingerprint(), *ssh_keygen_fingerprint_);
  for (const char* pub : {"kek.pub", "kek_spki.pem", "kek_pkcs1_pub.pem"}) {
    absl::StatusOr<KekPublicKey> key = LoadKekPublicKeyFile(Dir() + "/" + pub);
    ASSERT_TRUE(key.ok()) << pub << ": " << key.status();
    EXPECT_EQ(key->fingerprint(), *ssh_keygen_fingerprint_) << pub;
  }
  // ToOpenSsh gives back ssh-keygen's line (minus its comment).
  EXPECT_TRUE(absl::StartsWith(ReadFileOrDie(Dir() + "/kek.pub"), LoadKek().public_key().ToOpenSsh()));
  EXPECT_NE(LoadKek("other.pem").fingerprint(), *ssh_keygen_fingerprint_);
}

TEST_F(CertBusTest, LoadsTheBase64PemFormOfTheEnvironment) {
  std::string pem = ReadFileOrDie(Dir() + "/kek.pem");
  // `base64` wraps at 76 columns; the line breaks must not matter.
  std::string b64 = absl::Base64Escape(pem);
  for (size_t i = 76; i < b64.size(); i += 77) b64.insert(i, "\n");
  absl::StatusOr<Kek> kek = LoadKekFromBase64Pem(b64);
  ASSERT_TRUE(kek.ok()) << kek.status();
  EXPECT_EQ(kek->fingerprint(), *ssh_keygen_fingerprint_);

  unsetenv(kKekEnv);
  EXPECT_EQ(LoadKekFromEnv().status().code(), absl::StatusCode::kNotFound);
  setenv(kKekEnv, absl::Base64Escape(pem).c_str(), 1);
  ASSERT_TRUE(LoadKekFromEnv().ok());
  EXPECT_EQ(LoadKekFromEnv()->fingerprint(), *ssh_keygen_fingerprint_);
  setenv(kKekEnv, "not base64 !!", 1);
  EXPECT_EQ(LoadKekFromEnv().status().code(), absl::StatusCode::kInvalidArgument);
  unsetenv(kKekEnv);

  EXPECT_FALSE(LoadKekFromBase64Pem(absl::Base64Escape("-----BEGIN RSA PRIVATE KEY-----\nAA\n")).ok());
  // A public key is not a KEK, an EC key is not an RSA KEK.
  EXPECT_FALSE(LoadKekFromPemFile(Dir() + "/kek_spki.pem").ok());
  EXPECT_FALSE(LoadKekFromPemFile(Dir() + "/ec.key").ok());
  // A passphrase-protected key fails at once (stdin is never read for a passphrase).
  EXPECT_EQ(LoadKekFromPemFile(Dir() + "/locked.pem").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadKekFromPemFile(Dir() + "/missing.pem").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(LoadKekPublicKey("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE").ok());
  EXPECT_FALSE(LoadKekPublicKey("ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB").ok());  // blob cut short
  EXPECT_FALSE(LoadKekPublicKey("hello").ok());
}

TEST_F(CertBusTest, RoundTripKeepsTheKeyAndHidesIt) {
  const std::string key_pem = ReadFileOrDie(Dir() + "/leaf.key");
  const std::string ct = Ciphertext(key_pem);
  EXPECT_FALSE(absl::StrContains(ct, "PRIVATE KEY"));
  EXPECT_NE(ct, Ciphertext(key_pem)) << "a fresh AES key and IV every time";
  EXPECT_EQ(ct.size(), 2 + 256 + 16 + key_pem.size());
  EXPECT_EQ(static_cast<unsigned char>(ct[0]) | static_cast<unsigned char>(ct[1]) << 8, 256);

  Kek kek = LoadKek();
  absl::StatusOr<std::string> plain = DecryptPrivateKey(kek, kek.fingerprint(), ct);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain, key_pem);
  EXPECT_TRUE(VerifyKeyMatchesCertificate(ReadFileOrDie(Dir() + "/leaf.pem"), *plain).ok());

  // EC (SEC1 converted to PKCS#8 by openssl req) keys travel the same way.
  const std::string ec_pem = ReadFileOrDie(Dir() + "/ec.key");
  plain = DecryptPrivateKey(kek, kek.fingerprint(), Ciphertext(ec_pem));
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain, ec_pem);
}

TEST_F(CertBusTest, FingerprintMismatchNamesBoth) {
  Kek kek = LoadKek();
  Kek other = LoadKek("other.pem");
  absl::Status s = DecryptPrivateKey(other, kek.fingerprint(), Ciphertext("x")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(s.message(), kek.fingerprint())) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), other.fingerprint())) << s;
}

TEST_F(CertBusTest, WrongKeyFailsInRsa) {
  Kek other = LoadKek("other.pem");
  // Claiming the other key's fingerprint gets past the check; OAEP still refuses.
  absl::Status s = Decrypt(other, other.fingerprint(), Ciphertext("secret")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(s.message(), "RSA-OAEP")) << s;
}

TEST_F(CertBusTest, TruncatedAndEmptyInputs) {
  Kek kek = LoadKek();
  const std::string ct = Ciphertext("secret");
  for (size_t len : {size_t{0}, size_t{1}, size_t{2}, size_t{100}, size_t{2 + 256}, size_t{2 + 256 + 15}}) {
    absl::Status s = Decrypt(kek, kek.fingerprint(), ct.substr(0, len)).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << len << ": " << s;
    EXPECT_TRUE(absl::StrContains(s.message(), len == 0 ? "empty" : "truncated")) << s;
  }
  // A header with no body is a valid encryption of "", which is no private key.
  absl::StatusOr<std::string> empty = Decrypt(kek, kek.fingerprint(), ct.substr(0, 2 + 256 + 16));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, "");
  EXPECT_EQ(DecryptPrivateKey(kek, kek.fingerprint(), Ciphertext("")).status().code(),
            absl::StatusCode::kDataLoss);
  // A body cut short decrypts to a PEM with no END line.
  const std::string key_ct = Ciphertext(ReadFileOrDie(Dir() + "/leaf.key"));
  EXPECT_EQ(DecryptPrivateKey(kek, kek.fingerprint(), key_ct.substr(0, key_ct.size() - 40))
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
}

// The format has no MAC: flipping a body bit flips the same plaintext bit. What must hold is
// that no flip yields a *different* usable key: either DecryptPrivateKey refuses, or the key
// it returns still matches the certificate (the flip hit PEM framing the parser ignores).
TEST_F(CertBusTest, TamperedBytesNeverYieldAnotherKey) {
  Kek kek = LoadKek();
  const std::string key_pem = ReadFileOrDie(Dir() + "/leaf.key");
  const std::string cert_pem = ReadFileOrDie(Dir() + "/leaf.pem");
  const std::string ct = Ciphertext(key_pem);
  const size_t body = 2 + 256 + 16;
  std::vector<size_t> positions = {0, 1, 2, 100, 2 + 255, body - 16, body - 1};
  for (size_t i = body; i < ct.size(); ++i) positions.push_back(i);  // every body byte
  int refused = 0;
  for (size_t pos : positions) {
    std::string bad = ct;
    bad[pos] ^= 0x04;
    absl::StatusOr<std::string> plain = DecryptPrivateKey(kek, kek.fingerprint(), bad);
    if (!plain.ok()) {
      ++refused;
      EXPECT_FALSE(absl::StrContains(plain.status().message(), "MII")) << "no key text in errors";
      continue;
    }
    EXPECT_GE(pos, body) << "header tampering must always fail";
    EXPECT_TRUE(VerifyKeyMatchesCertificate(cert_pem, *plain).ok()) << "flip at " << pos;
  }
  EXPECT_GE(refused, static_cast<int>(positions.size()) * 9 / 10);
}

// ParsePrivateKeyPem keeps one decoder per thread: every key form still parses after failures
// and after other forms, on any thread, and encrypted keys still fail without prompting.
TEST_F(CertBusTest, PrivateKeyParserIsReusableAcrossFormsAndThreads) {
  const std::vector<std::string> good = {"kek.pem", "kek_pkcs8.pem", "leaf.key", "ec.key"};
  auto parse_all = [&] {
    for (int round = 0; round < 3; ++round) {
      for (const std::string& name : good) {
        absl::StatusOr<PkeyPtr> key = ParsePrivateKeyPem(ReadFileOrDie(Dir() + "/" + name));
        EXPECT_TRUE(key.ok()) << name << ": " << key.status();
        EXPECT_FALSE(ParsePrivateKeyPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").ok());
        EXPECT_FALSE(ParsePrivateKeyPem(ReadFileOrDie(Dir() + "/locked.pem")).ok());
        EXPECT_FALSE(ParsePrivateKeyPem(ReadFileOrDie(Dir() + "/kek_spki.pem")).ok()) << "public only";
      }
    }
  };
  parse_all();
  std::thread other(parse_all);
  other.join();
  absl::StatusOr<PkeyPtr> ec = ParsePrivateKeyPem(ReadFileOrDie(Dir() + "/ec.key"));
  ASSERT_TRUE(ec.ok());
  EXPECT_EQ(EVP_PKEY_get_base_id(ec->get()), EVP_PKEY_EC);
}

TEST_F(CertBusTest, VerifyKeyMatchesCertificate) {
  const std::string leaf = ReadFileOrDie(Dir() + "/leaf.pem");
  const std::string ec = ReadFileOrDie(Dir() + "/ec.pem");
  EXPECT_TRUE(VerifyKeyMatchesCertificate(leaf, ReadFileOrDie(Dir() + "/leaf.key")).ok());
  EXPECT_TRUE(VerifyKeyMatchesCertificate(ec + leaf, ReadFileOrDie(Dir() + "/ec.key")).ok());
  // The leaf is the first certificate: a key of a later one does not count.
  EXPECT_EQ(VerifyKeyMatchesCertificate(ec + leaf, ReadFileOrDie(Dir() + "/leaf.key")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(VerifyKeyMatchesCertificate(leaf, ReadFileOrDie(Dir() + "/kek.pem")).ok());
  EXPECT_FALSE(VerifyKeyMatchesCertificate("not a cert", ReadFileOrDie(Dir() + "/leaf.key")).ok());
  EXPECT_FALSE(VerifyKeyMatchesCertificate(leaf, "not a key").ok());
}

TEST_F(CertBusTest, CertificateInfo) {
  absl::StatusOr<CertificateInfo> info =
      ReadCertificateInfo(ReadFileOrDie(Dir() + "/leaf.pem") + ReadFileOrDie(Dir() + "/ec.pem"));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->domains, (std::vector<std::string>{"*.example.test", "example.test"}));
  EXPECT_EQ(info->chain_length, 2);
  EXPECT_LT(absl::AbsDuration(info->not_after - (absl::Now() + absl::Hours(24 * 30))),
            absl::Minutes(5));
  absl::StatusOr<absl::Time> parsed = ParseRfc3339(FormatRfc3339(info->not_after));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, info->not_after);
  EXPECT_TRUE(absl::EndsWith(FormatRfc3339(info->not_after), "Z"));

  info = ReadCertificateInfo(ReadFileOrDie(Dir() + "/ec.pem"));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->domains, (std::vector<std::string>{"cn-only.example.test"}));  // CN fallback

  EXPECT_FALSE(ReadCertificateInfo("").ok());
  EXPECT_FALSE(ReadCertificateInfo(ReadFileOrDie(Dir() + "/leaf.pem") +
                                   "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                   .ok());
  EXPECT_FALSE(ParseRfc3339("yesterday").ok());
}

}  // namespace
}  // namespace edgerouter::certbus
