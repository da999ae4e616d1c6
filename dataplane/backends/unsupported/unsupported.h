// The terminal for backend kinds this data plane does not serve yet (turbocharger, auth_sso, and
// any kind nobody registered): every request gets 502 naming the kind.
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_UNSUPPORTED_UNSUPPORTED_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_UNSUPPORTED_UNSUPPORTED_H_

#include "dataplane/pipeline/registry.h"

namespace edgerouter::backends {

absl::Status CompileUnsupported(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                               pipeline::ChainBuilder* chain);

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_UNSUPPORTED_UNSUPPORTED_H_
