#include "common/certbus/certbus.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace edgerouter::certbus {

void PkeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

namespace {

constexpr size_t kAesKeyLen = 32;
constexpr size_t kIvLen = 16;

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BnCtxDeleter {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
struct BnDeleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct DecoderCtxDeleter {
  void operator()(OSSL_DECODER_CTX* c) const { OSSL_DECODER_CTX_free(c); }
};
struct ParamBldDeleter {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamDeleter {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;

// Key bytes on the stack are wiped whichever way the function returns.
template <size_t N>
struct SecretBytes {
  unsigned char data[N];
  ~SecretBytes() { OPENSSL_cleanse(data, N); }
};

// The last OpenSSL error as text, for context (reason strings carry no key material). The
// queue is cleared so stale errors cannot confuse later calls.
std::string OpenSslError() {
  unsigned long code = ERR_peek_last_error();
  std::string out = "no OpenSSL detail";
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    out = buf;
  }
  ERR_clear_error();
  return out;
}

BioPtr MemBio(absl::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// Encrypted PEM keys fail instead of prompting for a passphrase on the terminal.
int NoPassphrase(char*, int, int, void*) { return -1; }

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::Status SetOaepSha256(EVP_PKEY_CTX* ctx) {
  // Go's rsa.EncryptOAEP(sha256.New(), …) uses SHA-256 for both the label hash and MGF1.
  if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0) {
    return absl::InternalError(absl::StrCat("RSA-OAEP set-up failed: ", OpenSslError()));
  }
  return absl::OkStatus();
}

// CTR mode: encryption and decryption are the same operation.
absl::StatusOr<std::string> AesCtr(const unsigned char* key, const unsigned char* iv,
                                   absl::string_view in) {
  if (in.size() > INT_MAX) return absl::InvalidArgumentError("input too large");
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  std::string out(in.size(), '\0');
  int len = 0, tail = 0;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_ctr(), nullptr, key, iv) != 1 ||
      EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                        reinterpret_cast<const unsigned char*>(in.data()),
                        static_cast<int>(in.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &tail) !=
          1) {
    return absl::InternalError(absl::StrCat("AES-256-CTR failed: ", OpenSslError()));
  }
  out.resize(static_cast<size_t>(len + tail));
  return out;
}

void AppendSshString(std::string* out, absl::string_view s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  const char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)};
  out->append(len, 4);
  out->append(s.data(), s.size());
}

// RFC 4251 mpint of a non-negative number: big-endian, a leading zero byte when the top bit is
// set (it would read as negative), nothing at all for zero.
std::string Mpint(const BIGNUM* bn) {
  std::string bytes(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  if (!bytes.empty() && (static_cast<unsigned char>(bytes[0]) & 0x80)) bytes.insert(0, 1, '\0');
  return bytes;
}

bool ReadSshString(absl::string_view* in, absl::string_view* out) {
  if (in->size() < 4) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(in->data());
  const uint32_t n = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  if (in->size() - 4 < n) return false;
  *out = in->substr(4, n);
  in->remove_prefix(4 + n);
  return true;
}

// `ssh-rsa AAAA… [comment]` → RSA public key.
absl::StatusOr<PkeyPtr> ParseOpenSshRsa(absl::string_view line) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  std::string wire;
  if (fields.size() < 2 || !absl::Base64Unescape(fields[1], &wire)) {
    return absl::InvalidArgumentError("OpenSSH public key: expected \"ssh-rsa <base64>\"");
  }
  absl::string_view rest = wire, type, e, n;
  if (!ReadSshString(&rest, &type) || type != "ssh-rsa" || !ReadSshString(&rest, &e) ||
      !ReadSshString(&rest, &n) || !rest.empty()) {
    return absl::InvalidArgumentError("OpenSSH public key: not a well-formed ssh-rsa key blob");
  }
  BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), e.size(), nullptr));
  BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), n.size(), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (!bn_e || !bn_n || !bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return absl::InternalError(absl::StrCat("OpenSSH public key: ", OpenSslError()));
  }
  std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("OpenSSH public key: ", OpenSslError()));
  }
  return PkeyPtr(key);
}

