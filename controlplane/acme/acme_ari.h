// ACME Renewal Information (ARI, RFC 9773), the parts without I/O: the certificate identifier a
// CA's renewalInfo resource is addressed by, the CA's suggested window, the renewal time chosen
// in it and how long to wait before asking again. The issuer (acme_issuer.cc) does the fetching.
#ifndef EDGEROUTER_CONTROLPLANE_ACME_ACME_ARI_H_
#define EDGEROUTER_CONTROLPLANE_ACME_ACME_ARI_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace edgerouter::acme {

// RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(serial's DER content octets), no
// padding. The serial's content octets keep the leading zero DER adds to a positive number whose
// high bit is set.
std::string CertIdFromParts(absl::string_view aki_key_id, absl::string_view serial_der_content);
// The identifier of the leaf (first certificate) of a PEM bundle, or of one DER certificate.
// FAILED_PRECONDITION when it has no Authority Key Identifier keyIdentifier (no ARI for it).
absl::StatusOr<std::string> CertIdFromPem(absl::string_view cert_pem_bundle);
absl::StatusOr<std::string> CertIdFromDer(absl::string_view cert_der);

// A renewalInfo document: {"suggestedWindow": {"start": RFC 3339, "end": RFC 3339},
// "explanationURL": optional}.
struct RenewalWindow {
  absl::Time start;
  absl::Time end;
  std::string explanation_url;  // "" if none
};
absl::StatusOr<RenewalWindow> ParseRenewalInfo(absl::string_view body);

// A time uniformly in [start, end] (`uniform` in [0, 1)), so a fleet's renewals spread over the
// window (RFC 9773 §4.2). A time already past means: renew now.
absl::Time ChooseRenewalTime(const RenewalWindow& window, double uniform);

struct RenewalInfoPolicy {
  absl::Duration default_poll = absl::Hours(6);  // after an answer without Retry-After
  absl::Duration error_retry = absl::Hours(1);   // after a failed fetch (the 2/3 rule stands meanwhile)
  absl::Duration min_poll = absl::Minutes(1);    // clamp of every re-poll delay
  absl::Duration max_poll = absl::Hours(24);
};
// The wait before asking again: the CA's Retry-After (else the default, or error_retry after a
// failure), clamped to [min_poll, max_poll].
absl::Duration RenewalInfoPollDelay(const RenewalInfoPolicy& policy, bool failed,
                                    std::optional<absl::Duration> retry_after);

}  // namespace edgerouter::acme

#endif  // EDGEROUTER_CONTROLPLANE_ACME_ACME_ARI_H_
