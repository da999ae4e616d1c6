// The certificate signing request an order is finalized with (RFC 8555 §7.4): a PKCS#10 CSR in
// DER for a set of DNS names (subjectAltName; the first name also as the subject CN when it
// fits), signed with SHA-256 by the certificate's own key.
#ifndef EDGEROUTER_CONTROLPLANE_ACME_ACME_CSR_H_
#define EDGEROUTER_CONTROLPLANE_ACME_ACME_CSR_H_

#include <openssl/evp.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace edgerouter::acme {

absl::StatusOr<std::string> MakeCsrDer(EVP_PKEY* key, const std::vector<std::string>& dns_names);

}  // namespace edgerouter::acme

#endif  // EDGEROUTER_CONTROLPLANE_ACME_ACME_CSR_H_