// PEM `RSA PUBLIC KEY` (PKCS#1) or `PUBLIC KEY` (SPKI).
absl::StatusOr<PkeyPtr> ParsePublicPem(absl::string_view pem) {
  EVP_PKEY* key = nullptr;
  std::unique_ptr<OSSL_DECODER_CTX, DecoderCtxDeleter> dctx(OSSL_DECODER_CTX_new_for_pkey(
      &key, "PEM", nullptr, "RSA", EVP_PKEY_PUBLIC_KEY, nullptr, nullptr));
  const auto* data = reinterpret_cast<const unsigned char*>(pem.data());
  size_t len = pem.size();
  if (!dctx || OSSL_DECODER_from_data(dctx.get(), &data, &len) != 1 || key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a PEM RSA public key (PKCS#1 or SPKI): ", OpenSslError()));
  }
  return PkeyPtr(key);
}

// For RSA keys with CRT values: n = p·q, dP = d mod (p-1), dQ = d mod (q-1), e·d ≡ 1 modulo
// p-1 and q-1, qInv·q ≡ 1 mod p. A flipped bit in p, q or a CRT value does not break signing
// (OpenSSL verifies CRT results and silently falls back to d), so only arithmetic shows it.
absl::Status CheckRsaParts(EVP_PKEY* key) {
  const char* names[] = {OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
                         OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
                         OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
                         OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
  BnPtr v[8];
  for (int i = 0; i < 8; ++i) {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(key, names[i], &bn) != 1) {
      ERR_clear_error();
      if (i < 3) return absl::DataLossError("RSA private key lacks n, e or d");
      return absl::OkStatus();  // no CRT values: the self-test signature is the check
    }
    v[i].reset(bn);
  }
  const BIGNUM *n = v[0].get(), *e = v[1].get(), *d = v[2].get(), *p = v[3].get(),
               *q = v[4].get(), *dp = v[5].get(), *dq = v[6].get(), *qinv = v[7].get();
  std::unique_ptr<BN_CTX, BnCtxDeleter> ctx(BN_CTX_new());
  BnPtr t(BN_new()), p1(BN_dup(p)), q1(BN_dup(q));
  bool ok = ctx && t && p1 && q1 && BN_sub_word(p1.get(), 1) && BN_sub_word(q1.get(), 1) &&
            !BN_is_zero(p1.get()) && !BN_is_zero(q1.get()) &&
            BN_mul(t.get(), p, q, ctx.get()) && BN_cmp(t.get(), n) == 0 &&
            BN_mod(t.get(), d, p1.get(), ctx.get()) && BN_cmp(t.get(), dp) == 0 &&
            BN_mod(t.get(), d, q1.get(), ctx.get()) && BN_cmp(t.get(), dq) == 0 &&
            BN_mod_mul(t.get(), e, d, p1.get(), ctx.get()) && BN_is_one(t.get()) &&
            BN_mod_mul(t.get(), e, d, q1.get(), ctx.get()) && BN_is_one(t.get()) &&
            BN_mod_mul(t.get(), qinv, q, p, ctx.get()) && BN_is_one(t.get());
  ERR_clear_error();
  if (!ok) return absl::DataLossError("RSA private key values are inconsistent");
  return absl::OkStatus();
}

// With no MAC in the format, this is what catches a flipped bit inside the key's numbers: the
// RSA arithmetic above, then a signature made with the private part must verify with the key's
// own public part (any key type). About 1 ms for RSA-2048, unlike EVP_PKEY_pairwise_check,
// whose prime tests take tens of milliseconds per key.
absl::Status CheckConsistent(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
    if (absl::Status s = CheckRsaParts(key); !s.ok()) return s;
  }
  static constexpr unsigned char kMessage[] = "edgerouter certbus key self-test";
  const int type = EVP_PKEY_get_base_id(key);
  // Ed25519/Ed448 sign the message itself, with no separate digest.
  const EVP_MD* md = type == EVP_PKEY_ED25519 || type == EVP_PKEY_ED448 ? nullptr : EVP_sha256();
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> sign(EVP_MD_CTX_new()), verify(EVP_MD_CTX_new());
  unsigned char sig[1024];
  size_t sig_len = sizeof(sig);
  const bool ok =
      sign && verify && static_cast<size_t>(EVP_PKEY_get_size(key)) <= sizeof(sig) &&
      EVP_DigestSignInit(sign.get(), nullptr, md, nullptr, key) == 1 &&
      EVP_DigestSign(sign.get(), sig, &sig_len, kMessage, sizeof(kMessage)) == 1 &&
      EVP_DigestVerifyInit(verify.get(), nullptr, md, nullptr, key) == 1 &&
      EVP_DigestVerify(verify.get(), sig, sig_len, kMessage, sizeof(kMessage)) == 1;
  if (!ok) {
    return absl::DataLossError(
        absl::StrCat("private key is inconsistent (self-test signature does not verify): ",
                     OpenSslError()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> SshWireFormat(EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    return absl::InvalidArgumentError("not an RSA key");
  }
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  const bool ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
                  EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) == 1;
  BnPtr n_owner(n), e_owner(e);
  if (!ok) return absl::InternalError(absl::StrCat("RSA key parameters: ", OpenSslError()));
  std::string wire;
  AppendSshString(&wire, "ssh-rsa");
  AppendSshString(&wire, Mpint(e));
  AppendSshString(&wire, Mpint(n));
  return wire;
}

absl::StatusOr<std::string> Fingerprint(EVP_PKEY* key) {
  absl::StatusOr<std::string> wire = SshWireFormat(key);
  if (!wire.ok()) return wire.status();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(wire->data(), wire->size(), digest, &digest_len, EVP_sha256(), nullptr) != 1) {
    return absl::InternalError(absl::StrCat("SHA-256: ", OpenSslError()));
  }
  std::string b64 = absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest), digest_len));
  // Go's base64.RawStdEncoding: standard alphabet, no padding.
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return absl::StrCat("SHA256:", b64);
}

