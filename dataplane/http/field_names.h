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
#include "common/http/char_class.h"

namespace edgerouter::http {

// Word-at-a-time ASCII case helpers, shared with the HTTP/1 head parser.
using char_class::EqualsLowerAscii;

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

// Lengths of the hop-by-hop names (2 "te" ... 19 "proxy-authorization"): most fields of a
// message are ruled out by their length alone, without the call.
inline constexpr uint32_t kHopByHopLengths = 1u << 2 | 1u << 7 | 1u << 10 | 1u << 16 | 1u << 17 | 1u << 18 | 1u << 19;
inline bool IsHopByHop(absl::string_view name) {
  return name.size() < 32 && (kHopByHopLengths >> name.size() & 1) != 0 &&
         ClassifyFieldName(name) == FieldName::kHopByHop;
}

// The fields Connection headers nominate as hop-by-hop (RFC 9110 §7.6.1), beyond the fixed
// list: "close" and "keep-alive" name nothing new, so the usual header leaves this empty and the
// per-field check costs nothing. Content-Length and Host are never taken: dropping the framing
// of a message we forward would desynchronise the connection it goes out on.
class ConnectionOptions {
 public:
  ConnectionOptions() = default;
  // What the Connection fields of a parsed head (RequestHead or ResponseHead) nominate. The
  // parser already knows when they hold only close, keep-alive and upgrade: then nothing is
  // looked for.
  template <typename Head>
  static ConnectionOptions Of(const Head& head) {
    ConnectionOptions options;
    if (!head.connection_options) return options;
    for (const auto& f : head.headers) {
      if (EqualsLowerAscii(f.name, "connection")) options.Add(f.value);
    }
    return options;
  }
  // The value of one Connection field; call for each of them.
  void Add(absl::string_view connection_value);
  bool Nominates(absl::string_view name) const { return !names_.empty() && NominatesAny(name); }
  bool empty() const { return names_.empty(); }

 private:
  bool NominatesAny(absl::string_view name) const;

  absl::InlinedVector<absl::string_view, 4> names_;
};

}  // namespace edgerouter::http

#endif  // EDGEROUTER_DATAPLANE_HTTP_FIELD_NAMES_H_
