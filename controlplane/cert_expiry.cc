#include "controlplane/cert_expiry.h"


#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "common/certbus/cert_info.h"
#include "common/log/log.h"

namespace edgerouter::controlplane {

std::vector<CertExpiry> CertificateExpiries(const BuiltSnapshot& snapshot) {
  std::vector<CertExpiry> out;
  // Sorted by name, so by id; only the "cert/" range is walked, not the apps.
  for (auto it = snapshot.resources.LowerBound("cert/"); it != snapshot.resources.end(); ++it) {
    const ResourcePtr& r = *it;
    if (!absl::StartsWith(r->name(), "cert/")) break;
    if (!r->has_certificate()) continue;
    CertExpiry e;
    e.id = r->certificate().id();
    e.expires = r->certificate().expires();
    if (absl::StatusOr<absl::Time> t = certbus::ParseRfc3339(e.expires); t.ok()) {
      e.parsed = true;
      e.expiry = *t;
    }
    out.push_back(std::move(e));
  }
  return out;
}

CertExpiryReporter::CertExpiryReporter(metrics::MetricsRegistry* registry)
    : expiry_(registry->AddGauge("er_cp_certificate_expiry_timestamp_seconds",
                                 "Expiry (notAfter) of each certificate in the snapshot, Unix time.",
                                 {"id"})) {
  // Evaluated at scrape time, so a certificate that expires between snapshots is counted.
  registry->AddCallbackGauge(
      "er_cp_certificates_expired", "Certificates in the snapshot past their expiry.", [this] {
        const absl::Time now = absl::Now();
        absl::MutexLock lock(&mu_);
        double n = 0;
        for (absl::Time t : expiries_) n += t <= now;
        return n;
      });
}

void CertExpiryReporter::OnSnapshot(const BuiltSnapshot& snapshot, absl::Time now) {
  std::vector<CertExpiry> certs = CertificateExpiries(snapshot);
  std::vector<absl::Time> expiries;
  std::set<std::string> ids;
  for (const CertExpiry& c : certs) {
    ids.insert(c.id);
    const snapshot::v1::Resource* r = snapshot.Find("cert/" + c.id);
    const std::string domains = r ? absl::StrJoin(r->certificate().domains(), ",") : "";
    if (!c.parsed) {
      log::Warn("certificate expiry unreadable").Kv("id", c.id).Kv("expires", c.expires).Kv("domains", domains);
      expiry_->Remove({c.id});
      continue;
    }
    expiries.push_back(c.expiry);
    expiry_->Set({c.id}, static_cast<double>(absl::ToUnixSeconds(c.expiry)));
    if (c.expiry <= now) {
      // Kept in the snapshot: reported, not dropped.
      log::Warn("certificate expired").Kv("id", c.id).Kv("expires", c.expires).Kv("domains", domains);
    }
  }
  absl::MutexLock lock(&mu_);
  for (const std::string& gone : exported_ids_) {
    if (!ids.count(gone)) expiry_->Remove({gone});
  }
  exported_ids_ = std::move(ids);
  expiries_ = std::move(expiries);
}

}  // namespace edgerouter::controlplane
