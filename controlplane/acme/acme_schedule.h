// The issuer's bookkeeping, without threads or I/O: which wanted names need an order now, when
// to look again, per-name backoff and the state shown by `cert ls`. Times are passed in, so the
// decisions are tested with a fake clock.
#ifndef EDGEROUTER_CONTROLPLANE_ACME_ACME_SCHEDULE_H_
#define EDGEROUTER_CONTROLPLANE_ACME_ACME_SCHEDULE_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "controlplane/acme/acme_ari.h"

namespace edgerouter::acme {

// One name someone wants a certificate for. `source` says who (e.g. "app:blog",
// "certresolver:le"); a name wanted by several sources is ordered once. `regexp`: the name is a
// host regexp of a frontend, which HTTP-01 cannot validate (skipped and reported).
struct NameRequest {
  std::string name;
  std::string source;
  bool regexp = false;
};

// A certificate already served (from the certbus stream, CertBus or earlier ACME).
// `not_before` InfinitePast when unknown: the lifetime is then taken as 90 days.
struct KnownCertificate {
  std::vector<std::string> domains;  // exact names or "*.example.com"
  absl::Time not_before = absl::InfinitePast();
  absl::Time not_after = absl::InfinitePast();
  std::string cert_id;  // the ARI identifier (acme_ari.h); "" when the leaf has no AKI
};

// Reads domains, notBefore, notAfter and the ARI identifier from the leaf of a PEM bundle.
absl::StatusOr<KnownCertificate> KnownCertificateFromPem(absl::string_view cert_pem_bundle);

// When a certificate is renewed: two thirds into its lifetime.
absl::Time RenewalTime(const KnownCertificate& cert);

enum class NameState {
  kQueued,    // needs a certificate (new or renewal due), not ordered yet
  kPending,   // an order is in progress
  kIssued,    // a valid certificate covers it until its renewal time
  kFailing,   // the last order failed (detail: the CA's error); retried at retry_at
  kExcluded,  // matches an exclude pattern
  kSkipped,   // cannot be issued over HTTP-01 (regexp, wildcard, IP address, not a host name)
};
absl::string_view NameStateName(NameState state);  // "queued", "pending", ...

struct NameStatus {
  std::string name;
  std::vector<std::string> sources;  // sorted
  NameState state = NameState::kQueued;
  std::string detail;  // failing: the CA's error; excluded/skipped: why; issued: the ARI window
  absl::Time not_after = absl::InfinitePast();     // the covering certificate's expiry, if any
  absl::Time renew_at = absl::InfinitePast();      // when that certificate gets renewed
  absl::Time retry_at = absl::InfinitePast();      // failing: the next attempt
  int failures = 0;                                // consecutive failed orders
  std::string cert_id;                             // the covering certificate's ARI identifier
  std::optional<RenewalWindow> ari_window;         // the CA's latest suggested window for it
};

struct SchedulePolicy {
  absl::Duration backoff_initial = absl::Minutes(5);  // after the first failure; doubles
  absl::Duration backoff_max = absl::Hours(24);
  // A rateLimited answer without Retry-After waits at least this long.
  absl::Duration rate_limited_min = absl::Hours(1);
  RenewalInfoPolicy renewal_info;
};

// The wait after the `failures`-th consecutive failure with `status`: exponential (capped at
// backoff_max), at least rate_limited_min for rateLimited, at least the CA's Retry-After.
absl::Duration BackoffDelay(const SchedulePolicy& policy, int failures, const absl::Status& status);

// Exclude patterns are globs on the lowercased name: `*` matches any run of characters
// (dots included), `?` one character. "*.internal.example.com", "staging-*".
bool MatchesExclude(const std::vector<std::string>& patterns, absl::string_view name);

// Not thread-safe: the issuer guards it with its mutex.
//
// Sized for every hostname of 100,000 apps and as many certificates: each change (a wanted
// name, a certificate, an order's outcome, renewal info) re-evaluates only the names it touches,
// and the names waiting for an order sit in queues ordered by when they are due, so NextOrder
// and NextWakeup do not walk the wanted set (States and Summarize do, on demand).
class NameTracker {
 public:
  NameTracker(SchedulePolicy policy, std::vector<std::string> exclude);

  // Replaces the wanted set (names are lowercased; duplicates merge their sources).
  void SetWanted(const std::vector<NameRequest>& requests);
  // Changes it: each of `removed` takes back one earlier request, `added` come in.
  void UpdateWanted(const std::vector<NameRequest>& removed, const std::vector<NameRequest>& added);
  // Replaces the set of certificates already served.
  void SetCertificates(std::vector<KnownCertificate> certs);
  // One of them, under the caller's key (e.g. its resource name): added or replaced, removed.
  void PutCertificate(const std::string& key, KnownCertificate cert);
  void RemoveCertificate(const std::string& key);

  // The next name to order at `now`, if any: names without a certificate first (sorted), then
  // due renewals (earliest due first). Never a name whose order is in progress.
  std::optional<std::string> NextOrder(absl::Time now) const;
  // When NextOrder may next return something: `now` if it does already, the earliest renewal
  // or retry time otherwise, InfiniteFuture when nothing is scheduled.
  absl::Time NextWakeup(absl::Time now) const;

  void OnOrderStarted(const std::string& name);
  // The order for `name` produced `cert` (remembered until the stream brings it back).
  void OnIssued(const std::string& name, const KnownCertificate& cert);
  void OnFailed(const std::string& name, const absl::Status& status, absl::Time now);

