// Helpers shared by tests.
#ifndef EDGEROUTER_COMMON_TEST_UTIL_H_
#define EDGEROUTER_COMMON_TEST_UTIL_H_

#include <string>
#include "absl/strings/string_view.h"

namespace edgerouter::testing {

// Absolute path of a workspace file in the test's runfiles (e.g. "testdata/apps/x.json").
std::string RunfilePath(absl::string_view workspace_relative);

// A TCP port on 127.0.0.1 that was free a moment ago, below the kernel's ephemeral range, and
// reserved for this process's life against every other pick (here and in tests running
// alongside): for servers started with an explicit port, or that must come back on it.
int PickFreeLoopbackPort();
// A 16-aligned base port with base .. base+count-1 all free on 127.0.0.1 (for servers that
// derive their port from an index, such as Swarm task slots); 0 if none was found.
int PickFreeLoopbackPortBlock(int count);

// Whole file contents; aborts the test binary if it cannot be read.
std::string ReadFileOrDie(const std::string& path);

}  // namespace edgerouter::testing

#endif  // EDGEROUTER_COMMON_TEST_UTIL_H_
