// The ACME issuer: a thread that obtains certificates for the names the control plane serves,
// renews them at two thirds of their lifetime (earlier when the CA's ARI renewal window says so),
// backs off per name on failure, and hands each certificate over as a `CertificateObtained`
// event whose private key is already encrypted for the edge nodes' KEK. It orders only while its Lease is held.
//
// One order per name (not grouped by app): a name the CA refuses then fails alone, renewals of
// names are independent, and "never two orders for one name" is simply "one order at a time"
// on the issuer's single thread. The cost is one order (and one certificate) per name.
//
// The integrator supplies: the wanted names (SetWantedNames, or their changes with
// UpdateWantedNames, from the frontends and Traefik certresolver routers), the certificates
// already served (SetCertificates / UpdateCertificates, from the certbus stream), a ChallengePublisher that makes HTTP-01 answers reachable on every edge node, a
// CertificateSink that appends the event, an AccountKeyStore and a Lease.
#ifndef EDGEROUTER_CONTROLPLANE_ACME_ACME_ISSUER_H_
#define EDGEROUTER_CONTROLPLANE_ACME_ACME_ISSUER_H_

#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/certbus/certbus.h"
#include "controlplane/acme/acme_client.h"
#include "controlplane/acme/acme_schedule.h"
#include "controlplane/eventlog/lease.h"
#include "proto/events.pb.h"

namespace edgerouter::acme {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class RealClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// Makes http://<name>/.well-known/acme-challenge/<token> answer <key_authorization> on every
// edge node. Publish gets all pending challenges of one order at once and returns OK only when
// they are reachable (e.g. a snapshot holding them is acknowledged); Withdraw is called once the
// CA has finished validating, whatever the outcome. Called on the issuer's thread.
class ChallengePublisher {
 public:
  virtual ~ChallengePublisher() = default;
  virtual absl::Status Publish(const std::vector<Http01Challenge>& challenges) = 0;
  virtual void Withdraw(const std::vector<Http01Challenge>& challenges) = 0;
};

// Receives each finished certificate (the private key only as KEK ciphertext) and appends it to
// the certbus stream. A failure counts as a failed order for the name (retried with backoff).
class CertificateSink {
 public:
  virtual ~CertificateSink() = default;
  virtual absl::Status Publish(const events::v1::CertificateObtained& event) = 0;
};

// Where the ACME account key lives, so every replica uses the same account. Load: nullopt when
// there is none yet (the issuer then generates one and Saves it before registering).
class AccountKeyStore {
 public:
  virtual ~AccountKeyStore() = default;
  virtual absl::StatusOr<std::optional<AccountKey>> Load() = 0;
  virtual absl::Status Save(const AccountKey& key) = 0;
};

// --acme_account_key=FILE: PEM, written mode 0600 when generated.
class FileAccountKeyStore : public AccountKeyStore {
 public:
  explicit FileAccountKeyStore(std::string path) : path_(std::move(path)) {}
  absl::StatusOr<std::optional<AccountKey>> Load() override;
  absl::Status Save(const AccountKey& key) override;

 private:
  std::string path_;
};

// In memory (tests; a store backed by the event log has the same shape).
class MemoryAccountKeyStore : public AccountKeyStore {
 public:
  absl::StatusOr<std::optional<AccountKey>> Load() override;
  absl::Status Save(const AccountKey& key) override;
  std::optional<std::string> pem() const;

