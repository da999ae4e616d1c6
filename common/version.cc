#include "common/version.h"

#include "absl/flags/usage_config.h"
#include "absl/strings/str_cat.h"
#include "common/version_stamp.h"

namespace edgerouter {

const char* Version() { return EDGEROUTER_VERSION; }

std::string VersionLine(absl::string_view program) { return absl::StrCat(program, " ", Version(), "\n"); }

void InstallVersionFlag(absl::string_view program) {
  absl::FlagsUsageConfig config;
  config.version_string = [name = std::string(program)] { return VersionLine(name); };
  absl::SetFlagsUsageConfig(config);
}

}  // namespace edgerouter
