// The reverse_proxy backend kind: the terminal hands the request to the connection's origin
// side (Exchange::StartProxy) with the compiled ProxyTarget.
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_REVERSE_PROXY_REVERSE_PROXY_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_REVERSE_PROXY_REVERSE_PROXY_H_

#include "dataplane/pipeline/registry.h"

namespace edgerouter::backends {

// Parses reverse_proxy_opts: origins (resolved now), forwarding options, the TLS client
// context for https origins (trust files are read here, on the compile thread).
absl::Status CompileReverseProxy(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                                 pipeline::ChainBuilder* chain);

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_REVERSE_PROXY_REVERSE_PROXY_H_
