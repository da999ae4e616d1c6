// The turbocharger middleware's attachment state for one app (edgerouter §9.6): an origin
// (reverse_proxy or aws_lambda) advertises `turbocharger: <prefix> <manifestId>` on its responses;
// the first advertisement attaches that manifest for the prefix, trusted for 5 s. Requests under
// the prefix are then served from the manifest and never reach the origin. After the trust
// window the first such request is still served from the manifest but starts one asynchronous
// re-validation (`HEAD <prefix>` to the origin, off the request path; the backends run it):
// 200 with a valid header re-attaches; a non-200, a missing or malformed header, or an
// unreachable origin detaches. A proxied advertisement that conflicts with the attached one
// (replicas on different versions) detaches too.
// Attachment is not thread-safe; SharedAttachment is the one every worker uses (lock-free while
// attached and trusted, which is every request but the few around a re-validation).
#ifndef EDGEROUTER_DATAPLANE_TURBOCHARGER_ATTACHMENT_H_
#define EDGEROUTER_DATAPLANE_TURBOCHARGER_ATTACHMENT_H_

#include <atomic>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace edgerouter::turbocharger {

struct Advertisement {
  std::string prefix;       // raw path prefix, e.g. "/static"
  std::string manifest_id;  // store id of the manifest
};

// Parses a `turbocharger` header value "<prefix> <manifestId>" (edgerouter panics on a value
// without a space; here it is an error naming the value).
absl::StatusOr<Advertisement> ParseAdvertisement(absl::string_view value);

class Attachment {
 public:
  static constexpr absl::Duration kTrust = absl::Seconds(5);  // edgerouter's validity
  // A re-validation unanswered this long is taken as lost and another may start (the HEAD's own
  // timeouts are shorter: 5 s to an origin, --aws_timeout_ms to a function).
  static constexpr absl::Duration kLostRevalidation = absl::Minutes(2);

  // `trust`: how long an advertisement is believed before re-validating (the data plane's
  // --turbocharger_trust_ms; kTrust by default).
  explicit Attachment(absl::Duration trust = kTrust) : trust_(trust) {}

  // What a request under an attached prefix should do.
  struct Match {
    std::string manifest_id;
    std::string prefix;       // the attached prefix: the re-validation is `HEAD <prefix>`
    std::string path;         // the request path with the prefix stripped ("/" when empty)
    bool revalidate = false;  // the trust window ran out: start one re-validation now
  };

  // A proxied response from the origin; `header` is its turbocharger header value when present.
  // Not attached: a 200 with a valid advertisement attaches. Attached: the same advertisement
  // renews the trust window, a different one detaches (replicas disagree), a response without
  // the header changes nothing (only responses under the prefix carry it). Returns true when
  // the state changed.
  bool OnProxiedResponse(int status, std::optional<absl::string_view> header, absl::Time now);
  // The answer to the re-validation HEAD: 200 with a valid header (re-)attaches, possibly to a
  // new manifest (a deploy); anything else detaches. `status` 0: the origin was unreachable.
  // Also ends the re-validation in flight (the next one starts after another trust window).
  bool OnRevalidation(int status, std::optional<absl::string_view> header, absl::Time now);

  // The match for `path`, if attached and `path` starts with the prefix (a raw string prefix,
  // as edgerouter: "/static" also covers "/staticfoo").
  std::optional<Match> Lookup(absl::string_view path, absl::Time now);

  bool attached() const { return current_.has_value(); }
  const std::optional<Advertisement>& current() const { return current_; }
  bool revalidating() const { return revalidating_; }
  absl::Time valid_until() const { return valid_until_; }

  // The match of `path` under `ad` (no re-validation decided), or none outside its prefix.
  static std::optional<Match> MatchFor(const Advertisement& ad, absl::string_view path);

 private:
  void Detach();
  const absl::Duration trust_;
  std::optional<Advertisement> current_;
  absl::Time valid_until_ = absl::InfinitePast();
  bool revalidating_ = false;  // one re-validation in flight at a time
  absl::Time revalidation_started_ = absl::InfinitePast();
};

// One backend's attachment shared by every worker (the compiled backend is shared; a new
// snapshot starts detached and re-attaches on the next advertisement). State changes (attach,
// renew, detach, the decision to re-validate) happen under a mutex in an Attachment; after each,
// what requests need is published in atomics, so a request inside the trust window takes no lock.
class SharedAttachment {
 public:
  explicit SharedAttachment(absl::Duration trust = Attachment::kTrust) : attachment_(trust) {}

  // Whether a manifest is attached: one atomic load, so the common case (never attached) costs
  // requests and responses nothing more. A stale answer only sends one request to the origin.
  bool attached() const { return view_.load(std::memory_order_acquire) != nullptr; }

  std::optional<Attachment::Match> Lookup(absl::string_view path, absl::Time now) {
    const Advertisement* ad = view_.load(std::memory_order_acquire);
    if (ad == nullptr) return std::nullopt;
    // Trusted: no decision to take. (A renewal racing this load only makes a request take the
    // locked path below, which decides again.)
    if (absl::ToUnixNanos(now) < valid_until_ns_.load(std::memory_order_acquire)) {
      return Attachment::MatchFor(*ad, path);
    }
    absl::MutexLock lock(&mu_);
    std::optional<Attachment::Match> match = attachment_.Lookup(path, now);
    PublishLocked();
    return match;
  }
  // An origin response to a request for `path` (the backend's path, without the query): requests
  // under an attached prefix do not reach the origin, so this is an ordinary proxied response
  // (one that raced the attachment at most). `path` is kept for the callers' symmetry.
  bool OnOriginResponse(absl::string_view path, int status, std::optional<absl::string_view> header,
                        absl::Time now) {
    (void)path;
    if (!header.has_value() && !attached()) return false;  // nothing to attach, nothing to detach
    absl::MutexLock lock(&mu_);
    const bool changed = attachment_.OnProxiedResponse(status, header, now);
    PublishLocked();
    return changed;
  }
  // The answer to the asynchronous `HEAD <prefix>` a Lookup asked for (any thread).
  bool OnRevalidation(int status, std::optional<absl::string_view> header, absl::Time now) {
    absl::MutexLock lock(&mu_);
    const bool changed = attachment_.OnRevalidation(status, header, now);
    PublishLocked();
    return changed;
  }
  std::optional<Advertisement> current() {
    absl::MutexLock lock(&mu_);
    return attachment_.current();
  }

 private:
  void PublishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  Attachment attachment_ ABSL_GUARDED_BY(mu_);
  // What requests read: the attached advertisement (null: detached) and until when it is trusted.
  // Requests hold the pointer without a lock, so every advertisement ever published stays alive
  // with this object: one per attach to a new manifest (deploys), not per renewal; the object
  // itself lives as long as the snapshot that compiled it.
  std::atomic<const Advertisement*> view_{nullptr};
  std::atomic<int64_t> valid_until_ns_{0};
  std::vector<std::unique_ptr<const Advertisement>> published_ ABSL_GUARDED_BY(mu_);
};

}  // namespace edgerouter::turbocharger

#endif  // EDGEROUTER_DATAPLANE_TURBOCHARGER_ATTACHMENT_H_
