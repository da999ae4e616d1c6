#include "common/net/host_port.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace edgerouter::net {

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<HostPort> SplitHostPort(absl::string_view address, bool allow_empty_host) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("address \"", address, "\": ", why));
  };
  HostPort out;
  absl::string_view port;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos) return bad("missing ']'");
    out.host = std::string(address.substr(1, close - 1));
    if (close + 1 >= address.size() || address[close + 1] != ':') return bad("missing :port");
    port = address.substr(close + 2);
    if (out.host.find(':') == std::string::npos) return bad("brackets around a non-IPv6 host");
  } else {
    const size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) return bad("missing :port");
    out.host = std::string(address.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return bad("IPv6 literals need brackets");
    if (out.host.find_first_of("[]") != std::string::npos) return bad("stray bracket");
    port = address.substr(colon + 1);
  }
  if (out.host.empty() && !allow_empty_host) return bad("empty host");
  uint32_t number = 0;
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(port, &number) || number > 65535) {
    return bad("port must be a number 0-65535");
  }
  out.port = static_cast<uint16_t>(number);
  return out;
}

absl::StatusOr<std::vector<HostPort>> SplitHostPortList(absl::string_view list) {
  std::vector<HostPort> out;
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    absl::StatusOr<HostPort> hp = SplitHostPort(absl::StripAsciiWhitespace(item));
    if (!hp.ok()) return hp.status();
    out.push_back(*std::move(hp));
  }
  if (out.empty()) return absl::InvalidArgumentError(absl::StrCat("address list \"", list, "\" is empty"));
  return out;
}

bool IsIpLiteral(absl::string_view host) {
  const std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

}  // namespace edgerouter::net
