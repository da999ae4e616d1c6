#include "dataplane/backends/reverse_proxy/proxy_target.h"

#include <netdb.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/net/host_port.h"

namespace edgerouter::backends {

Origin ParseOrigin(const std::string& url) {
  Origin o;
  o.url = url;
  absl::string_view rest = url;
  if (absl::ConsumePrefix(&rest, "https://")) {
    o.tls = true;
  } else {
    absl::ConsumePrefix(&rest, "http://");
  }
  const size_t slash = rest.find_first_of("/?#");
  o.authority = std::string(rest.substr(0, slash));
  if (slash != absl::string_view::npos) {
    absl::string_view path = rest.substr(slash);
    path = path.substr(0, path.find_first_of("?#"));
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    o.path_prefix = std::string(path);
  }
  // The URL's port is optional: the scheme's default fills in.
  const size_t colon = o.authority.rfind(':');
  const size_t close = o.authority.rfind(']');
  const bool has_port = colon != std::string::npos && (close == std::string::npos || colon > close);
  absl::StatusOr<net::HostPort> hp =
      net::SplitHostPort(has_port ? o.authority : absl::StrCat(o.authority, o.tls ? ":443" : ":80"));
  if (!hp.ok()) {
    o.resolve_error = std::string(hp.status().message());
    return o;
  }
  o.host = hp->host;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  const int rc = getaddrinfo(o.host.c_str(), absl::StrCat(hp->port).c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    o.resolve_error = absl::StrCat("cannot resolve ", o.host, ": ", gai_strerror(rc));
    return o;
  }
  std::memcpy(&o.addr, result->ai_addr, result->ai_addrlen);
  o.addr_len = result->ai_addrlen;
  freeaddrinfo(result);
  return o;
}

}  // namespace edgerouter::backends
