// The periodic report a node sends its control plane (discovery.proto NodeReport), computed
// from the same merged worker counters /metrics renders (stats::Counters): per-app requests,
// 5xx and p50/p99 over the interval since the previous report, origin failures, ejections,
// the certificates the served config holds. Bounded: the busiest apps and origins only.
#ifndef EDGEROUTER_DATAPLANE_SERVER_NODE_REPORT_H_
#define EDGEROUTER_DATAPLANE_SERVER_NODE_REPORT_H_

#include <cstddef>
#include <functional>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "dataplane/proxy/runtime_config.h"
#include "dataplane/stats/request_stats.h"
#include "proto/discovery.pb.h"

namespace edgerouter::dataplane {

struct ReportLimits {
  size_t apps = 50;
  size_t origins = 50;
  size_t certificates = 100;
};

// `before` = the counters of the previous report (empty for the first); `config` may be null.
discovery::v1::NodeReport BuildNodeReport(const stats::Counters& now, const stats::Counters& before,
                                      absl::Duration interval, const proxy::RuntimeConfig* config,
                                      const ReportLimits& limits = {});

// The p-quantile (0..1) of a bucket histogram: the upper bound of the bucket holding it (the
// last finite bound for the +Inf bucket); 0 when empty.
double BucketQuantile(const std::array<uint64_t, stats::kBuckets + 1>& buckets, double q);

// Keeps the previous counters between reports. Thread-safe.
class NodeReporter {
 public:
  NodeReporter(std::function<stats::Counters()> collect,
               std::function<std::shared_ptr<const proxy::RuntimeConfig>()> config)
      : collect_(std::move(collect)), config_(std::move(config)) {}

  discovery::v1::NodeReport Next();

 private:
  const std::function<stats::Counters()> collect_;
  const std::function<std::shared_ptr<const proxy::RuntimeConfig>()> config_;
  const absl::Time started_ = absl::Now();
  absl::Mutex mu_;
  stats::Counters previous_ ABSL_GUARDED_BY(mu_);
  absl::Time previous_at_ ABSL_GUARDED_BY(mu_) = started_;
};

}  // namespace edgerouter::dataplane

#endif  // EDGEROUTER_DATAPLANE_SERVER_NODE_REPORT_H_
