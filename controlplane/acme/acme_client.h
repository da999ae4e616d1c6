// An RFC 8555 ACME client: directory, nonces, account, orders, HTTP-01 authorizations,
// finalization with a CSR for a fresh in-memory key, and the certificate chain.
//
// Blocking and single-threaded (one libcurl handle): the control plane runs it on a thread of
// its own. Every request is a signed POST (fetches are POST-as-GET); a `badNonce` answer is
// retried once with the nonce it carries. Errors are absl::Status values naming the request
// or the identifier; CA problem documents keep their type, detail and subproblems, and
// `ProblemType()` / `RetryAfter()` / `IsRateLimited()` (acme_problem.h) read them back.
//
// Secrets: the account key signs requests and the certificate key is generated in memory and
// handed to the caller (IssuedCertificate); neither is ever written to disk or logged here.
#ifndef EDGEROUTER_CONTROLPLANE_ACME_ACME_CLIENT_H_
#define EDGEROUTER_CONTROLPLANE_ACME_ACME_CLIENT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controlplane/acme/acme_http.h"
#include "controlplane/acme/acme_jws.h"
#include "controlplane/acme/acme_problem.h"
#include "nlohmann/json.hpp"

namespace edgerouter::acme {

struct AcmeClientOptions {
  std::string directory_url;  // e.g. https://acme-staging-v02.api.letsencrypt.org/directory
  std::string ca_file;        // trust for the directory's TLS (pebble's API CA); empty = system
  absl::Duration request_timeout = absl::Seconds(30);
  // Polling of pending authorizations and processing orders when the CA sends no Retry-After;
  // the interval doubles up to poll_max_interval. A Retry-After from the CA wins.
  absl::Duration poll_interval = absl::Seconds(1);
  absl::Duration poll_max_interval = absl::Seconds(10);
  // ARI (RFC 9773) base URL used only when the directory has no `renewalInfo` (tests: pebble
  // 2.4.0 has none); https only, like every other request.
  std::string renewal_info_url;
};

struct AcmeDirectory {
  std::string new_nonce;
  std::string new_account;
  std::string new_order;
  std::string revoke_cert;
  std::string key_change;
  std::string renewal_info;      // RFC 9773 base URL, "" if the CA offers no ARI
  std::string terms_of_service;  // meta.termsOfService, "" if none
  bool external_account_required = false;
};

struct AcmeOrder {
  std::string url;
  std::string status;  // pending | ready | processing | valid | invalid
  std::vector<std::string> dns_names;
  std::vector<std::string> authorizations;
  std::string finalize;
  std::string certificate;
  std::optional<AcmeProblem> error;
};

struct AcmeChallenge {
  std::string type;  // "http-01", "dns-01", "tls-alpn-01"
  std::string url;
  std::string status;
  std::string token;
  std::optional<AcmeProblem> error;
};

struct AcmeAuthorization {
  std::string url;
  std::string status;  // pending | valid | invalid | deactivated | expired | revoked
  std::string dns_name;
  bool wildcard = false;
  std::vector<AcmeChallenge> challenges;
};

// What must be reachable at http://<dns_name>/.well-known/acme-challenge/<token>: the body
// `key_authorization` (RFC 8555 §8.3).
struct Http01Challenge {
  std::string dns_name;
  std::string token;
  std::string key_authorization;
  std::string url;                // the challenge's URL at the CA
  std::string authorization_url;  // the authorization it belongs to
};

// Supplied by the caller, called with every pending challenge of one order at once (so a
// fleet can publish them in one snapshot). `present` must make every answer reachable before
// it returns OK (the CA validates right after); `cleanup` (optional) is called once
// validation has ended, successfully or not.
struct Http01Responder {
  std::function<absl::Status(const std::vector<Http01Challenge>&)> present;
  std::function<void(const std::vector<Http01Challenge>&)> cleanup;
};

struct IssuedCertificate {
  std::string chain_pem;  // leaf first, then the issuers, as the CA sent it
  EvpPkeyPtr key;         // the certificate's private key: in memory only
  std::string order_url;
};

struct AcmeAccountRequest {
  std::vector<std::string> emails;  // sent as mailto: contacts
  bool terms_of_service_agreed = false;
};

struct AcmeClientStats {
  int64_t requests = 0;           // HTTP requests sent to the CA
  int64_t bad_nonce_retries = 0;  // signed requests repeated after a badNonce answer
};

// The wait before the next poll of a pending authorization or processing order: the CA's
// Retry-After when it sent one (but never below options.poll_interval); else `*interval`, which
// then doubles up to options.poll_max_interval.
absl::Duration NextPollDelay(const AcmeClientOptions& options, std::optional<absl::Duration> retry_after,
                             absl::Duration* interval);

class AcmeClient {
 public:
  // Fetches the directory.
  static absl::StatusOr<std::unique_ptr<AcmeClient>> Connect(AcmeClientOptions options, AccountKey key);

  const AcmeDirectory& directory() const { return directory_; }
  const AccountKey& account_key() const { return key_; }
  // The account URL (the `kid`): set by RegisterAccount or FindAccount.
  const std::string& account_url() const { return account_url_; }
  const AcmeClientStats& stats() const { return stats_; }

