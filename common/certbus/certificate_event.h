// The CertificateObtained event for the certbus stream, made from a certificate and its
// plaintext private key: by `edgerouterctl cert import` on the operator's machine and by the
// control plane's ACME issuer. The key is checked against the leaf and only its ciphertext for
// the edge nodes' KEK goes into the event.
#ifndef EDGEROUTER_COMMON_CERTBUS_CERTIFICATE_EVENT_H_
#define EDGEROUTER_COMMON_CERTBUS_CERTIFICATE_EVENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/certbus/certbus.h"
#include "proto/events.pb.h"

namespace edgerouter::certbus {

// Domains and expiry read from the leaf, the key checked against it and encrypted for `kek`.
// `id` empty: DefaultCertId(domains). Reason "new". Errors start with "--cert: " (the bundle) or
// "--key: " (the key), the flags of `cert import`.
absl::StatusOr<events::v1::CertificateObtained> MakeCertificateObtained(const std::string& cert_pem_bundle,
                                                                        const std::string& key_pem,
                                                                        const KekPublicKey& kek,
                                                                        const std::string& id);

// Stable across renewals of the same names: the first domain in sorted order.
std::string DefaultCertId(std::vector<std::string> domains);

}  // namespace edgerouter::certbus

#endif  // EDGEROUTER_COMMON_CERTBUS_CERTIFICATE_EVENT_H_
