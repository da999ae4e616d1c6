#include "dataplane/backends/reverse_proxy/retry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/duration.h"

namespace edgerouter::backends {
namespace {

absl::StatusOr<int64_t> Millis(const std::string& value, absl::string_view field, int64_t fallback) {
  if (value.empty()) return fallback;
  absl::StatusOr<absl::Duration> d = ParseGoDuration(value);
  if (!d.ok()) return absl::InvalidArgumentError(absl::StrCat("policies.retry.", field, ": ", d.status().message()));
  return std::max<int64_t>(1, absl::ToInt64Milliseconds(*d));
}

}  // namespace

absl::StatusOr<RetryConfig> CompileRetry(const config::v1::RetryPolicy& policy) {
  RetryConfig c;
  c.attempts = std::clamp<int>(static_cast<int>(policy.attempts()), 1, 10);
  absl::StatusOr<int64_t> per_try = Millis(policy.per_try_timeout(), "per_try_timeout", 0);
  if (!per_try.ok()) return per_try.status();
  c.per_try_timeout_ms = *per_try;
  absl::StatusOr<int64_t> interval = Millis(policy.initial_interval(), "initial_interval", 50);
  if (!interval.ok()) return interval.status();
  c.initial_interval_ms = *interval;
  if (policy.budget_percent() != 0) c.budget_percent = std::min<uint32_t>(policy.budget_percent(), 100);
  if (policy.min_retry_concurrency() != 0) c.min_retry_concurrency = policy.min_retry_concurrency();
  c.retry_non_idempotent = policy.retry_non_idempotent();
  return c;
}

bool IsIdempotentMethod(absl::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" || method == "DELETE" ||
         method == "TRACE";
}

bool IsRetriableStatus(int status) { return status == 502 || status == 503 || status == 504; }

RetryDecision ShouldRetry(const AttemptFacts& f) {
  // Once the client has response bytes, or the origin has body bytes we no longer hold,
  // another try could only duplicate or corrupt.
  if (f.response_started || f.body_sent) return RetryDecision::kNo;
  const bool idempotent = IsIdempotentMethod(f.method);
  // A closed pooled connection is no one's failure: retried as before, outside any budget.
  if (f.failure == AttemptFailure::kStalePooled) return idempotent && f.attempts < 3 ? RetryDecision::kRetry : RetryDecision::kNo;
  if (f.policy == nullptr) {
    switch (f.failure) {
      case AttemptFailure::kConnect:
        return f.attempts < 2 && f.origins > 1 && idempotent ? RetryDecision::kRetry : RetryDecision::kNo;
      case AttemptFailure::kClosedNoResponse:
        return f.attempts < 3 && idempotent ? RetryDecision::kRetry : RetryDecision::kNo;
      default:
        return RetryDecision::kNo;
    }
  }
  if (f.attempts >= f.policy->attempts) return RetryDecision::kNo;
  // Nothing reached the origin on a connect failure: safe for any method.
  if (f.failure != AttemptFailure::kConnect && !idempotent && !f.policy->retry_non_idempotent) return RetryDecision::kNo;
  const int64_t budget = std::max<int64_t>(f.policy->min_retry_concurrency,
                                           static_cast<int64_t>(f.active_requests) * f.policy->budget_percent / 100);
  return f.retries_in_flight < budget ? RetryDecision::kRetry : RetryDecision::kBudgetExhausted;
}

int64_t RetryBackoffMs(const RetryConfig& config, int retry, uint64_t random) {
  const int shift = std::clamp(retry - 1, 0, 20);
  const int64_t ceiling = std::min(config.initial_interval_ms << shift, config.initial_interval_ms * 10);
  return static_cast<int64_t>(random % static_cast<uint64_t>(ceiling + 1));
}

}  // namespace edgerouter::backends
