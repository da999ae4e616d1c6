// The auth_v0 backend kind (edgerouter's): an access stage that wants the bearer token (as
// "Authorization: Bearer <token>", or as the password of Basic auth with user "" or "x") and
// answers 401 otherwise; the authorized_backend is compiled into the same chain after it. The token
// is consumed: no backend gets the Authorization field.
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_AUTH_V0_AUTH_V0_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_AUTH_V0_AUTH_V0_H_

#include "dataplane/pipeline/registry.h"

namespace edgerouter::backends {

absl::Status CompileAuthV0(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                          pipeline::ChainBuilder* chain);

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_AUTH_V0_AUTH_V0_H_
