// The redirect backend kind: 302 to redirect_opts.to; a relative target is resolved against the
// request path (as Go's http.Redirect).
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_REDIRECT_REDIRECT_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_REDIRECT_REDIRECT_H_

#include "dataplane/pipeline/registry.h"

namespace edgerouter::backends {

absl::Status CompileRedirect(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                            pipeline::ChainBuilder* chain);

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_REDIRECT_REDIRECT_H_
