// Strict HTTP/1.1 message-head parsing and chunked-body framing for the data plane.
//
// Zero-copy: the parsed head holds string_views into the caller's buffer, which must stay
// unchanged while the head is in use. Parsing is all-or-nothing over a buffer that may hold a
// partial head (kIncomplete: read more and call again with the grown buffer).
//
// Strictness (request smuggling / desync defence): anything ambiguous is an error the caller
// answers with `status` and then closes the connection — see ParseError.
#ifndef EDGEROUTER_COMMON_HTTP_HTTP1_PARSER_H_
#define EDGEROUTER_COMMON_HTTP_HTTP1_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"

namespace edgerouter::http {

struct ParserLimits {
  size_t max_request_line = 8 * 1024;   // over: 414
  size_t max_header_bytes = 64 * 1024;  // whole head incl. request line; over: 431
  size_t max_headers = 100;             // over: 431
};

struct Header {
  absl::string_view name;   // as received (case preserved)
  absl::string_view value;  // leading/trailing OWS trimmed
};

// Small-buffer vector: a connection reuses one RequestHead, so steady-state parsing does not
// allocate.
inline constexpr size_t kInlineFields = 24;
using HeaderList = absl::InlinedVector<Header, kInlineFields>;

enum class BodyFraming {
  kNone,           // no body (no Content-Length/Transfer-Encoding on a request; or a response
                   // that cannot have one: HEAD, 1xx, 204, 304)
  kContentLength,  // exactly content_length bytes
  kChunked,        // Transfer-Encoding: chunked (final coding)
  kUntilClose,     // responses only: read until the upstream closes
  kUntilStreamEnd, // requests over HTTP/2 without Content-Length: the body ends with the stream
};

struct RequestHead {
  absl::string_view method;
  absl::string_view target;  // raw request-target; for absolute-form, path+query only (see below)
  absl::string_view path;    // target up to '?' (raw, still percent-encoded)
  absl::string_view query;   // after '?', without it ("" if none)
  int version_major = 1;     // 2: decoded from an HTTP/2 stream (version_minor 0)
  int version_minor = 1;     // HTTP/1.<minor>; only 0 and 1 are accepted
  HeaderList headers;        // all headers in order
  absl::string_view host;    // Host header value, or the authority of an absolute-form target
  BodyFraming framing = BodyFraming::kNone;
  uint64_t content_length = 0;
  bool keep_alive = true;        // HTTP/1.1 default unless "Connection: close"; 1.0 only with keep-alive
  bool expect_continue = false;  // "Expect: 100-continue"
  bool upgrade = false;          // "Connection: upgrade" + an Upgrade header
  // False when the parser saw no Connection token but close, keep-alive and upgrade: then no
  // field is nominated hop-by-hop and forwarding skips looking (true: unknown, look).
  bool connection_options = true;
  size_t head_size = 0;          // bytes consumed by the head (through the blank line); 0 if decoded

  bool http10() const { return version_major == 1 && version_minor == 0; }
  void Clear();  // keeps capacity
  // First header named `name` (case-insensitive), or nullptr.
  const Header* Find(absl::string_view name) const;
};

struct ResponseHead {
  int version_minor = 1;
  int status = 0;
  absl::string_view reason;
  HeaderList headers;
  BodyFraming framing = BodyFraming::kUntilClose;
  uint64_t content_length = 0;
  bool keep_alive = true;  // the upstream connection may be reused after this response
  bool connection_options = true;  // as RequestHead::connection_options
  size_t head_size = 0;

