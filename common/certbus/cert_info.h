// What `cert import` and expiry reporting need to know about a certificate chain, read with
// OpenSSL: the leaf's DNS names and its notAfter.
#ifndef EDGEROUTER_COMMON_CERTBUS_CERT_INFO_H_
#define EDGEROUTER_COMMON_CERTBUS_CERT_INFO_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace edgerouter::certbus {

struct CertificateInfo {
  // The leaf's subjectAltName DNS names in certificate order; its subject CN when it has none.
  std::vector<std::string> domains;
  absl::Time not_after;
  int chain_length = 0;  // certificates in the bundle, leaf first
};

// `cert_pem_bundle` is leaf + intermediates in PEM. InvalidArgument when there is no
// certificate, a later block does not parse, or the leaf names no domain.
absl::StatusOr<CertificateInfo> ReadCertificateInfo(absl::string_view cert_pem_bundle);

// "2026-03-05T10:00:00Z" (RFC 3339 UTC, seconds), the form of CertificateObtained.Expires.
std::string FormatRfc3339(absl::Time time);
// Parses what FormatRfc3339 (or Go's time.Time JSON) writes, any offset and fraction.
absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view text);

}  // namespace edgerouter::certbus

#endif  // EDGEROUTER_COMMON_CERTBUS_CERT_INFO_H_
