// The data plane's Prometheus text: the workers' counters (collected on each worker's own
// thread, no locks on the request path), their AWS clients and S3 caches, and the gauges of the
// xDS client, the served config and the access log.
#ifndef EDGEROUTER_DATAPLANE_SERVER_ADMIN_METRICS_H_
#define EDGEROUTER_DATAPLANE_SERVER_ADMIN_METRICS_H_

#include <memory>
#include <string>
#include <vector>

#include "dataplane/proxy/access_log.h"
#include "dataplane/proxy/worker.h"
#include "dataplane/stats/request_stats.h"
#include "dataplane/xds/xds_client.h"

namespace edgerouter::dataplane {

// Every worker's counters merged, each collected on its worker's own thread (no locks on the
// request path). Blocks until every loop has run its part (not from a worker thread).
stats::Counters CollectCounters(std::vector<std::unique_ptr<proxy::Worker>>& workers);

// Blocks until every worker's loop has run its part (not from a worker thread).
std::string RenderMetrics(std::vector<std::unique_ptr<proxy::Worker>>& workers, xds::XdsClient& xds,
                          const proxy::ConfigSource& configs, const proxy::AccessLogWriter* access_log);

}  // namespace edgerouter::dataplane

#endif  // EDGEROUTER_DATAPLANE_SERVER_ADMIN_METRICS_H_
