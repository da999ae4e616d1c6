// Expired certificates are reported, not dropped: the snapshot keeps them (a data plane may
// still prefer an expired certificate to a failed handshake, and removing one is the
// operator's call), while the control plane logs them and exports their expiry as metrics.
#ifndef EDGEROUTER_CONTROLPLANE_CERT_EXPIRY_H_
#define EDGEROUTER_CONTROLPLANE_CERT_EXPIRY_H_

#include <map>
#include <memory>
#include <set>
#include <utility>
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

// Logs a WARN line for a certificate that enters a snapshot expired or with an unreadable
// Expires, and once for one that expires while it is in the snapshots (a line per certificate
// per snapshot would repeat every expired certificate on every app change), and keeps two metric
// families current:
//   er_cp_certificates_expired                            certificates past their expiry, now
//   er_cp_certificate_expiry_timestamp_seconds{id="…"}    each certificate's expiry
// Each snapshot is diffed against the last (DiffSets): a change costs what it changed, not the
// number of certificates.
class CertExpiryReporter {
 public:
  explicit CertExpiryReporter(metrics::MetricsRegistry* registry);
  // Call with every published snapshot (a ConfigHub listener).
  void OnSnapshot(std::shared_ptr<const BuiltSnapshot> snapshot, absl::Time now = absl::Now());

 private:
  void Note(const snapshot::v1::Resource& cert, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Forget(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  metrics::Gauge* expiry_;
  std::shared_ptr<const BuiltSnapshot> last_;  // listener thread only
  absl::Mutex mu_;
  std::map<std::string, absl::Time> expiries_ ABSL_GUARDED_BY(mu_);              // by id, readable ones
  std::set<std::pair<absl::Time, std::string>> by_expiry_ ABSL_GUARDED_BY(mu_);  // read by the callback gauge
  absl::Time checked_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();  // expiries up to here are reported
};

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_CERT_EXPIRY_H_
