// The field rules of an HTTP/2 request (RFC 9113 §8.2, §8.3), checked by the session itself
// rather than by nghttp2's HTTP messaging layer (which the session turns off: it checked the same
// fields a second time, by byte, at about 1,100 instructions per request). A request that breaks
// one is a stream error (RST_STREAM PROTOCOL_ERROR) and never reaches the handler.
#ifndef EDGEROUTER_DATAPLANE_H2_FIELD_RULES_H_
#define EDGEROUTER_DATAPLANE_H2_FIELD_RULES_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace edgerouter::h2::field_rules {

// A regular field name: non-empty, token characters, lower-case (§8.2.1).
bool ValidName(absl::string_view name);
// A field value: HTAB, SP, VCHAR or obs-text only (so no NUL, CR, LF or DEL), and no leading
// or trailing SP/HTAB (§8.2.1).
bool ValidValue(absl::string_view value);
// :method: a token.
bool ValidMethod(absl::string_view method);
// :authority and Host: the characters of RFC 3986's authority (unreserved, sub-delims, ':',
// '@', '[', ']', '%'); the host itself is checked again when routed.
bool ValidAuthority(absl::string_view authority);
// Connection-specific fields, which an HTTP/2 message must not carry (§8.2.2).
bool ConnectionSpecific(absl::string_view name);

// The pseudo-header fields of a request, one bit each (for "seen once" bookkeeping).
enum Pseudo : uint8_t { kMethod = 1, kScheme = 2, kAuthority = 4, kPath = 8 };
// Which pseudo-header `name` is (with its ':'), 0 for any other (those are malformed).
uint8_t PseudoOf(absl::string_view name);

}  // namespace edgerouter::h2::field_rules

#endif  // EDGEROUTER_DATAPLANE_H2_FIELD_RULES_H_
