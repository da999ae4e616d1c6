// NameTracker (acme_schedule.h): the wanted names, the certificates covering them and the queues
// of names waiting for an order. Every mutation re-derives only the names it touches (Refresh),
// so a change costs O(names touched × log names), whatever the size of the wanted set.
#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/certbus/cert_info.h"
#include "controlplane/acme/acme_schedule.h"

namespace edgerouter::acme {
namespace {

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

// "a.example.com" → "example.com": what a wildcard one label up names. "" without a dot.
absl::string_view Parent(absl::string_view name) {
  const size_t dot = name.find('.');
  return dot == absl::string_view::npos ? absl::string_view() : name.substr(dot + 1);
}

}  // namespace

NameTracker::NameTracker(SchedulePolicy policy, std::vector<std::string> exclude) : policy_(policy) {
  for (const std::string& p : exclude) exclude_.push_back(absl::AsciiStrToLower(p));
}

void NameTracker::SetWanted(const std::vector<NameRequest>& requests) {
  for (auto& [name, record] : wanted_) {
    Unqueue(name, record);
    SetCover(name, record, "");
  }
  wanted_.clear();
  by_parent_.clear();
  for (const NameRequest& r : requests) AddRequest(r);
}

void NameTracker::UpdateWanted(const std::vector<NameRequest>& removed, const std::vector<NameRequest>& added) {
  for (const NameRequest& r : removed) RemoveRequest(r);
  for (const NameRequest& r : added) AddRequest(r);
}

void NameTracker::AddRequest(const NameRequest& request) {
  const std::string name = absl::AsciiStrToLower(request.name);
  auto [it, inserted] = wanted_.try_emplace(name);
  Record& record = it->second;
  ++record.sources[request.source];
  const bool was_regexp = record.regexp_requests > 0;
  if (request.regexp) ++record.regexp_requests;
  if (!inserted && was_regexp == (record.regexp_requests > 0)) return;
  if (inserted) {
    record.excluded = MatchesExclude(exclude_, name);
    if (absl::string_view parent = Parent(name); !parent.empty()) by_parent_[std::string(parent)].insert(name);
  }
  record.skip = SkipReason(name, record.regexp_requests > 0);
  Refresh(name);
}

void NameTracker::RemoveRequest(const NameRequest& request) {
  const std::string name = absl::AsciiStrToLower(request.name);
  auto it = wanted_.find(name);
  if (it == wanted_.end()) return;
  Record& record = it->second;
  auto source = record.sources.find(request.source);
  if (source == record.sources.end()) return;  // never requested that way
  if (--source->second == 0) record.sources.erase(source);
  const bool was_regexp = record.regexp_requests > 0;
  if (request.regexp && record.regexp_requests > 0) --record.regexp_requests;
  if (record.sources.empty()) {
    Unqueue(name, record);
    SetCover(name, record, "");
    if (auto p = by_parent_.find(std::string(Parent(name))); p != by_parent_.end()) {
      p->second.erase(name);
      if (p->second.empty()) by_parent_.erase(p);
    }
    wanted_.erase(it);
    return;
  }
  if (was_regexp != (record.regexp_requests > 0)) {
    record.skip = SkipReason(name, record.regexp_requests > 0);
    Refresh(name);
  }
}

void NameTracker::SetCertificates(std::vector<KnownCertificate> certs) {
  std::map<std::string, KnownCertificate> old = std::move(certs_);
  certs_.clear();
  by_domain_.clear();
  for (size_t i = 0; i < certs.size(); ++i) {
    auto [it, unused] = certs_.emplace(absl::StrCat("#", i), std::move(certs[i]));
    IndexCertificate(&it->second, true);
  }
  for (const auto& [key, cert] : old) RefreshCovered(cert);
  for (const auto& [key, cert] : certs_) RefreshCovered(cert);
  // Counted up before down, so renewal info of a certificate that stays is kept.
  for (const auto& [key, cert] : certs_) CountCertId(cert.cert_id, +1);
  for (const auto& [key, cert] : old) CountCertId(cert.cert_id, -1);
}

void NameTracker::PutCertificate(const std::string& key, KnownCertificate cert) {
  auto it = certs_.find(key);
  if (it == certs_.end()) {
    it = certs_.emplace(key, std::move(cert)).first;
    IndexCertificate(&it->second, true);
    RefreshCovered(it->second);
    CountCertId(it->second.cert_id, +1);
    return;
  }
  IndexCertificate(&it->second, false);
  KnownCertificate old = std::exchange(it->second, std::move(cert));
  IndexCertificate(&it->second, true);
  RefreshCovered(old);
  RefreshCovered(it->second);
  CountCertId(it->second.cert_id, +1);
  CountCertId(old.cert_id, -1);
}

void NameTracker::RemoveCertificate(const std::string& key) {
  auto it = certs_.find(key);
  if (it == certs_.end()) return;
  IndexCertificate(&it->second, false);
  KnownCertificate old = std::move(it->second);
  certs_.erase(it);
  RefreshCovered(old);
  CountCertId(old.cert_id, -1);
}

void NameTracker::IndexCertificate(const KnownCertificate* cert, bool add) {
  for (const std::string& domain : cert->domains) {
    const std::string key = absl::AsciiStrToLower(domain);
    if (add) {
      std::vector<const KnownCertificate*>& certs = by_domain_[key];
      if (std::find(certs.begin(), certs.end(), cert) == certs.end()) certs.push_back(cert);
      continue;
    }
    auto it = by_domain_.find(key);
    if (it == by_domain_.end()) continue;
    std::erase(it->second, cert);
    if (it->second.empty()) by_domain_.erase(it);
  }
}

void NameTracker::RefreshCovered(const KnownCertificate& cert) {
  for (const std::string& domain : cert.domains) {
    const std::string key = absl::AsciiStrToLower(domain);
    if (!absl::StartsWith(key, "*.")) {
      Refresh(key);
      continue;
    }
    auto under = by_parent_.find(key.substr(2));
    if (under == by_parent_.end()) continue;
    for (const std::string& name : under->second) Refresh(name);  // Refresh leaves by_parent_ alone
  }
}

// Renewal info is dropped with the last certificate carrying its identifier.
void NameTracker::CountCertId(const std::string& cert_id, int delta) {
  if (cert_id.empty()) return;
  int& n = cert_ids_[cert_id];
  n += delta;
  if (n > 0) return;
  cert_ids_.erase(cert_id);
  ari_.erase(cert_id);
}

const NameTracker::History* NameTracker::HistoryOf(const std::string& name) const {
  auto it = history_.find(name);
  return it == history_.end() ? nullptr : &it->second;
}

absl::Time NameTracker::NextFetch(const std::string& cert_id) const {
  auto it = ari_.find(cert_id);
  return it == ari_.end() ? absl::InfinitePast() : it->second.next_fetch;
}

const KnownCertificate* NameTracker::BestCover(const std::string& name) const {
  const KnownCertificate* best = nullptr;
  auto consider = [&](const KnownCertificate* c) {
    if (best == nullptr || RenewalTime(*c) > RenewalTime(*best)) best = c;
  };
  if (auto exact = by_domain_.find(name); exact != by_domain_.end()) {
    for (const KnownCertificate* c : exact->second) consider(c);
  }
  if (const size_t dot = name.find('.'); dot != std::string::npos) {  // a wildcard covers one label
    if (auto wild = by_domain_.find(absl::StrCat("*", name.substr(dot))); wild != by_domain_.end()) {
      for (const KnownCertificate* c : wild->second) consider(c);
    }
  }
  if (const History* h = HistoryOf(name); h != nullptr && h->issued) consider(&*h->issued);
  return best;
}

void NameTracker::SetCover(const std::string& name, Record& record, const std::string& cert_id) {
  if (record.cert_id == cert_id) return;
  if (!record.cert_id.empty()) {
    auto users = cover_users_.find(record.cert_id);
    if (users != cover_users_.end()) {
      users->second.erase(name);
      if (users->second.empty()) {
        ari_queue_.erase({NextFetch(record.cert_id), record.cert_id});
        cover_users_.erase(users);
      }
    }
  }
  record.cert_id = cert_id;
  if (cert_id.empty()) return;
  std::set<std::string>& users = cover_users_[cert_id];
  if (users.empty()) ari_queue_.insert({NextFetch(cert_id), cert_id});
  users.insert(name);
}

void NameTracker::Unqueue(const std::string& name, Record& record) {
  switch (record.queue) {
    case Queue::kFresh: fresh_.erase(name); break;
    case Queue::kRetrying: retrying_.erase({record.due, name}); break;
    case Queue::kRenewal: renewals_.erase({record.due, name}); break;
    case Queue::kNone: break;
  }
  record.queue = Queue::kNone;
}

void NameTracker::Refresh(const std::string& name) {
  auto it = wanted_.find(name);
  if (it == wanted_.end()) return;
  Record& record = it->second;
  Unqueue(name, record);
  record.history = HistoryOf(name);
  record.not_after = absl::InfinitePast();
  record.renew_at = absl::InfinitePast();
  const bool orderable = record.skip.empty() && !record.excluded;
  std::string cert_id;
  if (const KnownCertificate* cover = orderable ? BestCover(name) : nullptr) {
    record.not_after = cover->not_after;
    record.renew_at = RenewalTime(*cover);
    cert_id = cover->cert_id;
    if (auto a = ari_.find(cert_id); !cert_id.empty() && a != ari_.end() && a->second.window) {
      record.renew_at = std::min(record.renew_at, a->second.renew_at);  // the CA may say earlier, never later
    }
  }
  SetCover(name, record, cert_id);
  const History* h = record.history;
  if (!orderable || (h != nullptr && h->in_flight)) return;
  const bool failing = h != nullptr && h->failures > 0;
  if (record.renew_at == absl::InfinitePast() && !failing) {
    record.queue = Queue::kFresh;
    fresh_.insert(name);
  } else if (record.renew_at == absl::InfinitePast()) {
    record.queue = Queue::kRetrying;
    record.due = h->retry_at;
    retrying_.insert({record.due, name});
  } else {
    record.queue = Queue::kRenewal;
    record.due = failing ? std::max(record.renew_at, h->retry_at) : record.renew_at;
    renewals_.insert({record.due, name});
  }
}

std::optional<std::string> NameTracker::NextOrder(absl::Time now) const {
  std::optional<std::string> first;
  if (!fresh_.empty()) first = *fresh_.begin();
  // Names without a certificate whose retry is due compete by name with the fresh ones. Few
  // are due at once: the issuer orders one name at a time, each a round trip to the CA.
  for (auto it = retrying_.begin(); it != retrying_.end() && it->first <= now; ++it) {
    if (!first || it->second < *first) first = it->second;
  }
  if (first) return first;
  if (!renewals_.empty() && renewals_.begin()->first <= now) return renewals_.begin()->second;
  return std::nullopt;
}

absl::Time NameTracker::NextWakeup(absl::Time now) const {
  if (!fresh_.empty()) return now;
  absl::Time next = absl::InfiniteFuture();
  if (!retrying_.empty()) next = std::min(next, std::max(now, retrying_.begin()->first));
  if (!renewals_.empty()) next = std::min(next, std::max(now, renewals_.begin()->first));
  if (next <= now || !ari_available_) return next;
  for (const auto& [fetch, cert_id] : ari_queue_) {
    if (!FetchWanted(cert_id, now)) continue;
    return std::min(next, std::max(now, fetch));
  }
  return next;
}

bool NameTracker::FetchWanted(const std::string& cert_id, absl::Time now) const {
  auto users = cover_users_.find(cert_id);
  if (users == cover_users_.end()) return false;
  for (const std::string& name : users->second) {
    const Record& record = wanted_.at(name);
    if (now >= record.renew_at) return false;  // one cover, one renewal time for all its names
    if (record.history == nullptr || !record.history->in_flight) return true;
  }
  return false;
}

std::optional<std::string> NameTracker::NextRenewalInfoFetch(absl::Time now) const {
  if (!ari_available_) return std::nullopt;
  for (const auto& [fetch, cert_id] : ari_queue_) {
    if (fetch > now) break;
    if (FetchWanted(cert_id, now)) return cert_id;
  }
  return std::nullopt;
}

void NameTracker::OnRenewalInfo(const std::string& cert_id, const absl::StatusOr<RenewalWindow>& window,
                                std::optional<absl::Duration> retry_after, absl::Time now, double uniform) {
  const absl::Time old_fetch = NextFetch(cert_id);
  RenewalInfoRecord& r = ari_[cert_id];
  if (window.ok()) {
    // A new time only for a new window, so re-polling does not keep moving the renewal.
    if (!r.window || r.window->start != window->start || r.window->end != window->end) {
      r.renew_at = ChooseRenewalTime(*window, uniform);
    }
    r.window = *window;
  }
  r.next_fetch = now + RenewalInfoPollDelay(policy_.renewal_info, !window.ok(), retry_after);
  auto users = cover_users_.find(cert_id);
  if (users == cover_users_.end()) return;
  ari_queue_.erase({old_fetch, cert_id});
  ari_queue_.insert({r.next_fetch, cert_id});
  const std::vector<std::string> names(users->second.begin(), users->second.end());
  for (const std::string& name : names) Refresh(name);
}

std::string NameTracker::ReplacesFor(const std::string& name) const {
  const KnownCertificate* cover = BestCover(absl::AsciiStrToLower(name));
  if (cover == nullptr || cover->cert_id.empty()) return "";
  auto a = ari_.find(cover->cert_id);
  return a != ari_.end() && a->second.window ? cover->cert_id : "";
}

bool NameTracker::HasCertificate(const std::string& name) const {
  return BestCover(absl::AsciiStrToLower(name)) != nullptr;
}

void NameTracker::OnOrderStarted(const std::string& name) {
  history_[name].in_flight = true;
  Refresh(name);
}

void NameTracker::OnIssued(const std::string& name, const KnownCertificate& cert) {
  History& h = history_[name];
  const std::string replaced = h.issued ? h.issued->cert_id : "";
  h = History{.issued = cert};
  Refresh(name);
  CountCertId(cert.cert_id, +1);
  CountCertId(replaced, -1);
}

void NameTracker::OnFailed(const std::string& name, const absl::Status& status, absl::Time now) {
  History& h = history_[name];
  h.in_flight = false;
  ++h.failures;
  h.last_error = std::string(status.message());
  h.retry_at = now + BackoffDelay(policy_, h.failures, status);
  Refresh(name);
}

NameState NameTracker::StateOf(const Record& record, absl::Time now) {
  if (!record.skip.empty()) return NameState::kSkipped;
  if (record.excluded) return NameState::kExcluded;
  const History* h = record.history;
  if (h != nullptr && h->in_flight) return NameState::kPending;
  if (now < record.renew_at) return NameState::kIssued;
  if (h != nullptr && h->failures > 0) return NameState::kFailing;
  return NameState::kQueued;
}

NameStatus NameTracker::StatusOf(const std::string& name, const Record& record, absl::Time now) const {
  NameStatus s{.name = name, .state = StateOf(record, now)};
  for (const auto& [source, requests] : record.sources) s.sources.push_back(source);
  if (s.state == NameState::kSkipped) {
    s.detail = record.skip;
    return s;
  }
  if (s.state == NameState::kExcluded) {
    s.detail = "matches an exclude pattern";
    return s;
  }
  s.not_after = record.not_after;
  s.renew_at = record.renew_at;
  s.cert_id = record.cert_id;
  if (auto a = ari_.find(record.cert_id); !record.cert_id.empty() && a != ari_.end() && a->second.window) {
    s.ari_window = a->second.window;
  }
  const History* h = record.history;
  if (s.state == NameState::kIssued && s.ari_window) {
    s.detail = absl::StrCat("ARI window ", certbus::FormatRfc3339(s.ari_window->start), " to ",
                            certbus::FormatRfc3339(s.ari_window->end));
    if (!s.ari_window->explanation_url.empty()) absl::StrAppend(&s.detail, " (", s.ari_window->explanation_url, ")");
  } else if (s.state == NameState::kFailing) {
    s.detail = h->last_error;
    s.retry_at = h->retry_at;
  }
  if (h != nullptr) s.failures = h->failures;
  return s;
}

std::vector<NameStatus> NameTracker::States(absl::Time now) const {
  std::vector<NameStatus> out;
  out.reserve(wanted_.size());
  for (const auto& [name, record] : wanted_) out.push_back(StatusOf(name, record, now));
  return out;
}

NameTracker::Summary NameTracker::Summarize(absl::Time now) const {
  Summary out;
  for (const auto& [name, record] : wanted_) {
    const NameState state = StateOf(record, now);
    ++out.by_state[static_cast<int>(state)];
    if (state == NameState::kIssued) out.next_renewal = std::min(out.next_renewal, record.renew_at);
  }
  return out;
}

}  // namespace edgerouter::acme