  // newAccount: creates the account for this key, or finds the existing one (the CA answers
  // 200 for a known key). Returns the account URL.
  absl::StatusOr<std::string> RegisterAccount(const AcmeAccountRequest& request);
  // newAccount with onlyReturnExisting: the account of this key, NOT_FOUND (type
  // accountDoesNotExist) if the CA has none. Never creates one.
  absl::StatusOr<std::string> FindAccount();

  // `replaces` (RFC 9773 §5): the ARI identifier of the certificate this order renews, "" for
  // none. A CA that refuses the order with it gets the same order once more without it.
  absl::StatusOr<AcmeOrder> NewOrder(const std::vector<std::string>& dns_names, const std::string& replaces = "");
  // The directory's renewalInfo, else options.renewal_info_url; "" when there is no ARI.
  std::string renewal_info_url() const;
  // GET <renewal_info_url>/<cert_id> (unauthenticated, RFC 9773 §4.2): the 2xx response (its body
  // is the renewalInfo document, its Retry-After when to ask again), else an error naming the URL.
  absl::StatusOr<HttpResponse> FetchRenewalInfo(const std::string& cert_id);
  absl::StatusOr<AcmeOrder> FetchOrder(const std::string& url);
  absl::StatusOr<AcmeAuthorization> FetchAuthorization(const std::string& url);

  // Every authorization of `order`: already valid ones are skipped; the http-01 challenges of
  // pending ones are presented (one responder call), answered, and polled until valid. The
  // first invalid one fails with the CA's problem for that name.
  absl::Status AuthorizeHttp01(const AcmeOrder& order, const Http01Responder& responder, absl::Time deadline);
  // Waits for the order to be ready, finalizes it with `csr_der` and waits until it is valid.
  absl::StatusOr<AcmeOrder> Finalize(const AcmeOrder& order, const std::string& csr_der, absl::Time deadline);
  absl::StatusOr<std::string> DownloadCertificate(const std::string& url);

  // The whole flow for `dns_names` (needs an account): new order, HTTP-01 authorizations, a new
  // P-256 key and CSR, finalize, download.
  absl::StatusOr<IssuedCertificate> ObtainCertificate(const std::vector<std::string>& dns_names,
                                                      const Http01Responder& responder, absl::Time deadline);
  // The same, first trying to continue the order at `resume_order_url` (one another replica
  // started): used when it is still pending or ready for exactly `dns_names`, else a new order is
  // made (with `replaces`, see NewOrder). `on_new_order` (optional) sees each new order's URL before its challenges are
  // presented, so it can be recorded for whoever takes over. `*resumed` (optional) tells which.
  absl::StatusOr<IssuedCertificate> ObtainCertificate(const std::vector<std::string>& dns_names,
                                                      const Http01Responder& responder, absl::Time deadline,
                                                      const std::string& resume_order_url,
                                                      const std::function<void(const AcmeOrder&)>& on_new_order,
                                                      bool* resumed, const std::string& replaces = "");

  // Replaces the cached nonce (tests: a stale nonce must be recovered from via badNonce).
  void SetNonceForTest(std::string nonce) { nonce_ = std::move(nonce); }

 private:
  AcmeClient(AcmeClientOptions options, AccountKey key);

  absl::Status FetchDirectory();
  absl::StatusOr<std::string> TakeNonce();
  void KeepNonce(const HttpResponse& response);
  // Signed POST (kid unless `use_jwk`); payload "" is POST-as-GET. Non-2xx answers become
  // statuses via ProblemStatus, named "<what> at <url>".
  absl::StatusOr<HttpResponse> Post(absl::string_view what, const std::string& url, absl::string_view payload,
                                    bool use_jwk = false, absl::string_view accept = "");
  absl::StatusOr<std::string> AccountRequest(const nlohmann::json& payload, absl::string_view what);
  struct PendingChallenge {
    Http01Challenge http01;
    bool needs_response = false;  // the challenge is still "pending" (not yet answered)
  };
  // The authorization's http-01 challenge, nullopt if it is already valid.
  absl::StatusOr<std::optional<PendingChallenge>> PendingHttp01(const std::string& authz_url);
  absl::Status AwaitAuthorization(const Http01Challenge& challenge, absl::Time deadline);
  // Sleeps before the next poll: the CA's Retry-After if it sent one, else `*interval` (which
  // then grows). DEADLINE_EXCEEDED naming `what` if the deadline comes first.
  absl::Status PollWait(const HttpResponse& last, absl::Duration* interval, absl::Time deadline,
                        absl::string_view what);

  AcmeClientOptions options_;
  AccountKey key_;
  HttpClient http_;
  AcmeDirectory directory_;
  std::string account_url_;
  std::string nonce_;
  HttpResponse last_response_;  // of the latest Post, for Retry-After when polling
  AcmeClientStats stats_;
};

}  // namespace edgerouter::acme

#endif  // EDGEROUTER_CONTROLPLANE_ACME_ACME_CLIENT_H_
