// The data plane's backend kinds: the one list of registrations (builtin.cc). To add a kind,
// write dataplane/backends/<kind>/ with its factory and add one Register line there.
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_BUILTIN_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_BUILTIN_H_

#include <string>

#include "dataplane/pipeline/registry.h"

namespace edgerouter::backends {

// Built on first use, immutable afterwards (safe to use from any thread).
const pipeline::BackendRegistry& BuiltinBackends();

// An app's chain as the data plane serves it: the ip_rules access stage, then its backend's.
absl::StatusOr<pipeline::Chain> CompileAppChain(const std::string& app_id, const config::v1::Backend& backend);

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_BUILTIN_H_
