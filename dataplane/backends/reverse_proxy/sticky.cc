#include "dataplane/backends/reverse_proxy/sticky.h"

#include <cstdint>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace edgerouter::backends {

StickyConfig CompileSticky(const config::v1::Sticky& sticky) {
  StickyConfig c;
  c.cookie_name = sticky.cookie_name().empty() ? std::string(kDefaultStickyCookie) : sticky.cookie_name();
  c.attributes = "; Path=/";
  if (sticky.max_age_seconds() > 0) absl::StrAppend(&c.attributes, "; Max-Age=", sticky.max_age_seconds());
  if (sticky.secure()) c.attributes += "; Secure";
  if (sticky.http_only()) c.attributes += "; HttpOnly";
  const std::string same_site = absl::AsciiStrToLower(sticky.same_site());
  if (same_site == "lax") c.attributes += "; SameSite=Lax";
  if (same_site == "strict") c.attributes += "; SameSite=Strict";
  if (same_site == "none") c.attributes += "; SameSite=None";
  return c;
}

std::string OriginStickyId(absl::string_view origin_url) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : origin_url) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::optional<absl::string_view> FindCookie(absl::string_view cookie_header, absl::string_view name) {
  for (absl::string_view pair : absl::StrSplit(cookie_header, ';')) {
    pair = absl::StripAsciiWhitespace(pair);
    if (absl::ConsumePrefix(&pair, name) && absl::ConsumePrefix(&pair, "=")) {
      absl::ConsumePrefix(&pair, "\"");  // RFC 6265 allows a quoted value
      absl::ConsumeSuffix(&pair, "\"");
      return pair;
    }
  }
  return std::nullopt;
}

std::string StickySetCookie(const StickyConfig& config, absl::string_view id) {
  return absl::StrCat(config.cookie_name, "=", id, config.attributes);
}

}  // namespace edgerouter::backends
