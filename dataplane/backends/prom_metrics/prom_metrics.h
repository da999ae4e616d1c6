// The prom_metrics backend kind: the data plane's Prometheus text.
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_PROM_METRICS_PROM_METRICS_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_PROM_METRICS_PROM_METRICS_H_

#include "dataplane/pipeline/registry.h"

namespace edgerouter::backends {

absl::Status CompilePromMetrics(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                               pipeline::ChainBuilder* chain);

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_PROM_METRICS_PROM_METRICS_H_
