#include "dataplane/http/escaping.h"

#include "absl/strings/ascii.h"

namespace edgerouter::http {
namespace {

// The byte of the "%XX" escape at in[i] (in[i] == '%'), or -1 when two hex digits do not follow.
int HexByteAt(absl::string_view in, size_t i) {
  if (i + 2 >= in.size() || !absl::ascii_isxdigit(in[i + 1]) || !absl::ascii_isxdigit(in[i + 2])) return -1;
  auto nibble = [](char h) { return absl::ascii_isdigit(h) ? h - '0' : absl::ascii_tolower(h) - 'a' + 10; };
  return nibble(in[i + 1]) * 16 + nibble(in[i + 2]);
}


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

std::string QueryEscape(absl::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() * 3);
  for (unsigned char c : in) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool QueryUnescape(absl::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out->push_back(' ');
    } else if (c == '%') {
      const int byte = HexByteAt(in, i);
      if (byte < 0) return false;
      out->push_back(static_cast<char>(byte));
      i += 2;
    } else {
      out->push_back(c);
    }
  }
  return true;
}

bool QueryParam(absl::string_view query, absl::string_view name, std::string* value) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    absl::string_view pair = query.substr(0, amp);
    query = amp == absl::string_view::npos ? absl::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    std::string key;
    if (!QueryUnescape(pair.substr(0, eq), &key) || key != name) continue;
    return QueryUnescape(eq == absl::string_view::npos ? absl::string_view() : pair.substr(eq + 1), value);
  }
  return false;
}

std::string PercentDecode(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const int byte = in[i] == '%' ? HexByteAt(in, i) : -1;
    if (byte >= 0) {
      out.push_back(static_cast<char>(byte));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

}  // namespace edgerouter::http
