#include "controlplane/acme/acme_csr.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace edgerouter::acme {
namespace {

// X.520 ub-common-name: longer names go in the SAN only.
constexpr size_t kMaxCommonName = 64;

struct ReqFree {
  void operator()(X509_REQ* r) const { X509_REQ_free(r); }
};
struct ExtStackFree {
  void operator()(STACK_OF(X509_EXTENSION) * s) const { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }
};

absl::Status CsrError(absl::string_view step) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  char buf[256] = "unknown OpenSSL error";
  if (code != 0) ERR_error_string_n(code, buf, sizeof(buf));
  return absl::InternalError(absl::StrCat("CSR ", step, ": ", buf));
}

}  // namespace

absl::StatusOr<std::string> MakeCsrDer(EVP_PKEY* key, const std::vector<std::string>& dns_names) {
  if (dns_names.empty()) return absl::InvalidArgumentError("CSR: no names");
  for (const std::string& name : dns_names) {
    // The SAN is built from a config string: a comma would start another entry.
    if (name.empty() || name.find_first_of(", \t\r\n") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("CSR: invalid DNS name \"", name, "\""));
    }
  }
  std::unique_ptr<X509_REQ, ReqFree> req(X509_REQ_new());
  if (req == nullptr || X509_REQ_set_version(req.get(), 0) != 1) return CsrError("new");
  if (dns_names[0].size() <= kMaxCommonName) {
    X509_NAME* subject = X509_REQ_get_subject_name(req.get());
    if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(dns_names[0].c_str()), -1, -1,
                                   0) != 1) {
      return CsrError("subject");
    }
  }
  const std::string san = absl::StrCat("DNS:", absl::StrJoin(dns_names, ",DNS:"));
  std::unique_ptr<STACK_OF(X509_EXTENSION), ExtStackFree> exts(sk_X509_EXTENSION_new_null());
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  if (exts == nullptr || ext == nullptr) return CsrError("subjectAltName");
  sk_X509_EXTENSION_push(exts.get(), ext);
  if (X509_REQ_add_extensions(req.get(), exts.get()) != 1) return CsrError("extensions");
  if (X509_REQ_set_pubkey(req.get(), key) != 1) return CsrError("public key");
  if (X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) return CsrError("sign");
  const int len = i2d_X509_REQ(req.get(), nullptr);
  if (len <= 0) return CsrError("encode");
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_X509_REQ(req.get(), &p) != len) return CsrError("encode");
  return der;
}

}  // namespace edgerouter::acme
