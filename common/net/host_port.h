// The one host:port splitter of the project (listen addresses, control-plane endpoints,
// origins): "host:port", "[v6]:port"; the host may be a name, an IPv4 or a bracketed IPv6
// literal. Errors name the input.
#ifndef EDGEROUTER_COMMON_NET_HOST_PORT_H_
#define EDGEROUTER_COMMON_NET_HOST_PORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edgerouter::net {

struct HostPort {
  std::string host;  // without brackets
  uint16_t port = 0;

  // "host:port", with brackets around an IPv6 literal.
  std::string ToString() const;
};

// Requires a port (0..65535, digits only) and a non-empty host, unless `allow_empty_host`
// (listen flags: ":80" is every address); "::1:80" (unbracketed IPv6) is refused as ambiguous.
absl::StatusOr<HostPort> SplitHostPort(absl::string_view address, bool allow_empty_host = false);

// "h:p,h:p,…" → endpoints, in order; blanks around commas ignored; an empty list is an error.
absl::StatusOr<std::vector<HostPort>> SplitHostPortList(absl::string_view list);

// True if `host` is an IPv4 or IPv6 literal (no brackets).
bool IsIpLiteral(absl::string_view host);

}  // namespace edgerouter::net

#endif  // EDGEROUTER_COMMON_NET_HOST_PORT_H_
