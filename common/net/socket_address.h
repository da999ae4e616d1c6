// Listener addresses as socket addresses: the one parser behind every listen flag (data-plane
// listeners, admin and metrics servers). Built on SplitHostPort; listeners never resolve names.
#ifndef EDGEROUTER_COMMON_NET_SOCKET_ADDRESS_H_
#define EDGEROUTER_COMMON_NET_SOCKET_ADDRESS_H_

#include <sys/socket.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edgerouter::net {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t len = 0;

  bool ipv6() const { return storage.ss_family == AF_INET6; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
  int port() const;  // host byte order
};

// "ip:port" or "[ipv6]:port"; with `empty_host_is_any`, ":port" (and "0.0.0.0:port") is every
// IPv4 address, as nginx's `listen 80`. Errors name the address and what is wrong with it.
absl::StatusOr<SocketAddress> ParseListenAddress(absl::string_view address, bool empty_host_is_any = false);

// `address` with its port replaced (a ":0" listener's actual port, for "ready" lines and tests);
// an address that does not parse comes back unchanged.
std::string WithPort(absl::string_view address, int port);

}  // namespace edgerouter::net

#endif  // EDGEROUTER_COMMON_NET_SOCKET_ADDRESS_H_
