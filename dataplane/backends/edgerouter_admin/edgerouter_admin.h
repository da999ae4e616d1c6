// The edgerouter_admin backend kind: the admin page (every app described) at "/", 404 elsewhere.
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_EDGEROUTER_ADMIN_EDGEROUTER_ADMIN_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_EDGEROUTER_ADMIN_EDGEROUTER_ADMIN_H_

#include "dataplane/pipeline/registry.h"

namespace edgerouter::backends {

absl::Status CompileEdgerouterAdmin(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                                   pipeline::ChainBuilder* chain);

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_EDGEROUTER_ADMIN_EDGEROUTER_ADMIN_H_
