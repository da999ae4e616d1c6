#include "controlplane/acme/acme_issuer.h"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <random>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/certbus/certificate_event.h"

namespace edgerouter::acme {

absl::StatusOr<std::optional<AccountKey>> FileAccountKeyStore::Load() {
  struct stat st;
  if (stat(path_.c_str(), &st) != 0 && errno == ENOENT) return std::optional<AccountKey>();
  absl::StatusOr<AccountKey> key = AccountKey::LoadFile(path_);
  if (!key.ok()) return key.status();
  return std::optional<AccountKey>(*std::move(key));
}

absl::Status FileAccountKeyStore::Save(const AccountKey& key) { return key.SaveFile(path_); }

absl::StatusOr<std::optional<AccountKey>> MemoryAccountKeyStore::Load() {
  absl::MutexLock lock(&mu_);
  if (!pem_) return std::optional<AccountKey>();
  absl::StatusOr<AccountKey> key = AccountKey::FromPem(*pem_, "stored account key");
  if (!key.ok()) return key.status();
  return std::optional<AccountKey>(*std::move(key));
}

absl::Status MemoryAccountKeyStore::Save(const AccountKey& key) {
  absl::StatusOr<std::string> pem = key.ToPem();
  if (!pem.ok()) return pem.status();
  absl::MutexLock lock(&mu_);
  pem_ = *std::move(pem);
  return absl::OkStatus();
}

std::optional<std::string> MemoryAccountKeyStore::pem() const {
  absl::MutexLock lock(&mu_);
  return pem_;
}

Issuer::Issuer(IssuerOptions options, certbus::KekPublicKey kek, AccountKeyStore* account_keys,
               ChallengePublisher* challenges, CertificateSink* sink, controlplane::Lease* lease, const Clock* clock)
    : options_(std::move(options)),
      kek_(std::move(kek)),
      account_keys_(account_keys),
      challenges_(challenges),
      sink_(sink),
      lease_(lease),
      clock_(clock != nullptr ? clock : &real_clock_),
      tracker_(options_.policy, options_.exclude) {}

Issuer::~Issuer() { Stop(); }

void Issuer::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Run(); });
}

void Issuer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

void Issuer::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
  cv_.SignalAll();
}

void Issuer::SetWantedNames(const std::vector<NameRequest>& names) {
  absl::MutexLock lock(&mu_);
  tracker_.SetWanted(names);
  woken_ = true;
  cv_.SignalAll();
}

void Issuer::UpdateWantedNames(const std::vector<NameRequest>& removed, const std::vector<NameRequest>& added) {
  absl::MutexLock lock(&mu_);
  tracker_.UpdateWanted(removed, added);
  woken_ = true;
  cv_.SignalAll();
}

void Issuer::UpdateCertificates(std::vector<std::pair<std::string, std::optional<KnownCertificate>>> changes) {
  absl::MutexLock lock(&mu_);
  for (auto& [key, cert] : changes) {
    if (cert) {
      tracker_.PutCertificate(key, *std::move(cert));
    } else {
      tracker_.RemoveCertificate(key);
    }
  }
  woken_ = true;
  cv_.SignalAll();
}

void Issuer::SetCertificates(std::vector<KnownCertificate> certs) {
  absl::MutexLock lock(&mu_);
  tracker_.SetCertificates(std::move(certs));
  woken_ = true;
  cv_.SignalAll();
}

std::vector<NameStatus> Issuer::States() const {
  absl::MutexLock lock(&mu_);
  return tracker_.States(clock_->Now());
}

NameTracker::Summary Issuer::Summarize() const {
  absl::MutexLock lock(&mu_);
  return tracker_.Summarize(clock_->Now());
}

