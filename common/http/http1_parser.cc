#include "common/http/http1_parser.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/base/attributes.h"
#include "common/http/char_class.h"
#include "common/http/head_fields.h"

namespace edgerouter::http {
namespace {

using namespace head_fields;  // NOLINT: the parser is written in these terms

// Header lines from `p` through the blank line; `end` is the buffer end capped at the limit.
Step ParseFields(const char* p, const char* end, const ParserLimits& limits, HeaderList* headers,
                 HeadFacts* f, const char** head_end, ParseError* error) {
  for (;;) {
    if (p == end) return Step::kIncomplete;
    if (*p == '\r') {
      if (p + 1 == end) return Step::kIncomplete;
      if (p[1] != '\n') return Fail(error, 400, "bare CR in header section");
      *head_end = p + 2;
      return Step::kOk;
    }
    const char* const name = p;
    p = ScanToken(p, end);
    if (p == end) return Step::kIncomplete;
    if (*p != ':' || p == name) {
      if (p == name && IsOws(*p)) return Fail(error, 400, "obsolete line folding");
      if (*p == '\n') return Fail(error, 400, "bare LF line ending");
      if (p != name && IsOws(*p)) return Fail(error, 400, "whitespace before colon");
      return Fail(error, 400, "invalid header name");
    }
    const absl::string_view name_view(name, p - name);
    ++p;
    if (p < end && *p == ' ') ++p;  // the usual single space, then any further OWS
    while (p < end && IsOws(*p)) ++p;
    const char* const value = p;
    p = Scan(p, end, 0x20, kFieldChar);  // HTAB also stops the fast path; the byte loop takes it
    if (p == end) return Step::kIncomplete;
    if (*p != '\r') {
      return Fail(error, 400, *p == '\n' ? "bare LF line ending" : "invalid character in header value");
    }
    if (p + 1 == end) return Step::kIncomplete;
    if (p[1] != '\n') return Fail(error, 400, "bare CR in header value");
    const char* value_end = p;
    while (value_end > value && IsOws(value_end[-1])) --value_end;
    p += 2;
    if (headers->size() >= limits.max_headers) return Fail(error, 431, "too many header fields");
    // Filled in place: building a Header temporary and copying it costs a store-forwarding stall.
    Header& h = headers->emplace_back();
    h.name = name_view;
    h.value = absl::string_view(value, value_end - value);
    if (!ApplyField(h.name, h.value, f, error)) return Step::kError;
  }
}

// "HTTP/1.0" or "HTTP/1.1": 0; other "HTTP/d.d": 505; anything else: 400.
int CheckVersion(absl::string_view v, int* minor) {
  if (v.size() != 8 || std::memcmp(v.data(), "HTTP/", 5) != 0 || !Is(v[5], kDigit) || v[6] != '.' ||
      !Is(v[7], kDigit)) {
    return 400;
  }
  if (v[5] != '1' || v[7] > '1') return 505;
  *minor = v[7] - '0';
  return 0;
}

// Line terminator at `p` (which is inside [.., cap)): CRLF is the only accepted form.
Step ExpectCrlf(const char* p, const char* cap, ParseError* error) {
  if (*p != '\r') return Fail(error, 400, *p == '\n' ? "bare LF line ending" : "invalid start line");
  if (p + 1 == cap) return Step::kIncomplete;
  if (p[1] != '\n') return Fail(error, 400, "bare CR in start line");
  return Step::kOk;
}

Step ParseRequestLine(const char* begin, const char* cap, RequestHead* out, const char** next,
                      ParseError* error) {
  const char* p = begin;
  while (p < cap && Is(*p, kToken)) ++p;
  if (p == cap) return Step::kIncomplete;
  if (*p != ' ' || p == begin) {
    return Fail(error, 400, p == begin && (*p == '\r' || *p == '\n') ? "empty line before request line"
                                                                      : "invalid method");
  }
  out->method = absl::string_view(begin, p - begin);
  const char* const target = ++p;
  p = Scan(p, cap, 0x21, kVisible);
  if (p == cap) return Step::kIncomplete;
  if (p == target) return Fail(error, 400, "empty request target");
  if (*p != ' ') return Fail(error, 400, "invalid character in request target");
  out->target = absl::string_view(target, p - target);
  const char* const version = ++p;
  while (p < cap && Is(*p, kVisible)) ++p;
  if (p == cap) return Step::kIncomplete;
  const Step crlf = ExpectCrlf(p, cap, error);
  if (crlf != Step::kOk) return crlf;
  const int status = CheckVersion(absl::string_view(version, p - version), &out->version_minor);
  if (status == 505) return Fail(error, 505, "HTTP version not supported");
  if (status != 0) return Fail(error, 400, "invalid HTTP version");
  *next = p + 2;
  return Step::kOk;
}

void SplitPathQuery(absl::string_view target, RequestHead* out) {
  const char* q = static_cast<const char*>(std::memchr(target.data(), '?', target.size()));
  if (q == nullptr) {
    out->path = target;
    out->query = absl::string_view();
  } else {
    out->path = absl::string_view(target.data(), q - target.data());
    out->query = absl::string_view(q + 1, target.data() + target.size() - (q + 1));
  }
}

// Checks the request-target form; for absolute-form, rewrites target/path/query to the
// origin-form part and returns the authority.
Step ClassifyTarget(RequestHead* out, absl::string_view* authority, ParseError* error) {
  const absl::string_view t = out->target;
  if (t[0] == '/') {
    SplitPathQuery(t, out);
    return Step::kOk;
  }
  if (t == "*") {
    if (out->method != "OPTIONS") return Fail(error, 400, "'*' target is only valid with OPTIONS");
    out->path = t;
    return Step::kOk;
  }
  size_t scheme = 0;
  if (t.size() > 7 && EqualsLowerAscii(t.substr(0, 7), "http://")) scheme = 7;
  if (t.size() > 8 && EqualsLowerAscii(t.substr(0, 8), "https://")) scheme = 8;
  if (scheme == 0) return Fail(error, 400, "invalid request target");
  const absl::string_view rest = t.substr(scheme);
  const size_t slash = rest.find_first_of("/?");
  *authority = rest.substr(0, slash);
  if (authority->empty() || authority->find('@') != absl::string_view::npos) {
    return Fail(error, 400, "invalid authority in request target");
  }
  if (slash == absl::string_view::npos) {
    out->target = out->path = "/";
    out->query = absl::string_view();
    return Step::kOk;
  }
  if (rest[slash] == '?') return Fail(error, 400, "absolute-form target without a path");
  out->target = rest.substr(slash);
  SplitPathQuery(out->target, out);
  return Step::kOk;
}

// Bytes that may be examined for the start line: CRLF plus at most max_line bytes, and never
// more than the whole head may have.
size_t StartLineCap(size_t size, const ParserLimits& limits) {
  const size_t line = limits.max_request_line > std::numeric_limits<size_t>::max() - 2
                          ? std::numeric_limits<size_t>::max()
                          : limits.max_request_line + 2;
  return std::min({size, limits.max_header_bytes, line});
}

// Maps an incomplete start line to 414/431 when the caps (not the data) ended the scan.
ParseStatus StartLineIncomplete(size_t cap, size_t size, const ParserLimits& limits,
                                absl::string_view too_long, ParseError* error) {
  if (cap == size) return ParseStatus::kIncomplete;
  if (cap == limits.max_request_line + 2) return Error(error, 414, too_long);
  return Error(error, 431, "header section too large");
}

ParseStatus ParseFieldsCapped(absl::string_view buffer, const char* p, const ParserLimits& limits,
                              HeaderList* headers, HeadFacts* f, const char** head_end, ParseError* error) {
  const size_t cap = std::min(buffer.size(), limits.max_header_bytes);
  switch (ParseFields(p, buffer.data() + cap, limits, headers, f, head_end, error)) {
    case Step::kOk:
      return ParseStatus::kDone;
    case Step::kError:
      return ParseStatus::kError;
    case Step::kIncomplete:
      break;
  }
  if (cap == buffer.size()) return ParseStatus::kIncomplete;
  return Error(error, 431, "header section too large");
}

// clear() would free a list grown past its inline size (a connection sending large heads
// would allocate per head), and erase() and resize() are library calls: inline storage is
// cleared, grown storage emptied by popping (trivial, inline) and kept.
inline void ClearKeepingStorage(HeaderList* headers) {
  if (headers->capacity() == kInlineFields) {
    headers->clear();
  } else {
    while (!headers->empty()) headers->pop_back();
  }
}

const Header* FindIn(const HeaderList& headers, absl::string_view name) {
  for (const Header& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return &h;
  }
  return nullptr;
}

}  // namespace

void RequestHead::Clear() {
  method = target = path = query = host = absl::string_view();
  version_major = version_minor = 1;
  ClearKeepingStorage(&headers);
  framing = BodyFraming::kNone;
  content_length = 0;
  keep_alive = true;
  expect_continue = false;
  upgrade = false;
  connection_options = true;
  head_size = 0;
}

void ResponseHead::Clear() {
  version_minor = 1;
  status = 0;
  reason = absl::string_view();
  ClearKeepingStorage(&headers);
  framing = BodyFraming::kUntilClose;
  content_length = 0;
  keep_alive = true;
  connection_options = true;
  head_size = 0;
}

const Header* RequestHead::Find(absl::string_view name) const { return FindIn(headers, name); }
const Header* ResponseHead::Find(absl::string_view name) const { return FindIn(headers, name); }

bool HeadProgress::ShouldParse(absl::string_view buffer, const ParserLimits& limits) {
  const size_t seen = scanned_ <= buffer.size() ? scanned_ : 0;
  scanned_ = buffer.size();
  if (seen == 0) return true;
  if (std::memchr(buffer.data() + seen, '\n', buffer.size() - seen) != nullptr) return true;
  // No line ended: only a limit can turn "incomplete" into an answer (414 or 431).
  // (max() guards the + 2 against overflow, as StartLineCap does.)
  const size_t line_cap =
      std::min(limits.max_header_bytes, std::max(limits.max_request_line, limits.max_request_line + 2));
  auto crossed = [&](size_t limit) { return seen <= limit && buffer.size() > limit; };
  return crossed(line_cap) || crossed(limits.max_header_bytes);
}

ParseStatus ParseRequestHead(absl::string_view buffer, const ParserLimits& limits, RequestHead* out,
                             ParseError* error) {
  out->Clear();
  const char* const begin = buffer.data();
  const size_t line_cap = StartLineCap(buffer.size(), limits);
  const char* p = begin;
  switch (ParseRequestLine(begin, begin + line_cap, out, &p, error)) {
    case Step::kOk:
      break;
    case Step::kError:
      return ParseStatus::kError;
    case Step::kIncomplete:
      return StartLineIncomplete(line_cap, buffer.size(), limits, "request line too long", error);
  }
  // Decided from the request line alone, so bad requests fail before their headers arrive.
  if (out->method == "CONNECT") return Error(error, 501, "CONNECT is not supported");
  absl::string_view authority;
  if (ClassifyTarget(out, &authority, error) == Step::kError) return ParseStatus::kError;

  HeadFacts f;
  f.version_minor = out->version_minor;
  const char* head_end = nullptr;
  const ParseStatus st = ParseFieldsCapped(buffer, p, limits, &out->headers, &f, &head_end, error);
  if (st != ParseStatus::kDone) return st;

  const bool http11 = out->version_minor == 1;
  if (f.host_count == 0 && http11) return Error(error, 400, "missing Host header");
  out->host = f.host;
  if (!authority.empty()) {
    if (f.host_count != 0 && !EqualsIgnoreCase(f.host, authority)) {
      return Error(error, 400, "Host header differs from request target");
    }
    out->host = authority;
  }
  if (!CheckTransferEncoding(f, error)) return ParseStatus::kError;
  if (f.has_te) {
    out->framing = BodyFraming::kChunked;
  } else if (f.has_cl) {
    out->framing = BodyFraming::kContentLength;
    out->content_length = f.content_length;
  }
  out->keep_alive = !f.conn_close && (http11 || f.conn_keep_alive);
  // RFC 9110: both Expect and Upgrade are ignored in HTTP/1.0 requests.
  out->expect_continue = http11 && f.expect_continue;
  out->upgrade = http11 && f.conn_upgrade && f.has_upgrade;
  out->connection_options = f.conn_other;
  out->head_size = head_end - begin;
  return ParseStatus::kDone;
}

ParseStatus CheckSplitRequestHead(const ParserLimits& limits, RequestHead* out, ParseError* error) {
  const absl::string_view method = out->method;
  if (method.empty() || !std::all_of(method.begin(), method.end(), [](char c) { return Is(c, kToken); })) {
    return Error(error, 400, "invalid method");
  }
  if (method == "CONNECT") return Error(error, 501, "CONNECT is not supported");
  const absl::string_view target = out->target;
  if (target.empty()) return Error(error, 400, "empty request target");
  if (Scan(target.data(), target.data() + target.size(), 0x21, kVisible) != target.data() + target.size()) {
    return Error(error, 400, "invalid character in request target");
  }
  // The head as HTTP/1.1 text would be: "METHOD SP target SP HTTP/1.1 CRLF", fields, CRLF.
  const size_t line = method.size() + target.size() + 10;
  if (line > limits.max_request_line) return Error(error, 414, "request line too long");
  if (out->headers.size() > limits.max_headers) return Error(error, 431, "too many header fields");
  size_t head_bytes = line + 2 + 2;  // request line and blank line
  HeadFacts f;
  f.version_minor = 1;
  for (const Header& h : out->headers) {
    head_bytes += h.name.size() + 2 + h.value.size() + 2;
    if (!ApplyField(h.name, h.value, &f, error)) return ParseStatus::kError;
  }
  if (head_bytes > limits.max_header_bytes) return Error(error, 431, "header section too large");
  if (f.has_te) return Error(error, 400, "Transfer-Encoding in a request its protocol frames");
  absl::string_view authority;
  if (ClassifyTarget(out, &authority, error) == Step::kError) return ParseStatus::kError;
  if (!authority.empty()) {
    if (!out->host.empty() && !EqualsIgnoreCase(out->host, authority)) {
      return Error(error, 400, "Host header differs from request target");
    }
    out->host = authority;
  }
  if (f.has_cl) {
    out->framing = BodyFraming::kContentLength;
    out->content_length = f.content_length;
  }
  out->connection_options = f.conn_other;
  return ParseStatus::kDone;
}

ParseStatus ParseResponseHead(absl::string_view buffer, absl::string_view request_method,
                              const ParserLimits& limits, ResponseHead* out, ParseError* error) {
  out->Clear();
  const char* const begin = buffer.data();
  const size_t line_cap = StartLineCap(buffer.size(), limits);
  const char* const cap = begin + line_cap;
  constexpr absl::string_view kStatusLineTooLong = "status line too long";
  const char* p = begin;
  // status-line = HTTP-version SP 3DIGIT [ SP reason-phrase ] CRLF (a missing reason is
  // tolerated: common in practice and harmless for framing).
  if (line_cap > 9 && std::memcmp(begin, "HTTP/1.1 ", 9) == 0) {
    p += 9;  // nearly every origin: no scan and no check for the version
  } else {
    while (p < cap && Is(*p, kVisible)) ++p;
    if (p == cap) return StartLineIncomplete(line_cap, buffer.size(), limits, kStatusLineTooLong, error);
    if (*p != ' ') return Error(error, 400, "invalid status line");
    const int version = CheckVersion(absl::string_view(begin, p - begin), &out->version_minor);
    if (version != 0) return Error(error, version, "invalid HTTP version");
    ++p;
  }
  int status = 0;
  for (int i = 0; i < 3; ++i, ++p) {
    if (p == cap) return StartLineIncomplete(line_cap, buffer.size(), limits, kStatusLineTooLong, error);
    if (!Is(*p, kDigit)) return Error(error, 400, "invalid status code");
    status = status * 10 + (*p - '0');
  }
  if (status < 100) return Error(error, 400, "invalid status code");
  out->status = status;
  if (p < cap && *p == ' ') {
    const char* const reason = ++p;
    while (p < cap && Is(*p, kFieldChar)) ++p;
    out->reason = absl::string_view(reason, p - reason);
  }
  if (p == cap) return StartLineIncomplete(line_cap, buffer.size(), limits, kStatusLineTooLong, error);
  switch (ExpectCrlf(p, cap, error)) {
    case Step::kOk:
      break;
    case Step::kError:
      return ParseStatus::kError;
    case Step::kIncomplete:
      return StartLineIncomplete(line_cap, buffer.size(), limits, kStatusLineTooLong, error);
  }
  p += 2;

  HeadFacts f;
  f.is_request = false;
  f.version_minor = out->version_minor;
  const char* head_end = nullptr;
  const ParseStatus st = ParseFieldsCapped(buffer, p, limits, &out->headers, &f, &head_end, error);
  if (st != ParseStatus::kDone) return st;
  if (!CheckTransferEncoding(f, error)) return ParseStatus::kError;

  if (request_method == "HEAD" || status < 200 || status == 204 || status == 304) {
    out->framing = BodyFraming::kNone;
  } else if (f.has_te) {
    out->framing = BodyFraming::kChunked;
  } else if (f.has_cl) {
    out->framing = BodyFraming::kContentLength;
    out->content_length = f.content_length;
  } else {
    out->framing = BodyFraming::kUntilClose;
  }
  out->keep_alive = !f.conn_close && (out->version_minor == 1 || f.conn_keep_alive) &&
                    out->framing != BodyFraming::kUntilClose;
  out->connection_options = f.conn_other;
  out->head_size = head_end - begin;
  return ParseStatus::kDone;
}

}  // namespace edgerouter::http
