#include "common/http/http1_parser.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/base/attributes.h"
#include "common/http/char_class.h"

namespace edgerouter::http {
namespace {

using char_class::Is;
using char_class::kDigit;
using char_class::kFieldChar;
using char_class::kLower;
using char_class::kQdText;
using char_class::kToken;
using char_class::kVisible;
using char_class::Scan;

inline bool IsOws(char c) { return c == ' ' || c == '\t'; }

// `lower` must already be lower-case.
bool EqualsLower(absl::string_view s, absl::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (kLower[static_cast<uint8_t>(s[i])] != static_cast<uint8_t>(lower[i])) return false;
  }
  return true;
}

// Case-insensitive match that skips '-' and '_' in `name`: "Transfer_Encoding",
// "Transfer---Encoding" and "TransferEncoding" all match "transferencoding".
bool MatchesIgnoringSeparators(absl::string_view name, absl::string_view letters) {
  size_t j = 0;
  for (char c : name) {
    if (c == '-' || c == '_') continue;
    if (j == letters.size() || kLower[static_cast<uint8_t>(c)] != static_cast<uint8_t>(letters[j])) return false;
    ++j;
  }
  return j == letters.size();
}

bool EqualsIgnoreCase(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (kLower[static_cast<uint8_t>(a[i])] != kLower[static_cast<uint8_t>(b[i])]) return false;
  }
  return true;
}

absl::string_view TrimOws(absl::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

// Calls fn(element) for every comma-separated element, OWS-trimmed (possibly empty).
template <typename Fn>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void ForEachListElement(absl::string_view list, Fn&& fn) {
  for (;;) {
    const size_t comma = list.find(',');
    fn(TrimOws(list.substr(0, comma)));
    if (comma == absl::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

enum class Step { kOk, kIncomplete, kError };

// Records the error; the three spellings fit the three kinds of caller.
Step Fail(ParseError* error, int status, absl::string_view reason) {
  error->status = status;
  error->reason = reason;
  return Step::kError;
}
bool Reject(ParseError* error, int status, absl::string_view reason) {
  Fail(error, status, reason);
  return false;
}
ParseStatus Error(ParseError* error, int status, absl::string_view reason) {
  Fail(error, status, reason);
  return ParseStatus::kError;
}

// What the header section says about framing and connection handling.
struct HeadFacts {
  bool is_request = true;
  int version_minor = 1;
  int host_count = 0;
  absl::string_view host;
  bool has_cl = false;
  uint64_t content_length = 0;
  bool has_te = false;
  int te_chunked = 0;            // how often "chunked" appears in the combined list
  bool te_last_chunked = false;  // the final coding seen so far is "chunked"
  bool te_unsupported = false;   // some other coding, or parameters
  bool conn_close = false;
  bool conn_keep_alive = false;
  bool conn_upgrade = false;
  bool has_upgrade = false;
  bool expect_continue = false;
};

// 1*DIGIT, at most 2^63-1 so it also fits signed offsets downstream.
bool ParseContentLength(absl::string_view v, uint64_t* out) {
  if (v.empty()) return false;
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t n = 0;
  for (char c : v) {
    if (!Is(c, kDigit)) return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (kMax - d) / 10) return false;
    n = n * 10 + d;
  }
  *out = n;
  return true;
}

// Returns the index just past a quoted-string starting at s[i] == '"', or npos.
size_t SkipQuotedString(absl::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '"') return i + 1;
    if (s[i] == '\\') {
      if (++i == s.size() || !Is(s[i], kFieldChar)) return absl::string_view::npos;
    } else if (!Is(s[i], kQdText)) {
      return absl::string_view::npos;
    }
  }
  return absl::string_view::npos;
}

size_t SkipToken(absl::string_view s, size_t i) {
  while (i < s.size() && Is(s[i], kToken)) ++i;
  return i;
}

// One transfer-coding: token *( OWS ";" OWS token "=" ( token / quoted-string ) ).
bool AddTransferCoding(absl::string_view e, HeadFacts* f) {
  size_t i = SkipToken(e, 0);
  if (i == 0) return false;
  const bool chunked = EqualsLower(e.substr(0, i), "chunked");
  bool params = false;
  while (i < e.size()) {
    while (i < e.size() && IsOws(e[i])) ++i;
    if (i == e.size() || e[i] != ';') return false;
    ++i;
    while (i < e.size() && IsOws(e[i])) ++i;
    const size_t name = i;
    i = SkipToken(e, i);
    if (i == name || i == e.size() || e[i] != '=') return false;
    ++i;
    if (i < e.size() && e[i] == '"') {
      i = SkipQuotedString(e, i);
      if (i == absl::string_view::npos) return false;
    } else {
      const size_t value = i;
      i = SkipToken(e, i);
      if (i == value) return false;
    }
    params = true;
  }
  f->te_chunked += chunked;
  f->te_last_chunked = chunked;
  f->te_unsupported |= !chunked || params;
  return true;
}

// Applies one header field to `f`; returns false with `error` set if it alone makes the
// message invalid. Names are dispatched on length first so most fields cost one switch.
// Always inlined: it runs for every field of every head, and a call per field is measurable.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool ApplyField(absl::string_view name, absl::string_view value, HeadFacts* f,
                                                   ParseError* error) {
  bool framing_name = false;  // exactly Content-Length or Transfer-Encoding
  switch (name.size()) {
    case 4:
      if (f->is_request && EqualsLower(name, "host")) {
        if (++f->host_count > 1) return Reject(error, 400, "more than one Host header");
        f->host = value;
      }
      break;
    case 6:
      if (f->is_request && EqualsLower(name, "expect") && EqualsLower(value, "100-continue")) {
        f->expect_continue = true;
      }
      break;
    case 7:
      if (f->is_request && EqualsLower(name, "upgrade")) f->has_upgrade = true;
      break;
    case 10:
      if (EqualsLower(name, "connection")) {
        ForEachListElement(value, [f](absl::string_view token) {
          if (EqualsLower(token, "close")) f->conn_close = true;
          if (EqualsLower(token, "keep-alive")) f->conn_keep_alive = true;
          if (EqualsLower(token, "upgrade")) f->conn_upgrade = true;
        });
      }
      break;
    case 14:
      if (EqualsLower(name, "content-length")) {
        framing_name = true;
        uint64_t n = 0;
        if (!ParseContentLength(value, &n)) return Reject(error, 400, "invalid Content-Length");
        if (f->has_cl && n != f->content_length) {
          return Reject(error, 400, "conflicting Content-Length values");
        }
        f->has_cl = true;
        f->content_length = n;
        if (f->has_te) return Reject(error, 400, "both Content-Length and Transfer-Encoding");
      }
      break;
    case 17:
      if (EqualsLower(name, "transfer-encoding")) {
        framing_name = true;
        if (f->version_minor == 0) return Reject(error, 400, "Transfer-Encoding in HTTP/1.0");
        if (f->has_cl) return Reject(error, 400, "both Content-Length and Transfer-Encoding");
        f->has_te = true;
        bool ok = true;
        ForEachListElement(value, [&](absl::string_view coding) { ok = ok && AddTransferCoding(coding, f); });
        if (!ok) return Reject(error, 400, "invalid Transfer-Encoding");
      }
      break;
    default:
      break;
  }
  // Look-alikes: servers that normalise names (CGI turns '-' into '_') would see a second
  // framing header we did not act on. The length/first-letter test keeps this off the hot path.
  if (!framing_name && name.size() >= 13) {
    const uint8_t first = kLower[static_cast<uint8_t>(name[0])];
    if ((first == 'c' && MatchesIgnoringSeparators(name, "contentlength")) ||
        (first == 't' && MatchesIgnoringSeparators(name, "transferencoding"))) {
      return Reject(error, 400, "header name resembles Content-Length or Transfer-Encoding");
    }
  }
  return true;
}

