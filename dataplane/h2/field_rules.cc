#include "dataplane/h2/field_rules.h"

#include <array>
#include <string_view>

#include "common/http/char_class.h"

namespace edgerouter::h2::field_rules {
namespace {

using http::char_class::Is;
using http::char_class::kFieldChar;
using http::char_class::kToken;
using http::char_class::Scan;
using http::char_class::SkipAlnum;

constexpr std::array<bool, 256> MakeAuthority() {
  constexpr std::string_view kPunct = "-._~!$&'()*+,;=:@[]%";
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && kPunct.find(static_cast<char>(c)) != std::string_view::npos);
  }
  return t;
}
constexpr std::array<bool, 256> kAuthorityChars = MakeAuthority();

// tchar without the upper-case letters: an HTTP/2 field name, one lookup per byte.
constexpr std::array<bool, 256> MakeLowerToken() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = (http::char_class::kClass[c] & kToken) != 0 && !(c >= 'A' && c <= 'Z');
  return t;
}
constexpr std::array<bool, 256> kLowerToken = MakeLowerToken();

bool IsOws(char c) { return c == ' ' || c == '\t'; }

}  // namespace

bool ValidName(absl::string_view name) {
  if (name.empty()) return false;
  const char* end = name.data() + name.size();
  for (const char* p = SkipAlnum<false, '-'>(name.data(), end); p < end; ++p) {
    if (!kLowerToken[static_cast<uint8_t>(*p)]) return false;
  }
  return true;
}

bool ValidValue(absl::string_view value) {
  if (value.empty()) return true;
  if (IsOws(value.front()) || IsOws(value.back())) return false;
  const char* end = value.data() + value.size();
  // 8 bytes at a time while none is below SP or DEL; HTAB stops the fast path, the byte loop takes it.
  return Scan(value.data(), end, 0x20, kFieldChar) == end;
}

bool ValidMethod(absl::string_view method) {
  if (method.empty()) return false;
  for (char c : method) {
    if (!Is(c, kToken)) return false;
  }
  return true;
}

bool ValidAuthority(absl::string_view authority) {
  const char* end = authority.data() + authority.size();
  for (const char* p = SkipAlnum<true, '.', '-', ':'>(authority.data(), end); p < end; ++p) {
    if (!kAuthorityChars[static_cast<uint8_t>(*p)]) return false;
  }
  return true;
}

bool ConnectionSpecific(absl::string_view name) {
  switch (name.size()) {
    case 7:
      return name == "upgrade";
    case 10:
      return name == "connection" || name == "keep-alive";
    case 16:
      return name == "proxy-connection";
    case 17:
      return name == "transfer-encoding";
    default:
      return false;
  }
}

uint8_t PseudoOf(absl::string_view name) {
  switch (name.size()) {
    case 5:
      return name == ":path" ? kPath : 0;
    case 7:
      if (name == ":method") return kMethod;
      return name == ":scheme" ? kScheme : 0;
    case 10:
      return name == ":authority" ? kAuthority : 0;
    default:
      return 0;
  }
}

}  // namespace edgerouter::h2::field_rules