absl::StatusOr<KekPublicKey> KekPublicKey::FromPkey(PkeyPtr key) {
  absl::StatusOr<std::string> fp = Fingerprint(key.get());
  if (!fp.ok()) return fp.status();
  return KekPublicKey(std::move(key), *std::move(fp));
}

std::string KekPublicKey::ToOpenSsh() const {
  absl::StatusOr<std::string> wire = SshWireFormat(key_.get());
  return wire.ok() ? absl::StrCat("ssh-rsa ", absl::Base64Escape(*wire)) : "";
}

absl::StatusOr<Kek> Kek::FromPkey(PkeyPtr key) {
  if (key == nullptr || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    return absl::InvalidArgumentError("KEK must be an RSA private key");
  }
  absl::StatusOr<std::string> fp = Fingerprint(key.get());
  if (!fp.ok()) return fp.status();
  return Kek(std::move(key), *std::move(fp));
}

KekPublicKey Kek::public_key() const {
  EVP_PKEY_up_ref(key_.get());
  return KekPublicKey(PkeyPtr(key_.get()), fingerprint_);
}

absl::StatusOr<PkeyPtr> ParsePrivateKeyPem(absl::string_view pem) {
  if (pem.size() > INT_MAX) return absl::InvalidArgumentError("private key PEM too large");
  // Setting up OpenSSL 3's decoder chain for "any PEM private key" (what PEM_read_bio_PrivateKey
  // does per call) costs thousands of allocations; each thread builds it once and reuses it.
  // It writes the key it decodes to the thread's `decoded` slot.
  thread_local EVP_PKEY* decoded = nullptr;
  thread_local std::unique_ptr<OSSL_DECODER_CTX, DecoderCtxDeleter> dctx = [] {
    std::unique_ptr<OSSL_DECODER_CTX, DecoderCtxDeleter> c(OSSL_DECODER_CTX_new_for_pkey(
        &decoded, "PEM", nullptr, nullptr, EVP_PKEY_KEYPAIR, nullptr, nullptr));
    if (c != nullptr && OSSL_DECODER_CTX_set_pem_password_cb(c.get(), NoPassphrase, nullptr) != 1) {
      c.reset();
    }
    return c;
  }();
  decoded = nullptr;
  const auto* data = reinterpret_cast<const unsigned char*>(pem.data());
  size_t len = pem.size();
  EVP_PKEY* key = nullptr;
  if (dctx != nullptr && OSSL_DECODER_from_data(dctx.get(), &data, &len) == 1) key = decoded;
  decoded = nullptr;
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an unencrypted PEM private key: ", OpenSslError()));
  }
  return PkeyPtr(key);
}

absl::StatusOr<Kek> LoadKekFromPem(absl::string_view pem) {
  absl::StatusOr<PkeyPtr> key = ParsePrivateKeyPem(pem);
  if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat("KEK: ", key.status().message()));
  return Kek::FromPkey(*std::move(key));
}

