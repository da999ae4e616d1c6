// The product version. Its one source is the repository's VERSION file; the build stamps it
// into every binary (genrule //common:version_stamp), and scripts/package.sh reads the same file.
#ifndef EDGEROUTER_COMMON_VERSION_H_
#define EDGEROUTER_COMMON_VERSION_H_

#include <string>

#include "absl/strings/string_view.h"

namespace edgerouter {

// e.g. "0.9.0".
const char* Version();

// "<program> <version>\n", what every binary prints for --version.
std::string VersionLine(absl::string_view program);

// For binaries that parse flags with absl: makes `--version` print VersionLine and exit 0.
// Call before absl::ParseCommandLine.
void InstallVersionFlag(absl::string_view program);

}  // namespace edgerouter

#endif  // EDGEROUTER_COMMON_VERSION_H_
