#include "controlplane/acme/acme_ari.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace edgerouter::acme {
namespace {

// RFC 9773 §4.1's example: AKI keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4,
// serial 0x87654321 (DER content 00 87 65 43 21, high bit set).
const char kRfcAki[] = "69885B6B87464041E1B37B847BA0AE2CDE01C8D4";
const char kRfcCertId[] = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";

std::string Bytes(absl::string_view hex) { return absl::HexStringToBytes(hex); }

// A certificate with exactly that AKI and serial, made with OpenSSL.
std::string MakeDerCert(absl::string_view aki, const char* serial_hex) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  BIGNUM* bn = nullptr;
  BN_hex2bn(&bn, serial_hex);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("ari.test"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  AUTHORITY_KEYID* akid = AUTHORITY_KEYID_new();
  akid->keyid = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(akid->keyid, reinterpret_cast<const unsigned char*>(aki.data()), static_cast<int>(aki.size()));
  X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT);
  AUTHORITY_KEYID_free(akid);
  X509_sign(x, key, EVP_sha256());
  unsigned char* der = nullptr;
  const int len = i2d_X509(x, &der);
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

std::string Shell(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << command;
  return out;
}

TEST(AcmeAriTest, CertIdOfTheRfcExample) {
  EXPECT_EQ(CertIdFromParts(Bytes(kRfcAki), Bytes("0087654321")), kRfcCertId);
  const std::string der = MakeDerCert(Bytes(kRfcAki), "87654321");
  absl::StatusOr<std::string> id = CertIdFromDer(der);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, kRfcCertId);  // the leading zero of a serial with its high bit set is kept
  // A serial without the high bit gets no zero; the PEM form reads the same certificate.
  EXPECT_EQ(*CertIdFromDer(MakeDerCert(Bytes(kRfcAki), "0102")), "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AQI");
  BIO* bio = BIO_new(BIO_s_mem());
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  PEM_write_bio_X509(bio, x);
  X509_free(x);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  EXPECT_EQ(*CertIdFromPem(std::string(data, len)), kRfcCertId);
  BIO_free(bio);
}

TEST(AcmeAriTest, CertIdMatchesWhatTheOpensslCommandReadsBack) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  const std::string ca = dir + "/ari-ca", leaf = dir + "/ari-leaf";
  Shell(absl::StrCat("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ", ca,
                   ".key -out ", ca, ".pem -days 1 -subj /CN=ari-ca -addext subjectKeyIdentifier=hash 2>&1"));
  Shell(absl::StrCat("echo authorityKeyIdentifier=keyid:always > ", leaf, ".ext"));
  Shell(absl::StrCat("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ", leaf,
                   ".key -subj /CN=ari.example.test 2>/dev/null | openssl x509 -req -CA ", ca, ".pem -CAkey ", ca,
                   ".key -set_serial 0x9A0102 -days 1 -extfile ", leaf, ".ext -out ", leaf, ".pem 2>&1"));
  // What openssl prints: "serial=9A0102" and the AKI as colon-separated hex.
  const std::string serial_line = Shell(absl::StrCat("openssl x509 -noout -serial -in ", leaf, ".pem"));
  absl::string_view serial = absl::StripAsciiWhitespace(serial_line);
  ASSERT_TRUE(absl::ConsumePrefix(&serial, "serial="));
  const std::string aki_text = Shell(absl::StrCat("openssl x509 -noout -ext authorityKeyIdentifier -in ", leaf, ".pem"));
  absl::string_view aki_view = absl::StripAsciiWhitespace(absl::string_view(aki_text).substr(aki_text.find('\n') + 1));
  absl::ConsumePrefix(&aki_view, "keyid:");
  const std::string aki = absl::StrReplaceAll(aki_view, {{":", ""}});
  ASSERT_EQ(aki.size(), 40u) << aki_text;
  std::string pem;
  {
    FILE* f = fopen((leaf + ".pem").c_str(), "r");
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, f)) pem.append(buf, n);
    fclose(f);
  }
  absl::StatusOr<std::string> id = CertIdFromPem(pem);
  ASSERT_TRUE(id.ok()) << id.status();
  // 0x9A: high bit set, so DER's content octets start with a zero.
  EXPECT_EQ(*id, CertIdFromParts(Bytes(aki), Bytes(absl::StrCat("00", serial))));
}

