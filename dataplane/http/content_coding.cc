#include "dataplane/http/content_coding.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace edgerouter::http {
namespace {

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths; -1 if invalid.
int ParseQ(absl::string_view v) {
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return -1;
  int q = (v[0] - '0') * 1000;
  if (v.size() == 1) return q;
  if (v[1] != '.' || v.size() > 5) return -1;
  int scale = 100;
  for (char c : v.substr(2)) {
    if (!absl::ascii_isdigit(c)) return -1;
    q += (c - '0') * scale;
    scale /= 10;
  }
  return q > 1000 ? -1 : q;
}

}  // namespace

int AcceptedCodingQuality(absl::string_view accept_encoding, absl::string_view coding) {
  const bool gzip = absl::EqualsIgnoreCase(coding, "gzip");
  int own = -1, star = -1;
  for (absl::string_view member : absl::StrSplit(accept_encoding, ',')) {
    std::vector<absl::string_view> parts = absl::StrSplit(member, ';');
    const absl::string_view name = absl::StripAsciiWhitespace(parts[0]);
    if (name.empty()) continue;
    int q = 1000;
    bool bad = false;
    for (size_t i = 1; i < parts.size(); ++i) {
      absl::string_view param = absl::StripAsciiWhitespace(parts[i]);
      if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q')) {
        absl::string_view rest = absl::StripLeadingAsciiWhitespace(param.substr(1));
        if (absl::ConsumePrefix(&rest, "=")) {
          q = ParseQ(absl::StripLeadingAsciiWhitespace(rest));
          if (q < 0) bad = true;
          continue;
        }
      }
      bad = true;  // coding parameters other than q are not defined
    }
    if (bad) continue;
    if (absl::EqualsIgnoreCase(name, coding) || (gzip && absl::EqualsIgnoreCase(name, "x-gzip"))) {
      own = std::max(own, q);
    } else if (name == "*") {
      star = std::max(star, q);
    }
  }
  if (own >= 0) return own;
  return star >= 0 ? star : 0;
}

bool IfNoneMatchMatches(absl::string_view if_none_match, absl::string_view etag) {
  const absl::string_view opaque = absl::StripPrefix(etag, "W/");
  for (absl::string_view member : absl::StrSplit(if_none_match, ',')) {
    member = absl::StripAsciiWhitespace(member);
    if (member.empty()) continue;
    if (member == "*") return true;
    if (absl::StripPrefix(member, "W/") == opaque) return true;
  }
  return false;
}

}  // namespace edgerouter::http
