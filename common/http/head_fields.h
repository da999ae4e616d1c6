// What header fields mean for a message's framing and connection handling (HeadFacts), and
// the rules that reject a field (ApplyField): shared by the HTTP/1.1 head parser and the check
// of HTTP/2 request heads (CheckSplitRequestHead). Internal to http1_parser.cc; kept in a header
// so ApplyField stays inlined into the per-field loop.
#ifndef EDGEROUTER_COMMON_HTTP_HEAD_FIELDS_H_
#define EDGEROUTER_COMMON_HTTP_HEAD_FIELDS_H_

#include <cstdint>
#include <cstring>
#include <limits>

#include "absl/base/attributes.h"
#include "absl/strings/string_view.h"
#include "common/http/char_class.h"
#include "common/http/http1_parser.h"

namespace edgerouter::http::head_fields {

using char_class::EqualsLowerAscii;
using char_class::Is;
using char_class::kDigit;
using char_class::kFieldChar;
using char_class::kLower;
using char_class::kQdText;
using char_class::kToken;
using char_class::kVisible;
using char_class::Scan;
using char_class::ScanToken;

inline bool IsOws(char c) { return c == ' ' || c == '\t'; }

// Case-insensitive match that skips '-' and '_' in `name`: "Transfer_Encoding",
// "Transfer---Encoding" and "TransferEncoding" all match "transferencoding".
inline bool MatchesIgnoringSeparators(absl::string_view name, absl::string_view letters) {
  size_t j = 0;
  for (char c : name) {
    if (c == '-' || c == '_') continue;
    if (j == letters.size() || kLower[static_cast<uint8_t>(c)] != static_cast<uint8_t>(letters[j])) return false;
    ++j;
  }
  return j == letters.size();
}

inline bool EqualsIgnoreCase(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (kLower[static_cast<uint8_t>(a[i])] != kLower[static_cast<uint8_t>(b[i])]) return false;
  }
  return true;
}

inline absl::string_view TrimOws(absl::string_view s) {
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
inline Step Fail(ParseError* error, int status, absl::string_view reason) {
  error->status = status;
  error->reason = reason;
  return Step::kError;
}
inline bool Reject(ParseError* error, int status, absl::string_view reason) {
  Fail(error, status, reason);
  return false;
}
inline ParseStatus Error(ParseError* error, int status, absl::string_view reason) {
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
  bool conn_other = false;  // some other token: the Connection field may nominate fields
  bool has_upgrade = false;
  bool expect_continue = false;
};

// 1*DIGIT, at most 2^63-1 so it also fits signed offsets downstream.
inline bool ParseContentLength(absl::string_view v, uint64_t* out) {
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
inline size_t SkipQuotedString(absl::string_view s, size_t i) {
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

inline size_t SkipToken(absl::string_view s, size_t i) {
  while (i < s.size() && Is(s[i], kToken)) ++i;
  return i;
}

// One transfer-coding: token *( OWS ";" OWS token "=" ( token / quoted-string ) ).
inline bool AddTransferCoding(absl::string_view e, HeadFacts* f) {
  size_t i = SkipToken(e, 0);
  if (i == 0) return false;
  const bool chunked = EqualsLowerAscii(e.substr(0, i), "chunked");
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
      if (f->is_request && EqualsLowerAscii(name, "host")) {
        if (++f->host_count > 1) return Reject(error, 400, "more than one Host header");
        f->host = value;
      }
      break;
    case 6:
      if (f->is_request && EqualsLowerAscii(name, "expect") && EqualsLowerAscii(value, "100-continue")) {
        f->expect_continue = true;
      }
      break;
    case 7:
      if (f->is_request && EqualsLowerAscii(name, "upgrade")) f->has_upgrade = true;
      break;
    case 10:
      if (EqualsLowerAscii(name, "connection")) {
        ForEachListElement(value, [f](absl::string_view token) ABSL_ATTRIBUTE_ALWAYS_INLINE {
          const bool close = EqualsLowerAscii(token, "close");
          const bool upgrade = EqualsLowerAscii(token, "upgrade");
          const bool keep_alive = EqualsLowerAscii(token, "keep-alive");
          f->conn_close |= close;
          f->conn_upgrade |= upgrade;
          f->conn_keep_alive |= keep_alive;
          f->conn_other |= !(close || upgrade || keep_alive || token.empty());
        });
      }
      break;
    case 14:
      if (EqualsLowerAscii(name, "content-length")) {
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
      if (EqualsLowerAscii(name, "transfer-encoding")) {
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
inline bool CheckTransferEncoding(const HeadFacts& f, ParseError* error) {
  if (!f.has_te) return true;
  if (!f.te_last_chunked) return Reject(error, 400, "Transfer-Encoding does not end in chunked");
  if (f.te_chunked > 1) return Reject(error, 400, "chunked applied more than once");
  if (f.te_unsupported) return Reject(error, 501, "unsupported transfer coding");
  return true;
}

}  // namespace edgerouter::http::head_fields

#endif  // EDGEROUTER_COMMON_HTTP_HEAD_FIELDS_H_
