#include "controlplane/acme/acme_jws.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/subprocess.h"
#include "gtest/gtest.h"

namespace edgerouter::acme {
namespace {

// A fixed key whose JWK and thumbprint were computed with python3-cryptography (independently
// of this code): the known answer for RFC 7638, which only gives an RSA example.
constexpr char kKatPem[] = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgw179FS6JE7C9EcUf
vbWsM0DQd1lKsFd0szlRe/vvFp6hRANCAAQHn6r/skJgC7xfgAJ2sMHUYN73lMGL
uYhIus35zAnDFco5hEEoNCfJ8dFRulGPlKKhHrDD10M5ifV8js15xR09
-----END PRIVATE KEY-----
)";
constexpr char kKatJwk[] = R"({"crv":"P-256","kty":"EC","x":"B5-q_7JCYAu8X4ACdrDB1GDe95TBi7mISLrN-cwJwxU",)"
                           R"("y":"yjmEQSg0J8nx0VG6UY-UoqEesMPXQzmJ9XyOzXnFHT0"})";
constexpr char kKatThumbprint[] = "4l7Y_jnQA2uDXlOXSYkjHVp16tVM4fMw7O4ux9Idu9o";

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

std::string Unb64(absl::string_view s) {
  std::string out;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(s, &out)) << s;
  return out;
}

// Verifies a flattened JWS with OpenSSL: R||S back to DER, then EVP_DigestVerify.
bool VerifyWithOpenSsl(EVP_PKEY* key, const nlohmann::json& jws) {
  const std::string sig = Unb64(jws["signature"].get<std::string>());
  if (sig.size() != 64) return false;
  ECDSA_SIG* ecdsa = ECDSA_SIG_new();
  auto* bytes = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG_set0(ecdsa, BN_bin2bn(bytes, 32, nullptr), BN_bin2bn(bytes + 32, 32, nullptr));
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(ecdsa, &der);
  ECDSA_SIG_free(ecdsa);
  const std::string signing_input =
      absl::StrCat(jws["protected"].get<std::string>(), ".", jws["payload"].get<std::string>());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, der, der_len, reinterpret_cast<const unsigned char*>(signing_input.data()),
                             signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  return ok;
}

TEST(AcmeJwsTest, KnownAnswerThumbprintAndJwk) {
  absl::StatusOr<AccountKey> key = AccountKey::FromPem(kKatPem);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->jwk().dump(), kKatJwk);
  EXPECT_EQ(key->thumbprint(), kKatThumbprint);
  EXPECT_EQ(KeyAuthorization("tok-1", *key), absl::StrCat("tok-1.", kKatThumbprint));
}

TEST(AcmeJwsTest, JwsWithJwkVerifiesAndCarriesHeader) {
  absl::StatusOr<AccountKey> key = AccountKey::Generate();
  ASSERT_TRUE(key.ok()) << key.status();
  absl::StatusOr<std::string> text =
      SignJws(*key, {.nonce = "n0nce", .url = "https://ca.test/new-acct"}, R"({"a":1})");
  ASSERT_TRUE(text.ok()) << text.status();
  nlohmann::json jws = nlohmann::json::parse(*text);
  nlohmann::json header = nlohmann::json::parse(Unb64(jws["protected"].get<std::string>()));
  EXPECT_EQ(header["alg"], "ES256");
  EXPECT_EQ(header["nonce"], "n0nce");
  EXPECT_EQ(header["url"], "https://ca.test/new-acct");
  EXPECT_EQ(header["jwk"], key->jwk());
  EXPECT_FALSE(header.contains("kid"));
  EXPECT_EQ(Unb64(jws["payload"].get<std::string>()), R"({"a":1})");
  EXPECT_TRUE(VerifyWithOpenSsl(key->pkey(), jws));

  // A changed payload must not verify with the same signature.
  nlohmann::json tampered = jws;
  tampered["payload"] = Base64Url(R"({"a":2})");
  EXPECT_FALSE(VerifyWithOpenSsl(key->pkey(), tampered));
}

TEST(AcmeJwsTest, KidHeaderAndPostAsGet) {
  absl::StatusOr<AccountKey> key = AccountKey::Generate();
  ASSERT_TRUE(key.ok());
  absl::StatusOr<std::string> text =
      SignJws(*key, {.nonce = "n", .url = "https://ca.test/order/1", .kid = "https://ca.test/acct/7"}, "");
  ASSERT_TRUE(text.ok());
  nlohmann::json jws = nlohmann::json::parse(*text);
  nlohmann::json header = nlohmann::json::parse(Unb64(jws["protected"].get<std::string>()));
  EXPECT_EQ(header["kid"], "https://ca.test/acct/7");
  EXPECT_FALSE(header.contains("jwk"));
  EXPECT_EQ(jws["payload"], "");  // POST-as-GET
  EXPECT_TRUE(VerifyWithOpenSsl(key->pkey(), jws));
}

