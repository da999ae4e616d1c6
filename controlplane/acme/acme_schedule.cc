#include "controlplane/acme/acme_schedule.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/certbus/cert_info.h"
#include "controlplane/acme/acme_problem.h"

namespace edgerouter::acme {
namespace {

// Without a notBefore (a certificate known only by its expiry), assume Let's Encrypt's 90 days.
constexpr absl::Duration kAssumedLifetime = absl::Hours(24 * 90);

// Why `name` cannot be validated over HTTP-01, "" if it can.
std::string SkipReason(const std::string& name, bool regexp) {
  if (regexp) return "host regexp: HTTP-01 validates exact names only";
  if (absl::StrContains(name, '*')) return "wildcard: needs DNS-01, which is not supported";
  unsigned char buf[16];
  if (inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1) {
    return "IP address: only DNS names are ordered";
  }
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.' ||
      absl::StrContains(name, "..") || !absl::StrContains(name, '.')) {
    return "not a fully qualified host name";
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') {
      return "not a host name (characters other than letters, digits, '-' and '.')";
    }
  }
  return "";
}

bool Covers(const std::string& domain, const std::string& name) {
  const std::string d = absl::AsciiStrToLower(domain);
  if (d == name) return true;
  if (!absl::StartsWith(d, "*.")) return false;
  const size_t dot = name.find('.');  // a wildcard covers exactly one label
  return dot != std::string::npos && name.substr(dot) == d.substr(1);
}

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

NameTracker::NameTracker(SchedulePolicy policy, std::vector<std::string> exclude)
    : policy_(policy), exclude_(std::move(exclude)) {}

void NameTracker::SetWanted(const std::vector<NameRequest>& requests) {
  wanted_.clear();
  for (const NameRequest& r : requests) {
    Record& record = wanted_[absl::AsciiStrToLower(r.name)];
    record.sources.insert(r.source);
    record.regexp = record.regexp || r.regexp;
  }
}

void NameTracker::SetCertificates(std::vector<KnownCertificate> certs) {
  certs_ = std::move(certs);
  PruneRenewalInfo();
}

void NameTracker::PruneRenewalInfo() {
  std::set<std::string> ids;
  for (const KnownCertificate& c : certs_) ids.insert(c.cert_id);
  for (const auto& [name, h] : history_) {
    if (h.issued) ids.insert(h.issued->cert_id);
  }
  std::erase_if(ari_, [&](const auto& entry) { return !ids.contains(entry.first); });
}

std::optional<KnownCertificate> NameTracker::BestCover(const std::string& name) const {
  std::optional<KnownCertificate> best;
  auto consider = [&](const KnownCertificate& c) {
    if (!std::any_of(c.domains.begin(), c.domains.end(), [&](const std::string& d) { return Covers(d, name); })) {
      return;
    }
    if (!best || RenewalTime(c) > RenewalTime(*best)) best = c;
  };
  for (const KnownCertificate& c : certs_) consider(c);
  if (auto h = history_.find(name); h != history_.end() && h->second.issued) consider(*h->second.issued);
  return best;
}

NameStatus NameTracker::StatusOf(const std::string& name, const Record& record, absl::Time now) const {
  NameStatus s{.name = name, .sources = {record.sources.begin(), record.sources.end()}};
  if (std::string why = SkipReason(name, record.regexp); !why.empty()) {
    s.state = NameState::kSkipped;
    s.detail = std::move(why);
    return s;
  }
  if (MatchesExclude(exclude_, name)) {
    s.state = NameState::kExcluded;
    s.detail = "matches an exclude pattern";
    return s;
  }
  if (std::optional<KnownCertificate> cover = BestCover(name)) {
    s.not_after = cover->not_after;
    s.renew_at = RenewalTime(*cover);
    s.cert_id = cover->cert_id;
    if (auto a = ari_.find(cover->cert_id); !cover->cert_id.empty() && a != ari_.end() && a->second.window) {
      s.ari_window = a->second.window;
      s.renew_at = std::min(s.renew_at, a->second.renew_at);  // the CA may say earlier, never later
    }
  }
  const History* h = nullptr;
  if (auto it = history_.find(name); it != history_.end()) h = &it->second;
  if (h != nullptr && h->in_flight) {
    s.state = NameState::kPending;
  } else if (now < s.renew_at) {
    s.state = NameState::kIssued;
    if (s.ari_window) {
      s.detail = absl::StrCat("ARI window ", certbus::FormatRfc3339(s.ari_window->start), " to ",
                              certbus::FormatRfc3339(s.ari_window->end));
      if (!s.ari_window->explanation_url.empty()) absl::StrAppend(&s.detail, " (", s.ari_window->explanation_url, ")");
    }
  } else if (h != nullptr && h->failures > 0) {
    s.state = NameState::kFailing;
    s.detail = h->last_error;
    s.retry_at = h->retry_at;
  } else {
    s.state = NameState::kQueued;
  }
  if (h != nullptr) s.failures = h->failures;
  return s;
}