  void Clear();
  const Header* Find(absl::string_view name) const;
};

struct ParseError {
  int status = 400;  // 400, 414, 431, 501 (unsupported transfer coding / method), 505
  absl::string_view reason;  // short fixed text for logs, e.g. "both Content-Length and Transfer-Encoding"
};

enum class ParseStatus { kDone, kIncomplete, kError };

// Parses one request head from the start of `buffer`. Rejects (kError) at least:
// - bare CR or bare LF as line endings (only CRLF), obs-fold (a line starting with SP/HTAB),
// - invalid request line (method not a token, target with CTL/SP, not exactly 3 parts,
//   version other than HTTP/1.0 or HTTP/1.1 -> 505 for other versions),
// - origin-form targets not starting with '/'; '*' except with OPTIONS; CONNECT/authority-form
//   (501); absolute-form other than http/https, or whose authority differs from a Host header,
// - header names that are not tokens, whitespace before the colon, header values with CTL
//   (except HTAB), NUL, or bytes 0x7F,
// - missing Host in HTTP/1.1, more than one Host,
// - both Content-Length and Transfer-Encoding, Content-Length that is not 1*DIGIT (or
//   exceeds 2^63-1), differing duplicate Content-Length values (identical duplicates are merged),
// - Transfer-Encoding whose final coding is not "chunked", any coding list other than exactly
//   "chunked" (501), Transfer-Encoding in HTTP/1.0,
// - oversized request line (414), oversized head or too many headers (431).
// Status choices where the list above leaves room (all others are 400):
// - Transfer-Encoding: 400 when the list is malformed, its final coding is not "chunked", or
//   "chunked" appears twice; 501 when it is well-formed and ends in "chunked" but has other
//   codings or parameters (e.g. "gzip, chunked"): valid HTTP we do not implement.
// - well-formed "HTTP/<digit>.<digit>" other than 1.0/1.1: 505; any other version text: 400.
// - also 400: empty lines before the request line, absolute-form with userinfo or with a query
//   but no path, and header names that read as Content-Length/Transfer-Encoding once '-' and
//   '_' are ignored (Transfer_Encoding, Transfer---Encoding): backends that normalise names
//   (CGI maps '-' to '_') would see a framing header we did not act on.
// absolute-form with an empty path ("http://a.example") yields target = path = "/" (a static
// string, not a view into `buffer`). max_request_line counts the line without its CRLF;
// max_header_bytes the whole head including the final blank line.
// On kIncomplete nothing is consumed; callers must still enforce the size limits on a partial
// head (the parser reports 414/431 as soon as the partial input proves the limit is exceeded).
ParseStatus ParseRequestHead(absl::string_view buffer, const ParserLimits& limits, RequestHead* out,
                             ParseError* error);

// The request rules of ParseRequestHead for a head that arrived already split into its parts
// (HTTP/2: the codec validated field names and values, pseudo-header syntax, connection-specific
// fields and TE). `out` holds method, target, host and headers as decoded, version set; this
// checks the method token, the target's bytes and form (CONNECT 501, '*' only with OPTIONS,
// absolute-form against the host), every field as ParseRequestHead does (Content-Length syntax
// and duplicates, framing look-alikes; Transfer-Encoding is refused: the carrier frames the
// body), and the limits as if the head were HTTP/1.1 text (414, 431). Fills path, query and,
// for a Content-Length, framing and content_length; other framing is the caller's.
ParseStatus CheckSplitRequestHead(const ParserLimits& limits, RequestHead* out, ParseError* error);

// Parses an upstream response head. `request_method` decides whether a body can follow
// (HEAD), `status` 1xx/204/304 never have one. Same strictness as requests for line endings,
// header syntax, CL/TE conflicts and Transfer-Encoding (only exactly "chunked": the proxy
// re-frames bodies and cannot forward other codings). Status-line limit: max_request_line.
ParseStatus ParseResponseHead(absl::string_view buffer, absl::string_view request_method,
                              const ParserLimits& limits, ResponseHead* out, ParseError* error);

// Keeps a head that arrives in many small reads from being parsed from byte 0 on every read
// (a 64 KiB head sent one byte per segment cost ~10^9 byte scans). Each new byte is looked at
// once, for a line end; a full parse runs only for the first bytes (garbage, e.g. TLS on the
// plain port, is still answered at once), when a line has ended since the last parse, or when
// the size limits are crossed. The parser reaches its answer within max_headers + 2 complete
// lines, so a head costs O(lines × size), never O(reads × size). Verdicts are unchanged; an
// error inside a line that is still arriving is reported when the line ends (or at a limit).
class HeadProgress {
 public:
  // Whether `buffer` (what the previous call saw, plus new bytes at the end) is worth parsing.
  bool ShouldParse(absl::string_view buffer, const ParserLimits& limits);
  // The head was parsed (or the buffer replaced): the next head starts from scratch.
  void Reset() { scanned_ = 0; }

 private:
  size_t scanned_ = 0;  // bytes of the current head already searched for a line end
};

// Incremental chunked-body framing (RFC 9112 §7.1), strict: chunk-size is 1*HEXDIG without
// leading/trailing whitespace and must fit in 62 bits; chunk extensions must be
// `;token[=token|quoted-string]`; every line ends in CRLF; trailers are parsed like headers and
// dropped. The raw bytes are passed through unchanged by the caller; this only tracks where the
// body ends and validates it.
class ChunkedDecoder {
 public:
  enum class State { kInProgress, kDone, kError };
  // Longest chunk-size/extension line and trailer line accepted (bytes before the CRLF).
  static constexpr size_t kMaxLineBytes = 4096;

  // Consumes bytes from `input`; returns how many were consumed. Data bytes are reported
  // through `on_data(absl::string_view)` only when `on_data` is non-null. Stops right after the
  // last CRLF of the message (kDone); bytes after that belong to the next message.
  template <typename OnData>
  size_t Feed(absl::string_view input, OnData&& on_data);
  size_t Feed(absl::string_view input) { return FeedImpl(input, nullptr, nullptr); }

  State state() const { return state_; }
  absl::string_view error() const { return error_; }
  void Reset();

 private:
  size_t FeedImpl(absl::string_view input, void (*cb)(void*, absl::string_view), void* ctx);

  enum class Phase { kSize, kSizeLf, kExt, kData, kDataCr, kDataLf, kTrailerStart, kTrailerLine,
                     kTrailerLf, kFinalLf };
  Phase phase_ = Phase::kSize;
  State state_ = State::kInProgress;
  uint64_t remaining_ = 0;
  int size_digits_ = 0;
  size_t line_bytes_ = 0;  // bytes of the current size/extension/trailer line (limited)
  absl::string_view error_;
  // extension-parsing sub-state
  int ext_state_ = 0;
};

template <typename OnData>
size_t ChunkedDecoder::Feed(absl::string_view input, OnData&& on_data) {
  // remove_reference: OnData is `F&` for lvalue callbacks, and `F&*` would not compile.
  using Fn = std::remove_reference_t<OnData>;
  return FeedImpl(
      input, [](void* ctx, absl::string_view data) { (*static_cast<Fn*>(ctx))(data); },
      const_cast<void*>(static_cast<const void*>(std::addressof(on_data))));
}

}  // namespace edgerouter::http

#endif  // EDGEROUTER_COMMON_HTTP_HTTP1_PARSER_H_
