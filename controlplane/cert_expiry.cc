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
        for (auto it = by_expiry_.begin(); it != by_expiry_.end() && it->first <= now; ++it) ++n;
        return n;
      });
}

namespace {

std::string Domains(const snapshot::v1::Resource& r) { return absl::StrJoin(r.certificate().domains(), ","); }

}  // namespace

void CertExpiryReporter::Forget(const std::string& id) {
  auto it = expiries_.find(id);
  if (it != expiries_.end()) {
    by_expiry_.erase({it->second, id});
    expiries_.erase(it);
  }
  expiry_->Remove({id});
}

void CertExpiryReporter::Note(const snapshot::v1::Resource& cert, absl::Time now) {
  const snapshot::v1::Certificate& c = cert.certificate();
  absl::StatusOr<absl::Time> expiry = certbus::ParseRfc3339(c.expires());
  if (!expiry.ok()) {
    log::Warn("certificate expiry unreadable").Kv("id", c.id()).Kv("expires", c.expires()).Kv("domains", Domains(cert));
    return;
  }
  expiries_[c.id()] = *expiry;
  by_expiry_.insert({*expiry, c.id()});
  expiry_->Set({c.id()}, static_cast<double>(absl::ToUnixSeconds(*expiry)));
  if (*expiry <= now) {
    // Kept in the snapshot: reported, not dropped.
    log::Warn("certificate expired").Kv("id", c.id()).Kv("expires", c.expires()).Kv("domains", Domains(cert));
  }
}

void CertExpiryReporter::OnSnapshot(std::shared_ptr<const BuiltSnapshot> snapshot, absl::Time now) {
  static const BuiltSnapshot kNothing;
  const BuiltSnapshot& last = last_ != nullptr ? *last_ : kNothing;
  absl::MutexLock lock(&mu_);
  // Certificates kept from the last snapshot that have expired since: reported once.
  for (auto it = by_expiry_.lower_bound({checked_ + absl::Nanoseconds(1), std::string()});
       it != by_expiry_.end() && it->first <= now; ++it) {
    if (const snapshot::v1::Resource* r = snapshot->Find("cert/" + it->second); r != nullptr) {
      log::Warn("certificate expired")
          .Kv("id", it->second)
          .Kv("expires", r->certificate().expires())
          .Kv("domains", Domains(*r));
    }
  }
  checked_ = std::max(checked_, now);
  DiffSets(
      last.resources, snapshot->resources,
      [](const ResourcePtr& a, const ResourcePtr& b) { return a->version() == b->version(); },
      [&](const ResourcePtr& r) {
        if (r->has_certificate()) Forget(r->certificate().id());
      },
      [&](const ResourcePtr* old, const ResourcePtr& r) {
        if (old != nullptr && (*old)->has_certificate()) Forget((*old)->certificate().id());
        if (r->has_certificate()) Note(*r, now);
      });
  last_ = std::move(snapshot);
}

}  // namespace edgerouter::controlplane
