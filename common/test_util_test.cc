#include "common/test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"

#include "gtest/gtest.h"

namespace edgerouter::testing {
namespace {

TEST(PickFreeLoopbackPort, NeverTheSamePortTwiceInAProcess) {
  std::set<int> seen;
  for (int i = 0; i < 300; ++i) {
    const int port = PickFreeLoopbackPort();
    ASSERT_GT(port, 1024);
    EXPECT_TRUE(seen.insert(port).second) << "port " << port << " handed out twice";
  }
}

// Started again as a separate process (fresh memory: only the flocks can keep it off the
// parent's ports), this binary picks 500 ports and exits 1 if it got one the parent holds.
const bool kStartedAsChild = [] {
  const char* parent_ports = std::getenv("ER_TEST_PARENT_PORTS");
  if (parent_ports == nullptr) return false;
  std::set<int> parents;
  std::ifstream in(parent_ports);
  for (int port; in >> port;) parents.insert(port);
  int clashes = 0;
  for (int i = 0; i < 500; ++i) clashes += parents.count(PickFreeLoopbackPort());
  _exit(parents.size() == 200 && clashes == 0 ? 0 : 1);
}();

TEST(PickFreeLoopbackPort, PortsHeldByAnotherProcessAreNotHandedOut) {
  const std::string file = absl::StrCat(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp",
                                        "/parent-ports-", getpid());
  {
    std::ofstream out(file);
    for (int i = 0; i < 200; ++i) out << PickFreeLoopbackPort() << "\n";
  }
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    setenv("ER_TEST_PARENT_PORTS", file.c_str(), 1);
    execl("/proc/self/exe", "test_util_test", static_cast<char*>(nullptr));
    _exit(2);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  std::remove(file.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the child got a port this process holds; 2: exec failed";
}

TEST(PickFreeLoopbackPortBlock, BlockIsAlignedAndReserved) {
  const int base = PickFreeLoopbackPortBlock(4);
  ASSERT_GT(base, 1024);
  EXPECT_EQ(base % 16, 0);
  for (int i = 0; i < 200; ++i) {
    const int port = PickFreeLoopbackPort();
    EXPECT_FALSE(port >= base && port < base + 4) << port;
  }
}

}  // namespace
}  // namespace edgerouter::testing
