// Escaping for what the data plane writes itself: HTML text and attribute values (admin page,
// redirect bodies) and URI references (Location). One escaper per job, used everywhere.
#ifndef EDGEROUTER_DATAPLANE_HTTP_ESCAPING_H_
#define EDGEROUTER_DATAPLANE_HTTP_ESCAPING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace edgerouter::http {

// Escapes & < > " ' (as Go's html.EscapeString), safe in text and in quoted attributes.
std::string HtmlEscape(absl::string_view in);

// Percent-encodes every byte that may not appear in a URI reference (RFC 3986: controls, space,
// " < > \ ^ ` { | } and non-ASCII). Existing %XX escapes and reserved characters are kept, so
// a valid reference comes back unchanged and the result is safe in a header field value.
std::string PercentEncodeUriReference(absl::string_view in);

// A query parameter value as Go's url.QueryEscape writes it: everything but A-Z a-z 0-9 - _ .
// ~ percent-encoded, space as '+'.
std::string QueryEscape(absl::string_view in);
// The reverse ('+' is a space); false on a malformed %XX.
bool QueryUnescape(absl::string_view in, std::string* out);
// The first value of parameter `name` in a raw query string ("a=1&b=2"), decoded.
bool QueryParam(absl::string_view query, absl::string_view name, std::string* value);
// Decodes every valid %XX escape (including %2F); other bytes, and a '%' not followed by two
// hex digits, are kept. For looking up raw names (object keys, manifest paths) by request path.
std::string PercentDecode(absl::string_view in);

}  // namespace edgerouter::http

#endif  // EDGEROUTER_DATAPLANE_HTTP_ESCAPING_H_
