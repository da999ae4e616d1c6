// Expired certificates are reported, not dropped: the snapshot keeps them (a data plane may
// still prefer an expired certificate to a failed handshake, and removing one is the
// operator's call), while the control plane logs them and exports their expiry as metrics.
#ifndef EDGEROUTER_CONTROLPLANE_CERT_EXPIRY_H_
#define EDGEROUTER_CONTROLPLANE_CERT_EXPIRY_H_

#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "controlplane/snapshot_builder.h"

namespace edgerouter::controlplane {

struct CertExpiry {
  std::string id;
  std::string expires;       // as in the event
  bool parsed = false;       // false: Expires is missing or not RFC 3339
  absl::Time expiry;         // when parsed
};

// Every certificate of the snapshot, sorted by id.
std::vector<CertExpiry> CertificateExpiries(const BuiltSnapshot& snapshot);

// Logs one WARN line per expired certificate (and per unreadable Expires) of each new
// snapshot, and keeps two metric families current:
//   er_cp_certificates_expired                            certificates past their expiry, now
//   er_cp_certificate_expiry_timestamp_seconds{id="…"}    each certificate's expiry
class CertExpiryReporter {
 public:
  explicit CertExpiryReporter(metrics::MetricsRegistry* registry);
  // Call with every published snapshot (a ConfigHub listener).
  void OnSnapshot(const BuiltSnapshot& snapshot, absl::Time now = absl::Now());

 private:
  metrics::Gauge* expiry_;
  absl::Mutex mu_;
  std::vector<absl::Time> expiries_ ABSL_GUARDED_BY(mu_);  // read by the callback gauge
  std::set<std::string> exported_ids_ ABSL_GUARDED_BY(mu_);
};

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_CERT_EXPIRY_H_