IssuerStats Issuer::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void Issuer::Run() {
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    ++stats_.wakeups;
    woken_ = false;
    const absl::Time now = clock_->Now();
    stats_.lease_held = lease_->IsHeld();
    std::optional<std::string> name;
    if (stats_.lease_held) name = tracker_.NextOrder(now);
    if (name) {
      const bool renewal = tracker_.HasCertificate(*name);  // due for renewal
      const std::string replaces = renewal ? tracker_.ReplacesFor(*name) : "";
      tracker_.OnOrderStarted(*name);
      ++stats_.orders_started;
      if (!replaces.empty()) ++stats_.orders_replacing;
      mu_.Unlock();
      bool resumed = false;
      bool no_account = false;
      absl::StatusOr<KnownCertificate> cert = Order(*name, renewal, replaces, &resumed, &no_account);
      mu_.Lock();
      if (resumed) ++stats_.orders_resumed;
      UpdateClientStats();
      if (cert.ok()) {
        tracker_.OnIssued(*name, *cert);
        ++stats_.certificates_issued;
        continue;
      }
      const absl::Time failed_at = clock_->Now();
      tracker_.OnFailed(*name, cert.status(), failed_at);
      ++stats_.orders_failed;
      // Without an account no name can be ordered: every name due now shares the failure and
      // its backoff, so a CA that is down gets one attempt per round, not one per wanted name.
      // (Each name once: with a zero backoff a failed name would be due again at once.)
      for (std::set<std::string> failed = {*name}; no_account;) {
        std::optional<std::string> waiting = tracker_.NextOrder(now);
        if (!waiting || !failed.insert(*waiting).second) break;
        tracker_.OnFailed(*waiting, cert.status(), failed_at);
      }
      continue;
    }
    std::optional<std::string> cert_id;
    if (stats_.lease_held) cert_id = tracker_.NextRenewalInfoFetch(now);
    if (cert_id) {
      mu_.Unlock();
      RenewalInfoFetch fetched = FetchRenewalInfo(*cert_id);
      mu_.Lock();
      UpdateClientStats();
      if (!fetched.available) {
        tracker_.SetRenewalInfoAvailable(false);
        continue;
      }
      ++stats_.renewal_info_fetches;
      if (!fetched.window.ok()) {
        ++stats_.renewal_info_failures;
        stats_.last_renewal_info_error = std::string(fetched.window.status().message());
      }
      const absl::Time fetched_at = clock_->Now();
      tracker_.OnRenewalInfo(*cert_id, fetched.window, fetched.retry_after, fetched_at,
                             std::uniform_real_distribution<double>(0.0, 1.0)(random_));
      // As for orders: without an account every fetch due now fails alike, in one attempt.
      for (std::set<std::string> failed = {*cert_id}; fetched.no_account;) {
        std::optional<std::string> waiting = tracker_.NextRenewalInfoFetch(now);
        if (!waiting || !failed.insert(*waiting).second) break;
        tracker_.OnRenewalInfo(*waiting, fetched.window, std::nullopt, fetched_at, 0.0);
      }
      continue;
    }
    if (woken_) continue;
    absl::Duration wait = options_.lease_poll;
    if (stats_.lease_held) wait = std::min(wait, tracker_.NextWakeup(now) - now);
    if (wait > absl::ZeroDuration()) cv_.WaitWithTimeout(&mu_, wait);
  }
}

void Issuer::UpdateClientStats() {
  if (client_ == nullptr) return;
  stats_.acme_requests = retired_client_stats_.requests + client_->stats().requests;
  stats_.bad_nonce_retries = retired_client_stats_.bad_nonce_retries + client_->stats().bad_nonce_retries;
  stats_.account_url = client_->account_url();
  // A client made against a directory with renewalInfo (or the override) brings ARI back.
  tracker_.SetRenewalInfoAvailable(!client_->renewal_info_url().empty());
}

Issuer::RenewalInfoFetch Issuer::FetchRenewalInfo(const std::string& cert_id) {
  RenewalInfoFetch out;
  if (absl::Status s = EnsureClient(); !s.ok()) {
    out.window = absl::Status(s.code(), absl::StrCat("ACME account at ", options_.client.directory_url, ": ", s.message()));
    out.no_account = true;
    return out;
  }
  if (client_->renewal_info_url().empty()) {
    out.available = false;
    return out;
  }
  absl::StatusOr<HttpResponse> r = client_->FetchRenewalInfo(cert_id);
  if (!r.ok()) {
    out.window = r.status();
    return out;
  }
  out.retry_after = ParseRetryAfter(r->Header("retry-after"), absl::Now());
  out.window = ParseRenewalInfo(r->body);
  if (!out.window.ok()) {
    out.window = absl::Status(out.window.status().code(),
                              absl::StrCat(client_->renewal_info_url(), "/", cert_id, ": ", out.window.status().message()));
  }
  return out;
}

