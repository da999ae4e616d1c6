// The control plane's --acme_* flags (docs/acme.md), defined here so that turning ACME on is a
// few lines in controlplane_main.cc.
#ifndef EDGEROUTER_CONTROLPLANE_ACME_ACME_FLAGS_H_
#define EDGEROUTER_CONTROLPLANE_ACME_ACME_FLAGS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "controlplane/acme/acme_service.h"

namespace edgerouter::acme {

// nullopt when --acme_directory is empty (ACME off); InvalidArgument naming the flag when the
// flags are inconsistent.
absl::StatusOr<std::optional<AcmeServiceOptions>> AcmeOptionsFromFlags(const std::string& tenant);

}  // namespace edgerouter::acme

#endif  // EDGEROUTER_CONTROLPLANE_ACME_ACME_FLAGS_H_