absl::StatusOr<Kek> LoadKekFromPemFile(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFile(path);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<Kek> kek = LoadKekFromPem(*pem);
  OPENSSL_cleanse(pem->data(), pem->size());
  if (!kek.ok()) return absl::Status(kek.status().code(), absl::StrCat(path, ": ", kek.status().message()));
  return kek;
}

absl::StatusOr<Kek> LoadKekFromBase64Pem(absl::string_view b64) {
  // Go's StdEncoding skips line breaks; a value pasted from `base64` output has them.
  std::string compact;
  for (char c : b64) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) compact.push_back(c);
  }
  std::string pem;
  if (compact.empty() || !absl::Base64Unescape(compact, &pem)) {
    return absl::InvalidArgumentError("KEK: not standard base64 of a PEM private key");
  }
  absl::StatusOr<Kek> kek = LoadKekFromPem(pem);
  OPENSSL_cleanse(pem.data(), pem.size());
  return kek;
}

absl::StatusOr<Kek> LoadKekFromEnv() {
  const char* value = std::getenv(kKekEnv);
  if (value == nullptr || *value == '\0') {
    return absl::NotFoundError(absl::StrCat(kKekEnv, " is not set"));
  }
  absl::StatusOr<Kek> kek = LoadKekFromBase64Pem(value);
  if (!kek.ok()) {
    return absl::Status(kek.status().code(), absl::StrCat(kKekEnv, ": ", kek.status().message()));
  }
  return kek;
}

absl::StatusOr<KekPublicKey> LoadKekPublicKey(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  absl::StatusOr<PkeyPtr> key;
  if (absl::StartsWith(text, "ssh-")) {
    if (!absl::StartsWith(text, "ssh-rsa ") && !absl::StartsWith(text, "ssh-rsa\t")) {
      return absl::InvalidArgumentError("OpenSSH public key: only ssh-rsa keys can be a KEK");
    }
    key = ParseOpenSshRsa(text);
  } else if (absl::StrContains(text, "-----BEGIN ")) {
    key = ParsePublicPem(text);
  } else {
    return absl::InvalidArgumentError(
        "not a public key: expected PEM (RSA PUBLIC KEY / PUBLIC KEY) or \"ssh-rsa AAAA…\"");
  }
  if (!key.ok()) return key.status();
  return KekPublicKey::FromPkey(*std::move(key));
}

absl::StatusOr<KekPublicKey> LoadKekPublicKeyFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<KekPublicKey> key = LoadKekPublicKey(*text);
  if (!key.ok()) return absl::Status(key.status().code(), absl::StrCat(path, ": ", key.status().message()));
  return key;
}

absl::StatusOr<std::string> Encrypt(const KekPublicKey& kek, absl::string_view plaintext) {
  SecretBytes<kAesKeyLen> aes_key;
  unsigned char iv[kIvLen];
  if (RAND_bytes(aes_key.data, kAesKeyLen) != 1 || RAND_bytes(iv, kIvLen) != 1) {
    return absl::InternalError(absl::StrCat("random bytes: ", OpenSslError()));
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, kek.pkey(), nullptr));
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1) {
    return absl::InternalError(absl::StrCat("RSA-OAEP init: ", OpenSslError()));
  }
  if (absl::Status s = SetOaepSha256(ctx.get()); !s.ok()) return s;
  size_t envelope_len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &envelope_len, aes_key.data, kAesKeyLen) != 1) {
    return absl::InternalError(absl::StrCat("RSA-OAEP encrypt: ", OpenSslError()));
  }
  std::string envelope(envelope_len, '\0');
  if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(envelope.data()), &envelope_len,
                       aes_key.data, kAesKeyLen) != 1) {
    return absl::InternalError(absl::StrCat("RSA-OAEP encrypt: ", OpenSslError()));
  }
  envelope.resize(envelope_len);
  if (envelope_len > 0xffff) return absl::InvalidArgumentError("KEK too large for the format");
  absl::StatusOr<std::string> body = AesCtr(aes_key.data, iv, plaintext);
  if (!body.ok()) return body.status();
  std::string out;
  out.reserve(2 + envelope_len + kIvLen + body->size());
  out.push_back(static_cast<char>(envelope_len & 0xff));
  out.push_back(static_cast<char>(envelope_len >> 8));
  out += envelope;
  out.append(reinterpret_cast<const char*>(iv), kIvLen);
  out += *body;
  return out;
}

