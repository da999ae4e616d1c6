// Content negotiation for response codings (RFC 9110 §12.5.3): which codings an
// Accept-Encoding value allows, with q-values, "*" and "identity". One parser for every
// component that picks a coding (turbocharger's gzip copies, response compression).
#ifndef EDGEROUTER_DATAPLANE_HTTP_CONTENT_CODING_H_
#define EDGEROUTER_DATAPLANE_HTTP_CONTENT_CODING_H_

#include "absl/strings/string_view.h"

namespace edgerouter::http {

// The q-value (0..1000, thousandths) the client gives `coding` in an Accept-Encoding value:
// its own entry, else "*", else 0 (not listed). `x-gzip` counts as `gzip`. Case-insensitive.
// A member that does not parse is ignored, so one bad member does not deny the others.
int AcceptedCodingQuality(absl::string_view accept_encoding, absl::string_view coding);

// Whether a response may be sent with `coding` (q > 0). No header at all: only identity.
inline bool AcceptsCoding(absl::string_view accept_encoding, absl::string_view coding) {
  return AcceptedCodingQuality(accept_encoding, coding) > 0;
}

// Whether `if_none_match` (a field value) matches the entity tag `etag` (quoted) by the weak
// comparison If-None-Match uses (RFC 9110 §13.1.2): "*", a list, and W/ forms.
bool IfNoneMatchMatches(absl::string_view if_none_match, absl::string_view etag);

}  // namespace edgerouter::http

#endif  // EDGEROUTER_DATAPLANE_HTTP_CONTENT_CODING_H_