TEST(AcmeAriTest, CertificateWithoutAkiHasNoCertId) {
  absl::StatusOr<std::string> id = CertIdFromDer(MakeDerCert("", "01"));
  EXPECT_EQ(id.status().code(), absl::StatusCode::kFailedPrecondition) << id.status();
  EXPECT_FALSE(CertIdFromPem("not a certificate").ok());
}

TEST(AcmeAriTest, ParsesTheSuggestedWindow) {
  absl::StatusOr<RenewalWindow> w = ParseRenewalInfo(
      R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-03T04:00:00Z"},)"
      R"("explanationURL":"https://acme.example.com/docs/ari"})");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->start, absl::FromUnixSeconds(1735790400));
  EXPECT_EQ(w->end, absl::FromUnixSeconds(1735876800));
  EXPECT_EQ(w->explanation_url, "https://acme.example.com/docs/ari");
  w = ParseRenewalInfo(R"({"suggestedWindow":{"start":"2025-01-02T05:00:00+01:00","end":"2025-01-02T04:00:00.5Z"}})");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->start, absl::FromUnixSeconds(1735790400));
  EXPECT_EQ(w->explanation_url, "");
}

TEST(AcmeAriTest, RefusesBadDocumentsByField) {
  EXPECT_FALSE(ParseRenewalInfo("not json").ok());
  EXPECT_FALSE(ParseRenewalInfo("[]").ok());
  EXPECT_FALSE(ParseRenewalInfo(R"({"explanationURL":"x"})").ok());
  absl::StatusOr<RenewalWindow> w = ParseRenewalInfo(R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z"}})");
  EXPECT_NE(w.status().message().find("suggestedWindow.end"), absl::string_view::npos) << w.status();
  w = ParseRenewalInfo(R"({"suggestedWindow":{"start":"yesterday","end":"2025-01-02T04:00:00Z"}})");
  EXPECT_NE(w.status().message().find("suggestedWindow.start \"yesterday\""), absl::string_view::npos) << w.status();
  w = ParseRenewalInfo(R"({"suggestedWindow":{"start":"2025-01-03T04:00:00Z","end":"2025-01-02T04:00:00Z"}})");
  EXPECT_NE(w.status().message().find("ends before it starts"), absl::string_view::npos) << w.status();
}

TEST(AcmeAriTest, ChoosesInsideTheWindow) {
  const RenewalWindow w{.start = absl::FromUnixSeconds(1000), .end = absl::FromUnixSeconds(2000)};
  EXPECT_EQ(ChooseRenewalTime(w, 0.0), absl::FromUnixSeconds(1000));
  EXPECT_EQ(ChooseRenewalTime(w, 0.25), absl::FromUnixSeconds(1250));
  EXPECT_EQ(ChooseRenewalTime(w, 1.0), absl::FromUnixSeconds(2000));
  EXPECT_EQ(ChooseRenewalTime(w, 7.0), absl::FromUnixSeconds(2000));  // clamped
}

TEST(AcmeAriTest, PollDelayHonoursRetryAfterWithinClamps) {
  const RenewalInfoPolicy p;
  EXPECT_EQ(RenewalInfoPollDelay(p, false, std::nullopt), absl::Hours(6));
  EXPECT_EQ(RenewalInfoPollDelay(p, true, std::nullopt), absl::Hours(1));
  EXPECT_EQ(RenewalInfoPollDelay(p, false, absl::Hours(3)), absl::Hours(3));
  EXPECT_EQ(RenewalInfoPollDelay(p, false, absl::Seconds(5)), absl::Minutes(1));
  EXPECT_EQ(RenewalInfoPollDelay(p, true, absl::Hours(100)), absl::Hours(24));
}

}  // namespace
}  // namespace edgerouter::acme
