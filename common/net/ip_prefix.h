// IP addresses and CIDR prefixes (IPv4 and IPv6) for address-based decisions: trusted proxies
// now, IP allow/deny rules later. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, as dual-stack
// sockets report IPv4 peers) are IPv4, so one rule matches a client however it connected.
#ifndef EDGEROUTER_DATAPLANE_NET_IP_PREFIX_H_
#define EDGEROUTER_DATAPLANE_NET_IP_PREFIX_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edgerouter::net {

class IpAddress {
 public:
  // A literal address only: "192.0.2.1", "2001:db8::1". No port, brackets, zone or spaces.
  static std::optional<IpAddress> Parse(absl::string_view text);

  bool is_v4() const { return v4_; }
  int bits() const { return v4_ ? 32 : 128; }
  // Bit `i` from the most significant one (i < bits()).
  bool bit(int i) const { return (bytes_[i / 8] >> (7 - i % 8)) & 1; }
  std::string ToString() const;
  bool operator==(const IpAddress& o) const { return v4_ == o.v4_ && bytes_ == o.bytes_; }

 private:
  bool v4_ = true;
  std::array<uint8_t, 16> bytes_{};  // IPv4: the first 4
  friend class IpPrefix;
};

class IpPrefix {
 public:
  // "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). Host bits past the
  // length are an error (a typo more often than not: "10.0.0.1/8").
  static absl::StatusOr<IpPrefix> Parse(absl::string_view text);

  bool Contains(const IpAddress& address) const;
  std::string ToString() const;

 private:
  IpAddress base_;
  int length_ = 0;
};

// A set of prefixes; empty matches nothing.
class CidrSet {
 public:
  // Comma-separated prefixes, spaces allowed around them; "" is the empty set. The error names
  // the bad entry.
  static absl::StatusOr<CidrSet> Parse(absl::string_view list);

  void Add(const IpPrefix& prefix) { prefixes_.push_back(prefix); }
  bool Contains(const IpAddress& address) const;
  bool Contains(absl::string_view address) const;  // false for anything that is not an address
  bool empty() const { return prefixes_.empty(); }
  std::string ToString() const;  // "a/n,b/m"

 private:
  std::vector<IpPrefix> prefixes_;
};

}  // namespace edgerouter::net

#endif  // EDGEROUTER_DATAPLANE_NET_IP_PREFIX_H_