absl::StatusOr<std::string> Decrypt(const Kek& kek, absl::string_view fingerprint,
                                    absl::string_view ciphertext) {
  if (fingerprint != kek.fingerprint()) {
    return absl::FailedPreconditionError(absl::StrCat("ciphertext is for KEK ", fingerprint,
                                                      ", this KEK is ", kek.fingerprint()));
  }
  if (ciphertext.empty()) return absl::InvalidArgumentError("empty ciphertext");
  if (ciphertext.size() < 2) {
    return absl::InvalidArgumentError("truncated ciphertext: no room for the envelope length");
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(ciphertext.data());
  const size_t envelope_len = bytes[0] | (size_t{bytes[1]} << 8);
  if (ciphertext.size() < 2 + envelope_len + kIvLen) {
    return absl::InvalidArgumentError(absl::StrCat(
        "truncated ciphertext: ", ciphertext.size(), " bytes, the header alone needs ",
        2 + envelope_len + kIvLen, " (", envelope_len, "-byte RSA envelope + 16-byte IV)"));
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, kek.pkey(), nullptr));
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1) {
    return absl::InternalError(absl::StrCat("RSA-OAEP init: ", OpenSslError()));
  }
  if (absl::Status s = SetOaepSha256(ctx.get()); !s.ok()) return s;
  // An OAEP result is never longer than the modulus.
  SecretBytes<1024> aes_key;
  size_t key_len = sizeof(aes_key.data);
  if (static_cast<size_t>(EVP_PKEY_get_size(kek.pkey())) > key_len ||
      EVP_PKEY_decrypt(ctx.get(), aes_key.data, &key_len, bytes + 2, envelope_len) != 1) {
    return absl::DataLossError(absl::StrCat(
        "RSA-OAEP decryption of the ", envelope_len,
        "-byte envelope failed (corrupted envelope or a different KEK): ", OpenSslError()));
  }
  // OpenSSL's constant-time OAEP check queues an error on every decryption and only marks it
  // cleared when the padding was good; the entry (with copies of its source file and function
  // names) stays in the thread's queue until something clears it.
  ERR_clear_error();
  if (key_len != kAesKeyLen) {
    return absl::DataLossError(
        absl::StrCat("RSA envelope holds ", key_len, " bytes, not a 32-byte AES-256 key"));
  }
  return AesCtr(aes_key.data, bytes + 2 + envelope_len,
                ciphertext.substr(2 + envelope_len + kIvLen));
}

absl::StatusOr<std::string> DecryptPrivateKey(const Kek& kek, absl::string_view fingerprint,
                                              absl::string_view ciphertext) {
  absl::StatusOr<std::string> plain = Decrypt(kek, fingerprint, ciphertext);
  if (!plain.ok()) return plain.status();
  absl::Status verdict;
  if (!absl::StartsWith(*plain, "-----BEGIN ")) {
    verdict = absl::DataLossError(
        "decrypted data is not a PEM private key (tampered ciphertext or wrong format)");
  } else if (absl::StatusOr<PkeyPtr> key = ParsePrivateKeyPem(*plain); !key.ok()) {
    verdict = absl::DataLossError(absl::StrCat("decrypted data (tampered ciphertext?): ",
                                               key.status().message()));
  } else if (absl::Status s = CheckConsistent(key->get()); !s.ok()) {
    verdict = absl::DataLossError(absl::StrCat("decrypted key (tampered ciphertext?): ", s.message()));
  }
  if (!verdict.ok()) {
    OPENSSL_cleanse(plain->data(), plain->size());
    return verdict;
  }
  return plain;
}

absl::Status VerifyKeyMatchesCertificate(absl::string_view cert_pem_bundle,
                                         absl::string_view key_pem) {
  if (cert_pem_bundle.size() > INT_MAX) return absl::InvalidArgumentError("certificate too large");
  BioPtr bio = MemBio(cert_pem_bundle);
  std::unique_ptr<X509, X509Deleter> leaf(
      bio ? PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (leaf == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate bundle has no PEM certificate: ", OpenSslError()));
  }
  absl::StatusOr<PkeyPtr> key = ParsePrivateKeyPem(key_pem);
  if (!key.ok()) return key.status();
  if (absl::Status s = CheckConsistent(key->get()); !s.ok()) return s;
  if (X509_check_private_key(leaf.get(), key->get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "private key does not match the public key of the bundle's first (leaf) certificate");
  }
  return absl::OkStatus();
}

}  // namespace edgerouter::certbus