 private:
  mutable absl::Mutex mu_;
  std::optional<std::string> pem_ ABSL_GUARDED_BY(mu_);
};

// Where open orders are recorded, so a replica taking the issuer over continues an order the
// previous holder started (its challenges may already be validated) instead of making a second
// one. OpenOrder: the URL of an order for `name` started and not ended, "" if none.
class OrderJournal {
 public:
  virtual ~OrderJournal() = default;
  virtual std::string OpenOrder(const std::string& name) = 0;
  virtual void OrderStarted(const std::string& name, const std::string& order_url) = 0;
  // `outcome`: "issued" or the error text.
  virtual void OrderEnded(const std::string& name, const std::string& outcome) = 0;
};

struct IssuerOptions {
  AcmeClientOptions client;
  std::vector<std::string> emails;     // account contacts (mailto:)
  bool terms_of_service_agreed = true;  // turning the issuer on agrees to the CA's terms
  std::vector<std::string> exclude;     // glob patterns (MatchesExclude)
  SchedulePolicy policy;
  absl::Duration order_timeout = absl::Minutes(5);  // one order, CA polling included
  // How often Lease::IsHeld() is re-read while idle (Wake() also re-reads it at once).
  absl::Duration lease_poll = absl::Seconds(5);
};

struct IssuerStats {
  int64_t wakeups = 0;          // scheduling rounds
  int64_t orders_started = 0;
  int64_t certificates_issued = 0;  // published to the sink
  int64_t orders_failed = 0;
  int64_t orders_resumed = 0;       // continued from an OrderJournal's open order
  int64_t acme_requests = 0;        // HTTP requests to the CA (all clients so far)
  int64_t bad_nonce_retries = 0;
  int64_t orders_replacing = 0;       // renewals ordered with `replaces` (ARI in use)
  int64_t renewal_info_fetches = 0;   // ARI renewalInfo requests answered or failed
  int64_t renewal_info_failures = 0;  // of which failed (transport, HTTP status, bad document)
  std::string last_renewal_info_error;
  bool lease_held = false;          // at the latest round
  std::string account_url;
};

class Issuer {
 public:
  // The pointers must outlive the Issuer. `clock` null: the real clock. Waits are real-time
  // (at most lease_poll), so a test moving a fake clock calls Wake().
  Issuer(IssuerOptions options, certbus::KekPublicKey kek, AccountKeyStore* account_keys,
         ChallengePublisher* challenges, CertificateSink* sink, controlplane::Lease* lease, const Clock* clock = nullptr);
  ~Issuer();  // Stop()

  // Optional, before Start: open orders are recorded there and resumed from it.
  void SetOrderJournal(OrderJournal* journal) { journal_ = journal; }
  void Start();
  // Returns once the thread has ended: at once when idle; an order in progress is finished
  // first (the ACME client cannot be interrupted; bounded by order_timeout).
  void Stop();
  // Re-runs the scheduling now (lease changed, clock moved).
  void Wake();

  void SetWantedNames(const std::vector<NameRequest>& names);
  // The change since the last call: each of `removed` takes back one earlier request.
  void UpdateWantedNames(const std::vector<NameRequest>& removed, const std::vector<NameRequest>& added);
  void SetCertificates(std::vector<KnownCertificate> certs);
  // Certificates one by one, by the integrator's key (a null cert: removed).
  void UpdateCertificates(std::vector<std::pair<std::string, std::optional<KnownCertificate>>> changes);

  std::vector<NameStatus> States() const;
  NameTracker::Summary Summarize() const;
  IssuerStats stats() const;

 private:
  void Run();
  // One order for `name` and the event to the sink; the certificate for the tracker.
  // `no_account`: it failed before the order, for want of an account (no name could be ordered).
  absl::StatusOr<KnownCertificate> Order(const std::string& name, bool renewal, const std::string& replaces,
                                         bool* resumed, bool* no_account);
  absl::StatusOr<KnownCertificate> OrderWithClient(const std::string& name, bool renewal, const std::string& replaces,
                                                   bool* resumed);
  struct RenewalInfoFetch {
    bool available = true;  // false: the CA offers no renewalInfo
    absl::StatusOr<RenewalWindow> window = absl::UnknownError("not fetched");
    std::optional<absl::Duration> retry_after;
    bool no_account = false;  // failed before the request, for want of an account
  };
  // GET renewalInfo for `cert_id` on the issuer's thread, mu_ not held.
  RenewalInfoFetch FetchRenewalInfo(const std::string& cert_id);
  // After the client was used (mu_ held): its request counters into stats_.
  void UpdateClientStats() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EnsureClient();

  const IssuerOptions options_;
  const certbus::KekPublicKey kek_;
  AccountKeyStore* const account_keys_;
  ChallengePublisher* const challenges_;
  CertificateSink* const sink_;
  OrderJournal* journal_ = nullptr;
  controlplane::Lease* const lease_;  // the cluster lease (kept by a LeaseKeeper), or always held
  RealClock real_clock_;
  const Clock* const clock_;

  std::unique_ptr<AcmeClient> client_;  // the issuer thread's only
  bool order_recorded_ = false;         // the journal has an open order for the current name
  AcmeClientStats retired_client_stats_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  NameTracker tracker_ ABSL_GUARDED_BY(mu_);
  IssuerStats stats_ ABSL_GUARDED_BY(mu_);
  std::mt19937_64 random_ ABSL_GUARDED_BY(mu_){std::random_device{}()};  // ARI: the time in the window
  std::thread thread_;
};

}  // namespace edgerouter::acme

#endif  // EDGEROUTER_CONTROLPLANE_ACME_ACME_ISSUER_H_
