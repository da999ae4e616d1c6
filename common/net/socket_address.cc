#include "common/net/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "absl/strings/str_cat.h"
#include "common/net/host_port.h"

namespace edgerouter::net {

int SocketAddress::port() const {
  return ntohs(ipv6() ? reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port
                      : reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
}

absl::StatusOr<SocketAddress> ParseListenAddress(absl::string_view address, bool empty_host_is_any) {
  absl::StatusOr<HostPort> hp = SplitHostPort(address, empty_host_is_any);
  if (!hp.ok()) return absl::InvalidArgumentError(absl::StrCat("listen ", hp.status().message()));
  if (hp->host.empty()) hp->host = "0.0.0.0";  // ":80": every IPv4 address
  SocketAddress out;
  if (hp->host.find(':') != std::string::npos) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(hp->port);
    if (inet_pton(AF_INET6, hp->host.c_str(), &sin6->sin6_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("listen address \"", address, "\": host is not an IPv6 literal"));
    }
    out.len = sizeof(*sin6);
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(hp->port);
    if (inet_pton(AF_INET, hp->host.c_str(), &sin->sin_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("listen address \"", address, "\": host is not an IPv4 literal"));
    }
    out.len = sizeof(*sin);
  }
  return out;
}

std::string WithPort(absl::string_view address, int port) {
  absl::StatusOr<HostPort> hp = SplitHostPort(address, /*allow_empty_host=*/true);
  if (!hp.ok()) return std::string(address);
  hp->port = static_cast<uint16_t>(port);
  return hp->ToString();
}

}  // namespace edgerouter::net
