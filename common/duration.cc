#include "common/duration.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace edgerouter {

absl::StatusOr<absl::Duration> ParseGoDuration(absl::string_view text) {
  // absl's grammar is Go's (units ns us ms s m h, fractions, sequences), plus "inf", which no
  // config field means.
  absl::Duration d;
  if (text.empty() || text == "inf" || text == "-inf" || !absl::ParseDuration(text, &d)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", absl::CHexEscape(text), "\" is not a duration"));
  }
  if (d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", absl::CHexEscape(text), "\" is not a positive duration"));
  }
  return d;
}

}  // namespace edgerouter
