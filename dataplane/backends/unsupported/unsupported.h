// The terminal for a backend kind with no registered factory: every kind of the schema has one
// (builtin.cc), so this only meets a kind from a newer control plane. Every request gets 502
// naming the kind, rather than the snapshot being refused for the other apps.
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_UNSUPPORTED_UNSUPPORTED_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_UNSUPPORTED_UNSUPPORTED_H_

#include "dataplane/pipeline/registry.h"

namespace edgerouter::backends {

absl::Status CompileUnsupported(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                               pipeline::ChainBuilder* chain);

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_UNSUPPORTED_UNSUPPORTED_H_
