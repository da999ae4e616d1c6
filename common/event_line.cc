#include "common/event_line.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace edgerouter {

absl::StatusOr<events::v1::Event> ParseEventLine(absl::string_view line) {
  // Five space-terminated fields, then the payload (which may itself contain spaces). The
  // first two fields must be non-empty, as in EventHorizon's parse regexp.
  std::vector<absl::string_view> fields;
  size_t pos = 0;
  for (int i = 0; i < 5; ++i) {
    const size_t space = line.find(' ', pos);
    if (space == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "event line: want \"<ts> <Type> <userId> <impersonatorId> <backdateTs> <JSON>\", got ",
          fields.size() + 1, " field(s)"));
    }
    fields.push_back(line.substr(pos, space - pos));
    pos = space + 1;
  }
  absl::string_view payload = line.substr(pos);
  if (fields[0].empty()) return absl::InvalidArgumentError("event line: empty timestamp");
  if (fields[1].empty()) return absl::InvalidArgumentError("event line: empty event type");
  if (payload.empty()) return absl::InvalidArgumentError("event line: empty payload");
  events::v1::Event event;
  event.set_timestamp(std::string(fields[0]));
  event.set_type(std::string(fields[1]));
  event.set_user_id(std::string(fields[2]));
  event.set_impersonator_id(std::string(fields[3]));
  event.set_backdate(std::string(fields[4]));
  event.set_payload_json(std::string(payload));
  return event;
}

std::string FormatEventLine(const events::v1::Event& e) {
  return absl::StrJoin({e.timestamp(), e.type(), e.user_id(), e.impersonator_id(), e.backdate(),
                        e.payload_json()},
                       " ");
}

std::string FormatEventTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

events::v1::Event MakeSystemEvent(absl::string_view type, std::string payload_json) {
  events::v1::Event event;
  event.set_timestamp(FormatEventTime(absl::Now()));
  event.set_type(std::string(type));
  event.set_payload_json(std::move(payload_json));
  return event;
}

}  // namespace edgerouter
