// Field names a proxy treats specially, recognised with one length switch and at most a couple
// of case-insensitive compares per field (the forwarding loops run this for every field of every
// request and response).
#ifndef EDGEROUTER_DATAPLANE_HTTP_FIELD_NAMES_H_
#define EDGEROUTER_DATAPLANE_HTTP_FIELD_NAMES_H_

#include <cstdint>
#include <cstring>

#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace edgerouter::http {

// Eight bytes with ASCII 'A'-'Z' lower-cased, the rest untouched. Per byte: upper = ASCII and
// >= 'A' and <= 'Z', tested on the low 7 bits with adds that cannot carry into the next byte;
// 0x20 is then or-ed into those bytes.
inline uint64_t LowerAscii8(uint64_t x) {
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t low7 = x & ~kHigh;
  const uint64_t at_least_a = low7 + 0x3f3f3f3f3f3f3f3fULL;  // high bit: >= 'A' (0x41)
  const uint64_t above_z = low7 + 0x2525252525252525ULL;     // high bit: > 'Z' (0x5a)
  return x | ((at_least_a & ~above_z & ~x & kHigh) >> 2);
}

// ASCII lower-casing in place, a word at a time.
inline void LowerAsciiInPlace(char* p, size_t n) {
  size_t i = 0;
  for (uint64_t x; i + 8 <= n; i += 8) {
    std::memcpy(&x, p + i, 8);
    x = LowerAscii8(x);
    std::memcpy(p + i, &x, 8);
  }
  for (; i < n; ++i) p[i] = absl::ascii_tolower(static_cast<unsigned char>(p[i]));
}

// `s` equals `lower` (lower-case ASCII) ignoring ASCII case: absl::EqualsIgnoreCase a word at
// a time (field names are compared per field of every message).
inline bool EqualsLowerAscii(absl::string_view s, absl::string_view lower) {
  const size_t n = s.size();
  if (n != lower.size()) return false;
  size_t i = 0;
  for (uint64_t a, b; i + 8 <= n; i += 8) {
    std::memcpy(&a, s.data() + i, 8);
    std::memcpy(&b, lower.data() + i, 8);
    if (LowerAscii8(a) != b) return false;
  }
  for (; i < n; ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(s[i])) != lower[i]) return false;
  }
  return true;
}

enum class FieldName {
  kOther,
  kHopByHop,  // RFC 9110 §7.6.1: Connection, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade
  kHost,
  kContentLength,
  kExpect,
  kAuthorization,
  kXForwardedFor,
  kXForwardedProto,
  kXForwardedHost,
  kXRealIp,
  kClientIp,  // other client-address claims: Forwarded, True-Client-IP, CF-Connecting-IP
};

FieldName ClassifyFieldName(absl::string_view name);
inline bool IsHopByHop(absl::string_view name) { return ClassifyFieldName(name) == FieldName::kHopByHop; }

// The fields Connection headers nominate as hop-by-hop (RFC 9110 §7.6.1), beyond the fixed
// list: "close" and "keep-alive" name nothing new, so the usual header leaves this empty and the
// per-field check costs nothing. Content-Length and Host are never taken: dropping the framing
// of a message we forward would desynchronise the connection it goes out on.
class ConnectionOptions {
 public:
  ConnectionOptions() = default;
  // What every Connection field among `fields` (anything with .name and .value) nominates.
  template <typename Fields>
  static ConnectionOptions Of(const Fields& fields) {
    ConnectionOptions options;
    for (const auto& f : fields) {
      if (EqualsLowerAscii(f.name, "connection")) options.Add(f.value);
    }
    return options;
  }
  // The value of one Connection field; call for each of them.
  void Add(absl::string_view connection_value);
  bool Nominates(absl::string_view name) const;
  bool empty() const { return names_.empty(); }

 private:
  absl::InlinedVector<absl::string_view, 4> names_;
};

}  // namespace edgerouter::http

#endif  // EDGEROUTER_DATAPLANE_HTTP_FIELD_NAMES_H_
