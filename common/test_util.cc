#include "common/test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace edgerouter::testing {

std::string RunfilePath(absl::string_view workspace_relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || workspace == nullptr) return std::string(workspace_relative);
  return absl::StrCat(srcdir, "/", workspace, "/", workspace_relative);
}

namespace {
bool LoopbackPortFree(int port);

// Between picking a port and the server binding it, another pick could return it too: in this
// process (a set), or in a test running alongside (an flock on /tmp/edgerouter-test-ports/<port>,
// held for this process's life and dropped by the kernel however it ends). The lock files stay
// (empty, one per port ever used): unlinking one could let two processes lock different inodes.
bool ReservePort(int port) {
  static std::mutex mu;
  static std::set<int>* reserved = new std::set<int>;
  std::lock_guard<std::mutex> lock(mu);
  if (reserved->count(port) != 0) return false;
  constexpr char kDir[] = "/tmp/edgerouter-test-ports";
  mkdir(kDir, 01777);
  const int fd = open(absl::StrCat(kDir, "/", port).c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0666);
  if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return false;  // another test process holds it
  }
  // fd < 0 (no /tmp?): the bind check alone. Otherwise fd stays open: it is the reservation.
  reserved->insert(port);
  return true;
}
}  // namespace

int PickFreeLoopbackPort() {
  // Below the kernel's ephemeral range (ip_local_port_range, 32768+ by default), so no
  // outgoing connection of a test running alongside can take the port as its source port
  // before the server meant to listen on it has started.
  int low = 32768;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%d", &low) != 1) low = 32768;
    std::fclose(f);
  }
  if (low > 12000) {
    thread_local std::mt19937 random(static_cast<unsigned>(getpid()) * 7919u + static_cast<unsigned>(time(nullptr)));
    std::uniform_int_distribution<int> pick(10000, low - 1);
    for (int attempt = 0; attempt < 200; ++attempt) {
      const int port = pick(random);
      if (LoopbackPortFree(port) && ReservePort(port)) return port;
    }
  }
  // Fallback: whatever the kernel hands out.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) close(fd);
  return port;
}

namespace {
// Whether a listener could bind 127.0.0.1:port now. No SO_REUSEADDR, so a port with sockets
// lingering in TIME_WAIT counts as taken too (some servers bind without it).
bool LoopbackPortFree(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return free;
}
}  // namespace

int PickFreeLoopbackPortBlock(int count) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int picked = PickFreeLoopbackPort();  // reserved already
    const int base = picked & ~0xf;
    bool all_free = base > 1024;
    for (int i = 0; all_free && i < count; ++i) all_free = base + i == picked || LoopbackPortFree(base + i);
    // Reserved one by one: a block half reserved by a failed attempt only costs those ports.
    for (int i = 0; all_free && i < count; ++i) all_free = base + i == picked || ReservePort(base + i);
    if (all_free) return base;
  }
  return 0;
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::abort();
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace edgerouter::testing
