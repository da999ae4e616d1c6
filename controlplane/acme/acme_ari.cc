#include "controlplane/acme/acme_ari.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/certbus/cert_info.h"
#include "controlplane/acme/acme_jws.h"
#include "nlohmann/json.hpp"

namespace edgerouter::acme {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

absl::StatusOr<std::string> CertIdOf(const X509* cert) {
  const ASN1_OCTET_STRING* key_id = X509_get0_authority_key_id(const_cast<X509*>(cert));
  if (key_id == nullptr || ASN1_STRING_length(key_id) == 0) {
    return absl::FailedPreconditionError("certificate has no Authority Key Identifier keyIdentifier");
  }
  // The serial's DER encoding minus its tag and length: what RFC 9773 encodes.
  unsigned char* der = nullptr;
  const int len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &der);
  if (len < 3) {
    OPENSSL_free(der);
    return absl::InvalidArgumentError("certificate serial number cannot be encoded");
  }
  const std::string encoded(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  const size_t header = (static_cast<unsigned char>(encoded[1]) & 0x80) != 0
                            ? 2 + (static_cast<unsigned char>(encoded[1]) & 0x7f)
                            : 2;
  if (header >= encoded.size()) return absl::InvalidArgumentError("certificate serial number is malformed");
  return CertIdFromParts(
      absl::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(key_id)), ASN1_STRING_length(key_id)),
      absl::string_view(encoded).substr(header));
}

}  // namespace

std::string CertIdFromParts(absl::string_view aki_key_id, absl::string_view serial_der_content) {
  return absl::StrCat(Base64Url(aki_key_id), ".", Base64Url(serial_der_content));
}

absl::StatusOr<std::string> CertIdFromPem(absl::string_view cert_pem_bundle) {
  BIO* bio = BIO_new_mem_buf(cert_pem_bundle.data(), static_cast<int>(cert_pem_bundle.size()));
  X509Ptr leaf(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr), X509_free);
  BIO_free(bio);
  if (leaf == nullptr) return absl::InvalidArgumentError("no PEM certificate");
  return CertIdOf(leaf.get());
}

absl::StatusOr<std::string> CertIdFromDer(absl::string_view cert_der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(cert_der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(cert_der.size())), X509_free);
  if (cert == nullptr) return absl::InvalidArgumentError("not a DER certificate");
  return CertIdOf(cert.get());
}

absl::StatusOr<RenewalWindow> ParseRenewalInfo(absl::string_view body) {
  nlohmann::json json = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return absl::InvalidArgumentError("renewalInfo: not a JSON object");
  auto window = json.find("suggestedWindow");
  if (window == json.end() || !window->is_object()) {
    return absl::InvalidArgumentError("renewalInfo: no suggestedWindow object");
  }
  RenewalWindow out;
  for (auto [field, time] : {std::pair{"start", &out.start}, std::pair{"end", &out.end}}) {
    auto v = window->find(field);
    if (v == window->end() || !v->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("renewalInfo: suggestedWindow.", field, " missing"));
    }
    absl::StatusOr<absl::Time> t = certbus::ParseRfc3339(v->get<std::string>());
    if (!t.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("renewalInfo: suggestedWindow.", field, " \"", v->get<std::string>(), "\": ", t.status().message()));
    }
    *time = *t;
  }
  if (out.end < out.start) return absl::InvalidArgumentError("renewalInfo: suggestedWindow ends before it starts");
  if (auto url = json.find("explanationURL"); url != json.end() && url->is_string()) {
    out.explanation_url = url->get<std::string>();
  }
  return out;
}

absl::Time ChooseRenewalTime(const RenewalWindow& window, double uniform) {
  uniform = std::clamp(uniform, 0.0, 1.0);
  return window.start + (window.end - window.start) * uniform;
}

absl::Duration RenewalInfoPollDelay(const RenewalInfoPolicy& policy, bool failed,
                                    std::optional<absl::Duration> retry_after) {
  absl::Duration delay = retry_after.value_or(failed ? policy.error_retry : policy.default_poll);
  return std::clamp(delay, policy.min_poll, std::max(policy.min_poll, policy.max_poll));
}

}  // namespace edgerouter::acme
