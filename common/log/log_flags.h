// --log_level for the binaries that log (not for the CLI, which prints to its user).
#ifndef EDGEROUTER_COMMON_LOG_LOG_FLAGS_H_
#define EDGEROUTER_COMMON_LOG_LOG_FLAGS_H_

#include "absl/status/status.h"

namespace edgerouter::log {

// Applies --log_level to the default logger; call after absl::ParseCommandLine.
absl::Status InitFromFlags();

}  // namespace edgerouter::log

#endif  // EDGEROUTER_COMMON_LOG_LOG_FLAGS_H_
