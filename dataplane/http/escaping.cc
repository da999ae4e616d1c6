#include "dataplane/http/escaping.h"

#include "absl/strings/ascii.h"

namespace edgerouter::http {
namespace {

// RFC 3986 unreserved, gen-delims, sub-delims, plus '%' (escapes already made).
bool AllowedInUriReference(unsigned char c) {
  if (absl::ascii_isalnum(c)) return true;
  switch (c) {
    case '-': case '.': case '_': case '~':
    case ':': case '/': case '?': case '#': case '[': case ']': case '@':
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',':
    case ';': case '=': case '%':
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string HtmlEscape(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string PercentEncodeUriReference(absl::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (unsigned char c : in) {
    if (AllowedInUriReference(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

}  // namespace edgerouter::http