  // ARI (RFC 9773). Whether the CA offers renewalInfo (assumed until told otherwise): without
  // it no fetch is ever due.
  void SetRenewalInfoAvailable(bool available) { ari_available_ = available; }
  // The ARI identifier of a certificate covering an issued name whose renewalInfo is due at `now`.
  std::optional<std::string> NextRenewalInfoFetch(absl::Time now) const;
  // The outcome of that fetch: a window moves the name's renewal to a time chosen in it
  // (`uniform` in [0, 1)) when that is before two thirds of the lifetime; an error keeps what
  // was known (the two-thirds rule when nothing). Either way the next fetch is scheduled.
  void OnRenewalInfo(const std::string& cert_id, const absl::StatusOr<RenewalWindow>& window,
                     std::optional<absl::Duration> retry_after, absl::Time now, double uniform);
  // For the renewal order of `name`: the ARI identifier of the certificate it replaces when the
  // CA gave renewal info for it, else "".
  std::string ReplacesFor(const std::string& name) const;
  // Whether a certificate covers `name` (its order is then a renewal).
  bool HasCertificate(const std::string& name) const;

  // Every wanted name, sorted.
  std::vector<NameStatus> States(absl::Time now) const;
  // How many wanted names are in each state (indexed by NameState), and the earliest renewal of
  // an issued name (InfiniteFuture: none): the metrics, without building States.
  struct Summary {
    size_t by_state[6] = {};
    absl::Time next_renewal = absl::InfiniteFuture();
  };
  Summary Summarize(absl::Time now) const;

 private:
  struct History {  // kept while a name is unwanted, so re-adding it keeps its backoff
    bool in_flight = false;
    int failures = 0;
    absl::Time retry_at = absl::InfinitePast();
    std::string last_error;
    std::optional<KnownCertificate> issued;  // by this issuer
  };
  enum class Queue { kNone, kFresh, kRetrying, kRenewal };
  struct Record {
    std::map<std::string, int> sources;  // source → requests naming it
    int regexp_requests = 0;
    std::string skip;  // why HTTP-01 cannot do it ("" if it can)
    bool excluded = false;
    // Derived from the certificates, the history and renewal info by Refresh:
    absl::Time not_after = absl::InfinitePast();  // of the covering certificate, if any
    absl::Time renew_at = absl::InfinitePast();   // InfinitePast: no certificate
    std::string cert_id;                          // the cover's ARI identifier
    const History* history = nullptr;  // history_[name], when there is one
    Queue queue = Queue::kNone;
    absl::Time due = absl::InfinitePast();  // the key in retrying_ / renewals_
  };
  struct RenewalInfoRecord {
    std::optional<RenewalWindow> window;
    absl::Time renew_at = absl::InfiniteFuture();  // chosen in the window
    absl::Time next_fetch = absl::InfinitePast();
  };
  using Due = std::set<std::pair<absl::Time, std::string>>;

  void AddRequest(const NameRequest& request);
  void RemoveRequest(const NameRequest& request);
  // Re-derives one wanted name's cover, state and queue position.
  void Refresh(const std::string& name);
  void Unqueue(const std::string& name, Record& record);
  void SetCover(const std::string& name, Record& record, const std::string& cert_id);
  // The names `cert` may cover (exact names, and one label under a wildcard).
  void RefreshCovered(const KnownCertificate& cert);
  void IndexCertificate(const KnownCertificate* cert, bool add);
  void CountCertId(const std::string& cert_id, int delta);
  // The covering certificate with the latest renewal time, if any.
  const KnownCertificate* BestCover(const std::string& name) const;
  NameStatus StatusOf(const std::string& name, const Record& record, absl::Time now) const;
  static NameState StateOf(const Record& record, absl::Time now);
  const History* HistoryOf(const std::string& name) const;
  absl::Time NextFetch(const std::string& cert_id) const;  // InfinitePast: never fetched
  // Whether some wanted name covered by `cert_id` is issued (not due, not in flight) at `now`.
  bool FetchWanted(const std::string& cert_id, absl::Time now) const;

  SchedulePolicy policy_;
  std::vector<std::string> exclude_;  // lowercased
  std::map<std::string, Record> wanted_;
  std::map<std::string, History> history_;
  std::map<std::string, KnownCertificate> certs_;  // by the caller's key
  // Lowercased certificate domain ("a.example.com", "*.example.com") → certificates naming it.
  std::unordered_map<std::string, std::vector<const KnownCertificate*>> by_domain_;
  std::unordered_map<std::string, std::set<std::string>> by_parent_;  // "example.com" → wanted names one label under
  // The queues: names without a certificate that never failed (by name), those waiting for a
  // retry (by retry time), and certified names (by when their renewal is due).
  std::set<std::string> fresh_;
  Due retrying_;
  Due renewals_;
  std::unordered_map<std::string, std::set<std::string>> cover_users_;  // cert_id → wanted names it covers
  Due ari_queue_;                                    // (next fetch, cert_id) of every cert_id in cover_users_
  std::unordered_map<std::string, int> cert_ids_;    // cert_id → certificates (served or issued) carrying it
  bool ari_available_ = true;
  std::map<std::string, RenewalInfoRecord> ari_;  // by cert_id
};

}  // namespace edgerouter::acme

#endif  // EDGEROUTER_CONTROLPLANE_ACME_ACME_SCHEDULE_H_
