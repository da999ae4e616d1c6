// EventHorizon's event line format:
//   <ts> <Type> <userId> <impersonatorId> <backdateTs> <JSON payload>
// joined by single spaces (empty fields give consecutive spaces), timestamps
// `2006-01-02T15:04:05.000Z` in UTC.
#ifndef EDGEROUTER_COMMON_EVENT_LINE_H_
#define EDGEROUTER_COMMON_EVENT_LINE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/events.pb.h"

namespace edgerouter {

absl::StatusOr<events::v1::Event> ParseEventLine(absl::string_view line);
std::string FormatEventLine(const events::v1::Event& event);

// `2026-03-05T10:00:00.000Z`
std::string FormatEventTime(absl::Time time);

// An event of `type` with `payload_json`, stamped now, by the system user (empty user ids),
// as edgerouter's writers do.
events::v1::Event MakeSystemEvent(absl::string_view type, std::string payload_json);

}  // namespace edgerouter

#endif  // EDGEROUTER_COMMON_EVENT_LINE_H_
