#include "common/log/log_flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "common/log/log.h"

ABSL_FLAG(std::string, log_level, "info", "debug | info | warn | error: lines below it are not written");

namespace edgerouter::log {

absl::Status InitFromFlags() {
  absl::StatusOr<Level> level = ParseLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return absl::InvalidArgumentError(absl::StrCat("--log_level: ", level.status().message()));
  SetLevel(*level);
  return absl::OkStatus();
}

}  // namespace edgerouter::log
