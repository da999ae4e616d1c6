#include "controlplane/acme/acme_jws.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace edgerouter::acme {
namespace {

constexpr size_t kCoordinateBytes = 32;  // P-256

// The most recent OpenSSL error, for messages (never contains key material).
std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

absl::StatusOr<std::string> Coordinate(EVP_PKEY* key, const char* param) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, param, &raw) != 1) {
    return absl::InternalError(absl::StrCat("reading ", param, ": ", OpenSslError()));
  }
  std::unique_ptr<BIGNUM, BnFree> bn(raw);
  std::string out(kCoordinateBytes, '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), kCoordinateBytes) < 0) {
    return absl::InternalError(absl::StrCat(param, " does not fit 32 bytes"));
  }
  return out;
}

}  // namespace

std::string Base64Url(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }

absl::StatusOr<EvpPkeyPtr> GenerateP256Key() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return absl::InternalError(absl::StrCat("generating a P-256 key: ", OpenSslError()));
  return key;
}

absl::StatusOr<std::string> PrivateKeyToPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return absl::InternalError(absl::StrCat("encoding a private key: ", OpenSslError()));
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<size_t>(len));
  // The BIO's buffer held the key: wipe it before it goes back to the allocator.
  OPENSSL_cleanse(data, static_cast<size_t>(len));
  return pem;
}

absl::StatusOr<AccountKey> AccountKey::Generate() {
  absl::StatusOr<EvpPkeyPtr> key = GenerateP256Key();
  if (!key.ok()) return key.status();
  return FromPkey(*std::move(key), "generated account key");
}

absl::StatusOr<AccountKey> AccountKey::FromPem(absl::string_view pem, absl::string_view what) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EvpPkeyPtr key(bio == nullptr ? nullptr : PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(what, ": not a PEM private key"));
  }
  return FromPkey(std::move(key), what);
}

absl::StatusOr<AccountKey> AccountKey::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("account key ", path, ": ", std::strerror(errno)));
  std::stringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  absl::StatusOr<AccountKey> key = FromPem(pem, absl::StrCat("account key ", path));
  OPENSSL_cleanse(pem.data(), pem.size());
  return key;
}

absl::StatusOr<AccountKey> AccountKey::FromPkey(EvpPkeyPtr key, absl::string_view what) {
  char group[64] = {0};
  size_t group_len = 0;
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC ||
      EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     &group_len) != 1 ||
      (std::strcmp(group, "prime256v1") != 0 && std::strcmp(group, "P-256") != 0)) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": not an EC P-256 key (ES256 is the only algorithm supported)"));
  }
  absl::StatusOr<std::string> x = Coordinate(key.get(), OSSL_PKEY_PARAM_EC_PUB_X);
  if (!x.ok()) return x.status();
  absl::StatusOr<std::string> y = Coordinate(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
  if (!y.ok()) return y.status();

  AccountKey out;
  out.key_ = std::shared_ptr<EVP_PKEY>(key.release(), EvpPkeyFree());
  // nlohmann::json keeps object members sorted, and dump() without indent has no whitespace:
  // exactly the RFC 7638 canonical form.
  out.jwk_ = {{"crv", "P-256"}, {"kty", "EC"}, {"x", Base64Url(*x)}, {"y", Base64Url(*y)}};
  const std::string canonical = out.jwk_.dump();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  if (EVP_Digest(canonical.data(), canonical.size(), digest, nullptr, EVP_sha256(), nullptr) != 1) {
    return absl::InternalError(absl::StrCat("SHA-256: ", OpenSslError()));
  }
  out.thumbprint_ = Base64Url(absl::string_view(reinterpret_cast<char*>(digest), sizeof(digest)));
  return out;
}

absl::StatusOr<std::string> AccountKey::ToPem() const { return PrivateKeyToPem(key_.get()); }

absl::Status AccountKey::SaveFile(const std::string& path) const {
  absl::StatusOr<std::string> pem = ToPem();
  if (!pem.ok()) return pem.status();
  const std::string tmp = absl::StrCat(path, ".tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("account key ", tmp, ": ", std::strerror(errno)));
  size_t done = 0;
  while (done < pem->size()) {
    ssize_t n = ::write(fd, pem->data() + done, pem->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  OPENSSL_cleanse(pem->data(), pem->size());
  const bool ok = done == pem->size() && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = ok ? errno : err;
    ::unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("account key ", path, ": ", std::strerror(e)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> AccountKey::Sign(absl::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  size_t der_len = 0;
  if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1) {
    return absl::InternalError(absl::StrCat("ES256 sign: ", OpenSslError()));
  }
  std::string der(der_len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &der_len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return absl::InternalError(absl::StrCat("ES256 sign: ", OpenSslError()));
  }
  // OpenSSL emits an ASN.1 ECDSA-Sig-Value; JWS wants the two integers fixed-width, concatenated.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (sig == nullptr) return absl::InternalError(absl::StrCat("ES256 signature: ", OpenSslError()));
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string out(2 * kCoordinateBytes, '\0');
  auto* buf = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(r, buf, kCoordinateBytes) < 0 ||
      BN_bn2binpad(s, buf + kCoordinateBytes, kCoordinateBytes) < 0) {
    return absl::InternalError("ES256 signature: R or S wider than 32 bytes");
  }
  return out;
}

absl::StatusOr<std::string> SignJws(const AccountKey& key, const JwsHeader& header,
                                    absl::string_view payload) {
  nlohmann::json protected_header = {{"alg", "ES256"}, {"nonce", header.nonce}, {"url", header.url}};
  if (header.kid.empty()) {
    protected_header["jwk"] = key.jwk();
  } else {
    protected_header["kid"] = header.kid;
  }
  const std::string protected_b64 = Base64Url(protected_header.dump());
  const std::string payload_b64 = Base64Url(payload);
  absl::StatusOr<std::string> signature = key.Sign(absl::StrCat(protected_b64, ".", payload_b64));
  if (!signature.ok()) return signature.status();
  nlohmann::json jws = {
      {"protected", protected_b64}, {"payload", payload_b64}, {"signature", Base64Url(*signature)}};
  return jws.dump();
}

std::string KeyAuthorization(absl::string_view token, const AccountKey& key) {
  return absl::StrCat(token, ".", key.thumbprint());
}

}  // namespace edgerouter::acme
