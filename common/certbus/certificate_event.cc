#include "common/certbus/certificate_event.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/certbus/cert_info.h"

namespace edgerouter::certbus {

std::string DefaultCertId(std::vector<std::string> domains) {
  std::sort(domains.begin(), domains.end());
  return domains.empty() ? "" : domains.front();
}

absl::StatusOr<events::v1::CertificateObtained> MakeCertificateObtained(const std::string& cert_pem_bundle,
                                                                        const std::string& key_pem,
                                                                        const KekPublicKey& kek,
                                                                        const std::string& id) {
  absl::StatusOr<CertificateInfo> info = ReadCertificateInfo(cert_pem_bundle);
  if (!info.ok()) return absl::InvalidArgumentError(absl::StrCat("--cert: ", info.status().message()));
  if (absl::Status s = VerifyKeyMatchesCertificate(cert_pem_bundle, key_pem); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--key: ", s.message()));
  }
  absl::StatusOr<std::string> ciphertext = Encrypt(kek, key_pem);
  if (!ciphertext.ok()) return ciphertext.status();
  events::v1::CertificateObtained event;
  event.set_id(id.empty() ? DefaultCertId(info->domains) : id);
  event.set_reason("new");
  for (const std::string& d : info->domains) event.add_domains(d);
  event.set_expires(FormatRfc3339(info->not_after));
  event.set_cert_pem_bundle(cert_pem_bundle);
  event.set_private_key_dek_fingerprint(kek.fingerprint());
  event.set_private_key_ciphertext(*std::move(ciphertext));
  return event;
}

}  // namespace edgerouter::certbus
