#include "common/certbus/cert_info.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <climits>
#include <ctime>
#include <memory>

#include "absl/strings/str_cat.h"

namespace edgerouter::certbus {
namespace {

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct NamesDeleter {
  void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

std::string Asn1String(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::vector<std::string> DnsNames(X509* cert) {
  std::vector<std::string> out;
  std::unique_ptr<GENERAL_NAMES, NamesDeleter> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
      if (name->type == GEN_DNS) out.push_back(Asn1String(name->d.dNSName));
    }
  }
  if (out.empty()) {
    // Legacy certificates with no SAN: the subject CN is the name, as browsers once did.
    X509_NAME* subject = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx >= 0) out.push_back(Asn1String(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx))));
  }
  return out;
}

}  // namespace

absl::StatusOr<CertificateInfo> ReadCertificateInfo(absl::string_view bundle) {
  if (bundle.size() > INT_MAX) return absl::InvalidArgumentError("certificate bundle too large");
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(bundle.data(), static_cast<int>(bundle.size())));
  std::vector<X509Ptr> chain;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) chain.emplace_back(cert);
  // Running out of PEM blocks is the normal end; anything else is a broken block.
  const unsigned long err = ERR_peek_last_error();
  const bool clean_end = ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  if (chain.empty()) return absl::InvalidArgumentError("no PEM certificate found");
  if (err != 0 && !clean_end) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate ", chain.size() + 1, " of the bundle does not parse"));
  }
  CertificateInfo info;
  info.chain_length = static_cast<int>(chain.size());
  info.domains = DnsNames(chain[0].get());
  if (info.domains.empty()) {
    return absl::InvalidArgumentError("the leaf certificate names no DNS name (no SAN, no CN)");
  }
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(chain[0].get()), &tm) != 1) {
    return absl::InvalidArgumentError("the leaf certificate's notAfter does not parse");
  }
  info.not_after = absl::FromUnixSeconds(timegm(&tm));
  return info;
}

std::string FormatRfc3339(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view text) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not RFC 3339: ", error));
  }
  return t;
}

}  // namespace edgerouter::certbus
