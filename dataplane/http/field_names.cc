#include "dataplane/http/field_names.h"

#include "absl/base/attributes.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace edgerouter::http {

namespace {
// The first byte, lower-cased, rules out most candidates of the same length before the full
// case-insensitive compare (candidates are lower-case and start with a letter; only 'A'-'Z'
// and 'a'-'z' map onto 'a'-'z' with | 0x20).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool Is(absl::string_view name, absl::string_view candidate) {
  return (static_cast<unsigned char>(name[0]) | 0x20) == static_cast<unsigned char>(candidate[0]) &&
         EqualsLowerAscii(name, candidate);
}
}  // namespace

FieldName ClassifyFieldName(absl::string_view name) {
  switch (name.size()) {
    case 2:
      return Is(name, "te") ? FieldName::kHopByHop : FieldName::kOther;
    case 4:
      return Is(name, "host") ? FieldName::kHost : FieldName::kOther;
    case 6:
      return Is(name, "expect") ? FieldName::kExpect : FieldName::kOther;
    case 7:
      return Is(name, "trailer") || Is(name, "upgrade") ? FieldName::kHopByHop : FieldName::kOther;
    case 9:
      if (Is(name, "x-real-ip")) return FieldName::kXRealIp;
      return Is(name, "forwarded") ? FieldName::kClientIp : FieldName::kOther;
    case 10:
      return Is(name, "connection") || Is(name, "keep-alive") ? FieldName::kHopByHop : FieldName::kOther;
    case 13:
      return Is(name, "authorization") ? FieldName::kAuthorization : FieldName::kOther;
    case 14:
      if (Is(name, "content-length")) return FieldName::kContentLength;
      return Is(name, "true-client-ip") ? FieldName::kClientIp : FieldName::kOther;
    case 15:
      return Is(name, "x-forwarded-for") ? FieldName::kXForwardedFor : FieldName::kOther;
    case 16:
      if (Is(name, "proxy-connection")) return FieldName::kHopByHop;
      if (Is(name, "x-forwarded-host")) return FieldName::kXForwardedHost;
      if (Is(name, "cf-connecting-ip")) return FieldName::kClientIp;
      return FieldName::kOther;
    case 17:
      if (Is(name, "transfer-encoding")) return FieldName::kHopByHop;
      if (Is(name, "x-forwarded-proto")) return FieldName::kXForwardedProto;
      return FieldName::kOther;
    case 18:
      return Is(name, "proxy-authenticate") ? FieldName::kHopByHop : FieldName::kOther;
    case 19:
      return Is(name, "proxy-authorization") ? FieldName::kHopByHop : FieldName::kOther;
    default:
      return FieldName::kOther;
  }
}

void ConnectionOptions::Add(absl::string_view connection_value) {
  // The usual values nominate nothing ("close" is no field, "keep-alive" is hop-by-hop anyway):
  // no split per response for them.
  if (EqualsLowerAscii(connection_value, "keep-alive") || EqualsLowerAscii(connection_value, "close")) {
    return;
  }
  for (absl::string_view token : absl::StrSplit(connection_value, ',')) {
    token = absl::StripAsciiWhitespace(token);
    if (token.empty() || absl::EqualsIgnoreCase(token, "close")) continue;
    const FieldName kind = ClassifyFieldName(token);
    if (kind == FieldName::kHopByHop || kind == FieldName::kContentLength || kind == FieldName::kHost) continue;
    names_.push_back(token);
  }
}

bool ConnectionOptions::NominatesAny(absl::string_view name) const {
  for (absl::string_view n : names_) {
    if (absl::EqualsIgnoreCase(n, name)) return true;
  }
  return false;
}

}  // namespace edgerouter::http
