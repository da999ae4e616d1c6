// Durations in the config are Go time.ParseDuration strings ("1s", "300ms", "1m30s"): one
// parser for every field that holds one.
#ifndef EDGEROUTER_COMMON_DURATION_H_
#define EDGEROUTER_COMMON_DURATION_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace edgerouter {

// A finite, positive duration: "1s", "1.5m", "1h2m3s", "250ms", "10us", "5ns". Error text:
// `"abc" is not a duration` (callers prefix the app and field).
absl::StatusOr<absl::Duration> ParseGoDuration(absl::string_view text);

}  // namespace edgerouter

#endif  // EDGEROUTER_COMMON_DURATION_H_
