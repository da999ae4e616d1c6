// Whether a failed origin attempt goes again: one pure function over the facts of the attempt,
// so every failure path of the proxy (proxy_flow.cc) asks the same question and the rules are
// tested without sockets.
//
// Without a retry policy the built-in rules hold (they predate policies): a connect failure
// goes once to another origin, and a request that got no response byte (a pooled connection
// the origin had closed, or an origin that died mid-request) goes again up to 3 tries; only
// idempotent requests whose body was not sent. With `policies.retry`: `attempts` tries in all,
// also after 502/503/504 answers and per-try timeouts, with backoff, within a retry budget
// (retries in flight <= budget_percent of active requests, or min_retry_concurrency, as Envoy).
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_REVERSE_PROXY_RETRY_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_REVERSE_PROXY_RETRY_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/config.pb.h"

namespace edgerouter::backends {

// policies.retry, compiled (durations parsed, defaults filled in).
struct RetryConfig {
  int attempts = 1;                  // total tries
  int64_t per_try_timeout_ms = 0;    // 0: the data plane's response timeout
  int64_t initial_interval_ms = 50;  // backoff base
  uint32_t budget_percent = 20;
  uint32_t min_retry_concurrency = 3;
  bool retry_non_idempotent = false;
};

absl::StatusOr<RetryConfig> CompileRetry(const config::v1::RetryPolicy& policy);

enum class AttemptFailure {
  kConnect,           // TCP/TLS connect failed or timed out: nothing reached the origin
  kStalePooled,       // a pooled connection turned out closed (reset on write, EOF at once)
  kClosedNoResponse,  // the origin closed without a response byte
  kTimeout,           // no response byte within the (per-try) timeout
  kStatus5xx,         // 502, 503 or 504 answered, not yet relayed
};

struct AttemptFacts {
  const RetryConfig* policy = nullptr;  // null: the built-in rules
  absl::string_view method;
  AttemptFailure failure = AttemptFailure::kConnect;
  int attempts = 0;              // tries made so far, the failed one included
  size_t origins = 1;            // origins of the backend
  bool response_started = false; // bytes of a response went to the client
  bool body_sent = false;        // request body bytes went to an origin (not replayable)
  int retries_in_flight = 0;     // of this backend (budget)
  int active_requests = 0;       // of this backend (budget)
};

enum class RetryDecision { kNo, kRetry, kBudgetExhausted };

RetryDecision ShouldRetry(const AttemptFacts& facts);
bool IsIdempotentMethod(absl::string_view method);
bool IsRetriableStatus(int status);

// Delay before retry number `retry` (1-based): full jitter over base * 2^(retry-1), capped at
// 10 * base (Envoy's backoff); `random` is any uniformly random number.
int64_t RetryBackoffMs(const RetryConfig& config, int retry, uint64_t random);

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_REVERSE_PROXY_RETRY_H_
