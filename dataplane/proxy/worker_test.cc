#include "dataplane/proxy/worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "gtest/gtest.h"

namespace edgerouter::proxy {
namespace {

// Client sockets get TCP_NODELAY from their listener (no setsockopt per accepted connection):
// small responses must not wait for the client's ACK of the previous one.
TEST(ListenReusePort, AcceptedSocketsHaveNagleOff) {
  absl::StatusOr<int> listener = ListenReusePort("127.0.0.1:0");
  ASSERT_TRUE(listener.ok()) << listener.status();
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(*listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int client = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), len), 0);
  pollfd ready{*listener, POLLIN, 0};
  ASSERT_EQ(poll(&ready, 1, 10000), 1);  // the listener is non-blocking
  const int accepted = accept4(*listener, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(accepted, 0) << std::strerror(errno);
  int nodelay = 0;
  socklen_t optlen = sizeof(nodelay);
  ASSERT_EQ(getsockopt(accepted, IPPROTO_TCP, TCP_NODELAY, &nodelay, &optlen), 0);
  EXPECT_EQ(nodelay, 1);
  close(accepted);
  close(client);
  close(*listener);
}

}  // namespace
}  // namespace edgerouter::proxy
