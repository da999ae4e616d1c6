// policies.rate_limit (Traefik's ratelimit middleware): token buckets per app or per client
// address, refilled at average/period up to burst; a request finding no token gets 429 with
// Retry-After (whole seconds until the next token), counted in er_dp_rate_limited_total.
//
// Per worker, no lock: every worker has its own buckets (a cache-line-aligned slot of the
// stage, touched only by that worker's thread) holding a fair share of the budget, 1/workers
// of the rate and of the burst. Accuracy (docs/policies.md): exact while a client's requests
// spread over all workers; a client whose requests all reach one worker (one keep-alive
// connection) gets 1/workers of its limit. Never more than the configured rate.
#ifndef EDGEROUTER_DATAPLANE_POLICIES_RATE_LIMIT_RATE_LIMIT_H_
#define EDGEROUTER_DATAPLANE_POLICIES_RATE_LIMIT_RATE_LIMIT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "dataplane/pipeline/stage.h"
#include "proto/config.pb.h"

namespace edgerouter::policies {

// One worker's share of a limit, in requests per millisecond and whole-request tokens.
struct BucketParams {
  double rate_per_ms = 0;
  double burst = 1;
};

// A token bucket on the worker loop's millisecond clock.
struct TokenBucket {
  double tokens = 0;
  int64_t last_ms = 0;

  void Fill(const BucketParams& p, int64_t now_ms) {
    tokens = p.burst;
    last_ms = now_ms;
  }
  // Takes a token: 0, or the milliseconds until one is due.
  int64_t Take(const BucketParams& p, int64_t now_ms) {
    if (now_ms > last_ms) {
      tokens += static_cast<double>(now_ms - last_ms) * p.rate_per_ms;
      if (tokens > p.burst) tokens = p.burst;
      last_ms = now_ms;
    }
    if (tokens >= 1) {
      tokens -= 1;
      return 0;
    }
    const double wait = (1 - tokens) / p.rate_per_ms;
    return wait < 1 ? 1 : static_cast<int64_t>(wait + 0.999);
  }
  // Full again by `now_ms`: the same as a new bucket (evictable).
  bool IdleBy(const BucketParams& p, int64_t now_ms) const {
    return tokens + static_cast<double>(now_ms - last_ms) * p.rate_per_ms >= p.burst;
  }
};

class RateLimitStage : public pipeline::RequestStage {
 public:
  // Per-client-address buckets a worker keeps at most; past it, idle ones go first.
  static constexpr size_t kMaxClientsPerWorker = 16384;

  // `policy` was validated (app_config.cc); `workers` > 0 share the budget.
  static absl::StatusOr<std::unique_ptr<RateLimitStage>> Create(const config::v1::RateLimitPolicy& policy, int workers);

  absl::string_view name() const override { return "rate_limit"; }
  pipeline::Verdict OnRequest(pipeline::Exchange& exchange) const override;

  // For tests: how many client buckets worker `w` holds.
  size_t client_buckets(int w) const { return slots_[w].clients.size(); }
  const BucketParams& params() const { return params_; }

 private:
  struct alignas(64) Slot {
    bool started = false;
    TokenBucket app;                                       // per: "app"
    absl::flat_hash_map<std::string, TokenBucket> clients;  // per: "client_ip"
    int64_t last_sweep_ms = 0;
  };

  RateLimitStage(BucketParams params, bool per_app, int workers);
  // 0 or the milliseconds until the client's next token.
  int64_t TakeClient(Slot& slot, absl::string_view ip, int64_t now_ms) const;
  void Sweep(Slot& slot, int64_t now_ms) const;

  const BucketParams params_;
  const bool per_app_;
  const int workers_;
  // Mutable per-worker state of an otherwise immutable stage: slot w is touched only by worker w.
  const std::unique_ptr<Slot[]> slots_;
};

}  // namespace edgerouter::policies

#endif  // EDGEROUTER_DATAPLANE_POLICIES_RATE_LIMIT_RATE_LIMIT_H_
