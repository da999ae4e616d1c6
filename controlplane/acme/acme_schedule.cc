#include "controlplane/acme/acme_schedule.h"

#include <fnmatch.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <ctime>

#include "absl/strings/ascii.h"
#include "common/certbus/cert_info.h"
#include "controlplane/acme/acme_problem.h"

namespace edgerouter::acme {
namespace {

// Without a notBefore (a certificate known only by its expiry), assume Let's Encrypt's 90 days.
constexpr absl::Duration kAssumedLifetime = absl::Hours(24 * 90);

}  // namespace

absl::StatusOr<KnownCertificate> KnownCertificateFromPem(absl::string_view cert_pem_bundle) {
  absl::StatusOr<certbus::CertificateInfo> info = certbus::ReadCertificateInfo(cert_pem_bundle);
  if (!info.ok()) return info.status();
  KnownCertificate out{.domains = info->domains, .not_after = info->not_after};
  BIO* bio = BIO_new_mem_buf(cert_pem_bundle.data(), static_cast<int>(cert_pem_bundle.size()));
  X509* leaf = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (leaf != nullptr) {
    struct tm tm = {};
    if (ASN1_TIME_to_tm(X509_get0_notBefore(leaf), &tm) == 1) out.not_before = absl::FromTimeT(timegm(&tm));
    X509_free(leaf);
  }
  if (absl::StatusOr<std::string> id = CertIdFromPem(cert_pem_bundle); id.ok()) out.cert_id = *std::move(id);
  return out;
}

absl::Time RenewalTime(const KnownCertificate& cert) {
  if (cert.not_before == absl::InfinitePast() || cert.not_before >= cert.not_after) {
    return cert.not_after - kAssumedLifetime / 3;
  }
  return cert.not_before + (cert.not_after - cert.not_before) * 2 / 3;
}

absl::string_view NameStateName(NameState state) {
  switch (state) {
    case NameState::kQueued: return "queued";
    case NameState::kPending: return "pending";
    case NameState::kIssued: return "issued";
    case NameState::kFailing: return "failing";
    case NameState::kExcluded: return "excluded";
    case NameState::kSkipped: return "skipped";
  }
  return "unknown";
}

absl::Duration BackoffDelay(const SchedulePolicy& policy, int failures, const absl::Status& status) {
  absl::Duration delay = policy.backoff_initial;
  for (int i = 1; i < failures && delay < policy.backoff_max; ++i) delay *= 2;
  delay = std::min(delay, policy.backoff_max);
  if (IsRateLimited(status)) delay = std::max(delay, policy.rate_limited_min);
  if (std::optional<absl::Duration> after = RetryAfter(status)) delay = std::max(delay, *after);
  return delay;
}

bool MatchesExclude(const std::vector<std::string>& patterns, absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (const std::string& p : patterns) {
    if (fnmatch(absl::AsciiStrToLower(p).c_str(), lower.c_str(), 0) == 0) return true;
  }
  return false;
}

}  // namespace edgerouter::acme
