// An HTTP/2 stream's request head as the decoded request value both codecs produce
// (http::RequestHead): the HTTP/1.1 parser fills it from bytes, this fills it from the stream's
// HEADERS, and the same request path serves it. No HTTP/1.1 text is written or parsed.
#ifndef EDGEROUTER_DATAPLANE_H2_REQUEST_DECODER_H_
#define EDGEROUTER_DATAPLANE_H2_REQUEST_DECODER_H_

#include <string>

#include "dataplane/h2/h2_session.h"
#include "common/http/http1_parser.h"

namespace edgerouter::h2 {

// Fills `out` from `stream` (views into the stream's strings and into `cookies`, valid while
// both live and stay unchanged): :method, :path and :authority (or Host) become method,
// target and host (and a first field "host" with it, as HTTP/1.1 has); version 2.0; cookie fields split per RFC 9113 §8.2.3 are joined with "; "
// (in `cookies`, which keeps its capacity) at the first one's place; the client's Host, Expect and
// connection-specific fields are dropped (the HTTP/2 layer answers for them). Framing:
// Content-Length when given, none when HEADERS ended the stream, else kUntilStreamEnd.
//
// nghttp2 has already refused (stream error) malformed pseudo-headers, field names and values
// outside RFC 9113 §8.2.1, connection-specific fields, TE other than "trailers", and it resets
// a stream whose DATA total differs from its Content-Length. On top of that the request gets
// the HTTP/1.1 parser's request rules (http::CheckSplitRequestHead): kError with `error` set
// (the same status an HTTP/1.1 client gets for the same head).
http::ParseStatus DecodeRequest(const Stream& stream, const http::ParserLimits& limits, http::RequestHead* out,
                                std::string* cookies, http::ParseError* error);

}  // namespace edgerouter::h2

#endif  // EDGEROUTER_DATAPLANE_H2_REQUEST_DECODER_H_