// Validates the combined Transfer-Encoding list once all fields are in.
bool CheckTransferEncoding(const HeadFacts& f, ParseError* error) {
  if (!f.has_te) return true;
  if (!f.te_last_chunked) return Reject(error, 400, "Transfer-Encoding does not end in chunked");
  if (f.te_chunked > 1) return Reject(error, 400, "chunked applied more than once");
  if (f.te_unsupported) return Reject(error, 501, "unsupported transfer coding");
  return true;
}

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
    while (p < end && Is(*p, kToken)) ++p;
    if (p == end) return Step::kIncomplete;
    if (*p != ':' || p == name) {
      if (p == name && IsOws(*p)) return Fail(error, 400, "obsolete line folding");
      if (*p == '\n') return Fail(error, 400, "bare LF line ending");
      if (p != name && IsOws(*p)) return Fail(error, 400, "whitespace before colon");
      return Fail(error, 400, "invalid header name");
    }
    const absl::string_view name_view(name, p - name);
    ++p;
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
  if (t.size() > 7 && EqualsLower(t.substr(0, 7), "http://")) scheme = 7;
  if (t.size() > 8 && EqualsLower(t.substr(0, 8), "https://")) scheme = 8;
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
  headers.erase(headers.begin(), headers.end());  // clear() would free the heap storage
  framing = BodyFraming::kNone;
  content_length = 0;
  keep_alive = true;
  expect_continue = false;
  upgrade = false;
  head_size = 0;
}

void ResponseHead::Clear() {
  version_minor = 1;
  status = 0;
  reason = absl::string_view();
  headers.erase(headers.begin(), headers.end());
  framing = BodyFraming::kUntilClose;
  content_length = 0;
  keep_alive = true;
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
  while (p < cap && Is(*p, kVisible)) ++p;
  if (p == cap) return StartLineIncomplete(line_cap, buffer.size(), limits, kStatusLineTooLong, error);
  if (*p != ' ') return Error(error, 400, "invalid status line");
  const int version = CheckVersion(absl::string_view(begin, p - begin), &out->version_minor);
  if (version != 0) return Error(error, version, "invalid HTTP version");
  ++p;
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
  out->head_size = head_end - begin;
  return ParseStatus::kDone;
}

}  // namespace edgerouter::http