TEST(AcmeJwsTest, CoordinatesKeepLeadingZeros) {
  // About one key in 128 has a coordinate below 2^248; its JWK must still carry 32 bytes.
  bool found = false;
  for (int i = 0; i < 3000 && !found; ++i) {
    absl::StatusOr<AccountKey> key = AccountKey::Generate();
    ASSERT_TRUE(key.ok());
    const std::string x = Unb64(key->jwk()["x"].get<std::string>());
    const std::string y = Unb64(key->jwk()["y"].get<std::string>());
    ASSERT_EQ(x.size(), 32u);
    ASSERT_EQ(y.size(), 32u);
    found = x[0] == '\0' || y[0] == '\0';
  }
  EXPECT_TRUE(found) << "no key with a leading zero byte in 3000 tries";
}

TEST(AcmeJwsTest, SaveAndLoadKeepTheKeyPrivate) {
  absl::StatusOr<AccountKey> key = AccountKey::Generate();
  ASSERT_TRUE(key.ok());
  const std::string path = absl::StrCat(TempDir(), "/account.pem");
  ASSERT_TRUE(key->SaveFile(path).ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<AccountKey> loaded = AccountKey::LoadFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->thumbprint(), key->thumbprint());
  EXPECT_EQ(EVP_PKEY_eq(loaded->pkey(), key->pkey()), 1);
}

TEST(AcmeJwsTest, RejectsOtherKeysByName) {
  EXPECT_NE(AccountKey::FromPem("junk", "key.pem").status().message().find("key.pem"), std::string::npos);
  EVP_PKEY* rsa = EVP_RSA_gen(2048);
  ASSERT_NE(rsa, nullptr);
  absl::StatusOr<std::string> pem = PrivateKeyToPem(rsa);
  EVP_PKEY_free(rsa);
  ASSERT_TRUE(pem.ok());
  absl::Status status = AccountKey::FromPem(*pem, "rsa.pem").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("rsa.pem: not an EC P-256 key"), std::string::npos) << status;
  EXPECT_EQ(AccountKey::LoadFile("/nonexistent/acct.pem").status().code(), absl::StatusCode::kNotFound);
}

// python3-cryptography, given only the JWK and the JWS, checks the signature and computes the
// thumbprint: an implementation independent of ours.
constexpr char kPythonCheck[] = R"(
import base64, hashlib, json, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
d = json.load(open(sys.argv[1]))
b = lambda s: base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))
jws = d['jws']
jwk = json.loads(b(jws['protected']))['jwk']
pub = ec.EllipticCurvePublicNumbers(int.from_bytes(b(jwk['x']), 'big'),
                                    int.from_bytes(b(jwk['y']), 'big'), ec.SECP256R1()).public_key()
sig = b(jws['signature'])
der = utils.encode_dss_signature(int.from_bytes(sig[:32], 'big'), int.from_bytes(sig[32:], 'big'))
pub.verify(der, (jws['protected'] + '.' + jws['payload']).encode(), ec.ECDSA(hashes.SHA256()))
canon = json.dumps({k: jwk[k] for k in ('crv', 'kty', 'x', 'y')}, sort_keys=True, separators=(',', ':'))
print('thumbprint=' + base64.urlsafe_b64encode(hashlib.sha256(canon.encode()).digest()).rstrip(b'=').decode())
)";

TEST(AcmeJwsTest, PythonCryptographyAgrees) {
  const std::string dir = TempDir();
  { std::ofstream(dir + "/check.py") << kPythonCheck; }
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<AccountKey> key = AccountKey::Generate();
    ASSERT_TRUE(key.ok());
    absl::StatusOr<std::string> jws = SignJws(*key, {.nonce = "abc", .url = "https://x.test/"}, "{}");
    ASSERT_TRUE(jws.ok());
    { std::ofstream(dir + "/in.json") << nlohmann::json{{"jws", nlohmann::json::parse(*jws)}}.dump(); }
    absl::StatusOr<std::unique_ptr<Subprocess>> py =
        Subprocess::Start({"/usr/bin/python3", dir + "/check.py", dir + "/in.json"});
    ASSERT_TRUE(py.ok()) << py.status();
    absl::StatusOr<int> exit = (*py)->Wait(absl::Seconds(30));
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_EQ(*exit, 0) << (*py)->Output();
    EXPECT_NE((*py)->Output().find(absl::StrCat("thumbprint=", key->thumbprint())), std::string::npos)
        << (*py)->Output();
  }
}

}  // namespace
}  // namespace edgerouter::acme