std::optional<std::string> NameTracker::NextOrder(absl::Time now) const {
  std::optional<std::string> renewal;
  absl::Time renewal_at = absl::InfiniteFuture();
  for (const auto& [name, record] : wanted_) {
    NameStatus s = StatusOf(name, record, now);
    const bool due = s.state == NameState::kQueued || (s.state == NameState::kFailing && now >= s.retry_at);
    if (!due) continue;
    if (s.renew_at == absl::InfinitePast()) return name;  // no certificate at all: first
    if (!renewal || s.renew_at < renewal_at) {
      renewal = name;
      renewal_at = s.renew_at;
    }
  }
  return renewal;
}

absl::Time NameTracker::NextWakeup(absl::Time now) const {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [name, record] : wanted_) {
    NameStatus s = StatusOf(name, record, now);
    switch (s.state) {
      case NameState::kQueued: return now;
      case NameState::kIssued:
        next = std::min(next, s.renew_at);
        if (ari_available_ && !s.cert_id.empty()) {
          auto a = ari_.find(s.cert_id);
          next = std::min(next, std::max(now, a == ari_.end() ? now : a->second.next_fetch));
        }
        break;
      case NameState::kFailing: next = std::min(next, std::max(now, s.retry_at)); break;
      default: break;
    }
  }
  return next;
}

std::optional<std::string> NameTracker::NextRenewalInfoFetch(absl::Time now) const {
  if (!ari_available_) return std::nullopt;
  for (const auto& [name, record] : wanted_) {
    NameStatus s = StatusOf(name, record, now);
    if (s.state != NameState::kIssued || s.cert_id.empty()) continue;
    auto a = ari_.find(s.cert_id);
    if (a == ari_.end() || a->second.next_fetch <= now) return s.cert_id;
  }
  return std::nullopt;
}

void NameTracker::OnRenewalInfo(const std::string& cert_id, const absl::StatusOr<RenewalWindow>& window,
                                std::optional<absl::Duration> retry_after, absl::Time now, double uniform) {
  RenewalInfoRecord& r = ari_[cert_id];
  if (window.ok()) {
    // A new time only for a new window, so re-polling does not keep moving the renewal.
    if (!r.window || r.window->start != window->start || r.window->end != window->end) {
      r.renew_at = ChooseRenewalTime(*window, uniform);
    }
    r.window = *window;
  }
  r.next_fetch = now + RenewalInfoPollDelay(policy_.renewal_info, !window.ok(), retry_after);
}

std::string NameTracker::ReplacesFor(const std::string& name) const {
  std::optional<KnownCertificate> cover = BestCover(absl::AsciiStrToLower(name));
  if (!cover || cover->cert_id.empty()) return "";
  auto a = ari_.find(cover->cert_id);
  return a != ari_.end() && a->second.window ? cover->cert_id : "";
}

void NameTracker::OnOrderStarted(const std::string& name) { history_[name].in_flight = true; }

void NameTracker::OnIssued(const std::string& name, const KnownCertificate& cert) {
  History& h = history_[name];
  h = History{.issued = cert};
  PruneRenewalInfo();
}

void NameTracker::OnFailed(const std::string& name, const absl::Status& status, absl::Time now) {
  History& h = history_[name];
  h.in_flight = false;
  ++h.failures;
  h.last_error = std::string(status.message());
  h.retry_at = now + BackoffDelay(policy_, h.failures, status);
}

std::vector<NameStatus> NameTracker::States(absl::Time now) const {
  std::vector<NameStatus> out;
  for (const auto& [name, record] : wanted_) out.push_back(StatusOf(name, record, now));
  return out;
}

}  // namespace edgerouter::acme
