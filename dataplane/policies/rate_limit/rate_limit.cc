#include "dataplane/policies/rate_limit/rate_limit.h"

#include "absl/strings/str_cat.h"
#include "common/duration.h"

namespace edgerouter::policies {

absl::StatusOr<std::unique_ptr<RateLimitStage>> RateLimitStage::Create(const config::v1::RateLimitPolicy& policy,
                                                                       int workers) {
  if (workers < 1) workers = 1;
  absl::Duration period = absl::Seconds(1);
  if (!policy.period().empty()) {
    absl::StatusOr<absl::Duration> parsed = ParseGoDuration(policy.period());
    if (!parsed.ok()) return parsed.status();
    period = *parsed;
  }
  const double period_ms = absl::ToDoubleMilliseconds(period);
  if (policy.average() == 0 || period_ms <= 0) {
    return absl::InvalidArgumentError("rate_limit needs average > 0 and a positive period");
  }
  const uint64_t burst = policy.burst() > 0 ? policy.burst() : policy.average();
  BucketParams params;
  params.rate_per_ms = static_cast<double>(policy.average()) / period_ms / workers;
  // Each worker may take its share at once; at least one request, or nothing would pass.
  params.burst = std::max(1.0, static_cast<double>(burst) / workers);
  return std::unique_ptr<RateLimitStage>(new RateLimitStage(params, policy.per() == "app", workers));
}

RateLimitStage::RateLimitStage(BucketParams params, bool per_app, int workers)
    : params_(params), per_app_(per_app), workers_(workers), slots_(new Slot[workers]) {}

pipeline::Verdict RateLimitStage::OnRequest(pipeline::Exchange& exchange) const {
  Slot& slot = slots_[static_cast<unsigned>(exchange.worker_index()) % static_cast<unsigned>(workers_)];
  const int64_t now = exchange.now_ms();
  int64_t wait_ms;
  if (per_app_) {
    if (!slot.started) {
      slot.app.Fill(params_, now);
      slot.started = true;
    }
    wait_ms = slot.app.Take(params_, now);
  } else {
    wait_ms = TakeClient(slot, exchange.client_ip(), now);
  }
  if (wait_ms == 0) return pipeline::Verdict::kContinue;
  exchange.NoteRateLimited();
  const int64_t seconds = (wait_ms + 999) / 1000;
  exchange.SendLocal(429, "text/plain; charset=utf-8", "rate limit exceeded\n",
                     absl::StrCat("Retry-After: ", seconds, "\r\n"));
  return pipeline::Verdict::kAnswered;
}

int64_t RateLimitStage::TakeClient(Slot& slot, absl::string_view ip, int64_t now_ms) const {
  auto it = slot.clients.find(ip);
  if (it == slot.clients.end()) {
    if (slot.clients.size() >= kMaxClientsPerWorker) Sweep(slot, now_ms);
    it = slot.clients.emplace(std::string(ip), TokenBucket()).first;
    it->second.Fill(params_, now_ms);
  }
  return it->second.Take(params_, now_ms);
}

// Drops the buckets that are full again (a new bucket would be the same); when every one is
// busy, drops arbitrary ones down to 3/4: those clients start over with a full bucket, which
// errs on the lenient side but keeps memory bounded under an address flood.
void RateLimitStage::Sweep(Slot& slot, int64_t now_ms) const {
  slot.last_sweep_ms = now_ms;
  absl::erase_if(slot.clients, [&](const auto& entry) { return entry.second.IdleBy(params_, now_ms); });
  while (slot.clients.size() > kMaxClientsPerWorker * 3 / 4) slot.clients.erase(slot.clients.begin());
}

}  // namespace edgerouter::policies
