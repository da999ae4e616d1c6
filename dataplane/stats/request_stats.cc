#include "dataplane/stats/request_stats.h"

namespace edgerouter::stats {

const double kBucketBounds[kBuckets] = {0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008,
                                        0.016,   0.032,  0.064, 0.128, 0.256, 0.512,
                                        1.024,   2.048,  4.096, 8.192};
const char* const kMethodNames[kMethods] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "OTHER"};

int MethodIndex(absl::string_view method) {
  for (int i = 0; i < kMethods - 1; ++i) {
    if (method == kMethodNames[i]) return i;
  }
  return kMethods - 1;
}

AppCounters& WorkerStats::app(absl::string_view name) {
  auto it = apps_.find(name);
  if (it == apps_.end()) it = apps_.emplace(std::string(name), AppCounters()).first;
  return it->second;
}

void WorkerStats::Observe(AppCounters* app, uint64_t* count, int bucket, double seconds) {
  ++*count;
  app->buckets[bucket]++;
  app->duration_sum += seconds;
  app->duration_count++;
}

void WorkerStats::RecordRequest(absl::string_view name, int status, absl::string_view method,
                                double seconds) {
  const uint32_t key = static_cast<uint32_t>(status) * kMethods + MethodIndex(method);
  if (last_app_ == nullptr || name != last_name_) {
    last_app_ = &app(name);
    last_name_.assign(name.data(), name.size());
    last_key_ = UINT32_MAX;
  }
  if (all_ == nullptr) all_ = &app("_all");
  if (key != last_key_) {
    last_key_ = key;
    last_count_ = &last_app_->requests[key];
    last_all_count_ = &all_->requests[key];
  }
  int bucket = 0;  // found once for both series
  while (bucket < kBuckets && seconds > kBucketBounds[bucket]) ++bucket;
  Observe(last_app_, last_count_, bucket, seconds);
  Observe(all_, last_all_count_, bucket, seconds);
}

void WorkerStats::CountRetry(absl::string_view name, bool exhausted) {
  AppCounters& a = app(name);
  (exhausted ? a.retries_budget_exhausted : a.retries)++;
}

void WorkerStats::CountRateLimited(absl::string_view name) { app(name).rate_limited++; }

OriginCounters& WorkerStats::origin(absl::string_view url) {
  auto it = origins_.find(url);
  if (it == origins_.end()) it = origins_.emplace(std::string(url), OriginCounters()).first;
  return it->second;
}

void WorkerStats::MergeInto(Counters* out) const {
  out->NodeCounters::Merge(*this);
  for (const auto& [name, a] : apps_) out->apps[name].Merge(a);
  for (const auto& [url, o] : origins_) out->origins[url].Merge(o);
}

}  // namespace edgerouter::stats
