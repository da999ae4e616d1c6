#include "common/net/ip_prefix.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace edgerouter::net {
namespace {

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

std::optional<IpAddress> IpAddress::Parse(absl::string_view text) {
  // inet_pton wants a NUL-terminated string; the longest IPv6 text is 45 characters.
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress a;
  if (inet_pton(AF_INET, buf, a.bytes_.data()) == 1) return a;
  if (inet_pton(AF_INET6, buf, a.bytes_.data()) != 1) return std::nullopt;
  if (std::memcmp(a.bytes_.data(), kV4MappedPrefix, sizeof(kV4MappedPrefix)) == 0) {
    std::memmove(a.bytes_.data(), a.bytes_.data() + 12, 4);
    std::memset(a.bytes_.data() + 4, 0, 12);
    return a;
  }
  a.v4_ = false;
  return a;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = "";
  inet_ntop(v4_ ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof(buf));
  return buf;
}

absl::StatusOr<IpPrefix> IpPrefix::Parse(absl::string_view text) {
  const size_t slash = text.find('/');
  const absl::string_view address_text = text.substr(0, slash);
  std::optional<IpAddress> address = IpAddress::Parse(address_text);
  if (!address.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\": not an IP address or CIDR prefix"));
  }
  IpPrefix p;
  p.base_ = *address;
  p.length_ = address->bits();
  if (slash != absl::string_view::npos) {
    const absl::string_view length_text = text.substr(slash + 1);
    int length = -1;
    const bool digits = !length_text.empty() && length_text.size() <= 3 &&
                        std::all_of(length_text.begin(), length_text.end(), absl::ascii_isdigit);
    // "::ffff:10.0.0.0/104" was parsed as IPv4: its length counts from the mapped part.
    const int offset = address->is_v4() && address_text.find(':') != absl::string_view::npos ? 96 : 0;
    if (!digits || !absl::SimpleAtoi(length_text, &length) || length < offset ||
        length - offset > address->bits()) {
      return absl::InvalidArgumentError(absl::StrCat("\"", text, "\": bad prefix length"));
    }
    p.length_ = length - offset;
  }
  for (int i = p.length_; i < p.base_.bits(); ++i) {
    if (p.base_.bit(i)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", text, "\": address has bits set past the prefix length"));
    }
  }
  return p;
}

bool IpPrefix::Contains(const IpAddress& address) const {
  if (address.v4_ != base_.v4_) return false;
  const int full = length_ / 8;
  if (std::memcmp(address.bytes_.data(), base_.bytes_.data(), full) != 0) return false;
  const int rest = length_ % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (address.bytes_[full] & mask) == base_.bytes_[full];
}

std::string IpPrefix::ToString() const { return absl::StrCat(base_.ToString(), "/", length_); }

absl::StatusOr<CidrSet> CidrSet::Parse(absl::string_view list) {
  CidrSet set;
  if (absl::StripAsciiWhitespace(list).empty()) return set;
  for (absl::string_view entry : absl::StrSplit(list, ',')) {
    absl::StatusOr<IpPrefix> prefix = IpPrefix::Parse(absl::StripAsciiWhitespace(entry));
    if (!prefix.ok()) return prefix.status();
    set.Add(*prefix);
  }
  return set;
}

bool CidrSet::Contains(const IpAddress& address) const {
  for (const IpPrefix& p : prefixes_) {
    if (p.Contains(address)) return true;
  }
  return false;
}

bool CidrSet::Contains(absl::string_view address) const {
  if (prefixes_.empty()) return false;
  std::optional<IpAddress> parsed = IpAddress::Parse(address);
  return parsed.has_value() && Contains(*parsed);
}

std::string CidrSet::ToString() const {
  return absl::StrJoin(prefixes_, ",", [](std::string* out, const IpPrefix& p) { out->append(p.ToString()); });
}

}  // namespace edgerouter::net