absl::Status Issuer::EnsureClient() {
  if (client_ != nullptr) return absl::OkStatus();
  absl::StatusOr<std::optional<AccountKey>> stored = account_keys_->Load();
  if (!stored.ok()) return stored.status();
  std::optional<AccountKey> key = *std::move(stored);
  if (!key) {
    absl::StatusOr<AccountKey> generated = AccountKey::Generate();
    if (!generated.ok()) return generated.status();
    if (absl::Status s = account_keys_->Save(*generated); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("saving the new ACME account key: ", s.message()));
    }
    key = *std::move(generated);
  }
  absl::StatusOr<std::unique_ptr<AcmeClient>> client = AcmeClient::Connect(options_.client, *std::move(key));
  if (!client.ok()) return client.status();
  std::vector<std::string> emails = options_.emails;
  absl::StatusOr<std::string> account = (*client)->RegisterAccount(
      {.emails = std::move(emails), .terms_of_service_agreed = options_.terms_of_service_agreed});
  if (!account.ok()) {
    retired_client_stats_.requests += (*client)->stats().requests;
    return account.status();
  }
  client_ = *std::move(client);
  return absl::OkStatus();
}

absl::StatusOr<KnownCertificate> Issuer::Order(const std::string& name, bool renewal, const std::string& replaces,
                                               bool* resumed, bool* no_account) {
  if (absl::Status s = EnsureClient(); !s.ok()) {
    *no_account = true;
    return absl::Status(s.code(), absl::StrCat("ACME account at ", options_.client.directory_url, ": ", s.message()));
  }
  absl::StatusOr<KnownCertificate> result = OrderWithClient(name, renewal, replaces, resumed);
  if (journal_ != nullptr && order_recorded_) {
    journal_->OrderEnded(name, result.ok() ? "issued" : std::string(result.status().message()));
  }
  return result;
}

absl::StatusOr<KnownCertificate> Issuer::OrderWithClient(const std::string& name, bool renewal,
                                                         const std::string& replaces, bool* resumed) {
  Http01Responder responder{
      .present = [this](const std::vector<Http01Challenge>& c) { return challenges_->Publish(c); },
      .cleanup = [this](const std::vector<Http01Challenge>& c) { challenges_->Withdraw(c); }};
  const std::string resume_url = journal_ != nullptr ? journal_->OpenOrder(name) : "";
  order_recorded_ = !resume_url.empty();
  // Network deadlines are real time, whatever clock schedules the orders.
  absl::StatusOr<IssuedCertificate> issued = client_->ObtainCertificate(
      {name}, responder, absl::Now() + options_.order_timeout, resume_url,
      [&](const AcmeOrder& order) {
        if (journal_ == nullptr) return;
        journal_->OrderStarted(name, order.url);
        order_recorded_ = true;
      },
      resumed, replaces);
  if (!issued.ok()) {
    if (issued.status().code() == absl::StatusCode::kUnavailable && ProblemType(issued.status()).empty()) {
      // Transport trouble: start over with a fresh connection and directory next time.
      retired_client_stats_.requests += client_->stats().requests;
      retired_client_stats_.bad_nonce_retries += client_->stats().bad_nonce_retries;
      client_.reset();
    }
    return issued.status();
  }
  absl::StatusOr<KnownCertificate> known = KnownCertificateFromPem(issued->chain_pem);
  if (!known.ok()) return absl::InternalError(absl::StrCat("certificate for ", name, ": ", known.status().message()));

  // The plaintext key exists only between here and the encryption, and is wiped after it.
  absl::StatusOr<std::string> key_pem = PrivateKeyToPem(issued->key.get());
  issued->key.reset();
  if (!key_pem.ok()) return key_pem.status();
  absl::StatusOr<events::v1::CertificateObtained> event =
      certbus::MakeCertificateObtained(issued->chain_pem, *key_pem, kek_, /*id=*/"");
  OPENSSL_cleanse(key_pem->data(), key_pem->size());
  key_pem->clear();
  if (!event.ok()) {
    return absl::InternalError(absl::StrCat("certificate event for ", name, ": ", event.status().message()));
  }
  event->set_reason(renewal ? "renew" : "new");
  event->set_challenge_type("http-01");
  if (absl::Status s = sink_->Publish(*event); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("publishing the certificate for ", name, ": ", s.message()));
  }
  return *known;
}

}  // namespace edgerouter::acme
