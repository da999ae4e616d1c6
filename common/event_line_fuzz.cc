// EventHorizon line format: whatever parses must format back to a line that parses to the
// same event (the log stores what it parsed; readers must see the same thing).
#include <cstdint>
#include <cstdlib>

#include "common/event_line.h"
#include "google/protobuf/util/message_differencer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view line(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<edgerouter::events::v1::Event> parsed = edgerouter::ParseEventLine(line);
  if (!parsed.ok()) return 0;
  const std::string formatted = edgerouter::FormatEventLine(*parsed);
  absl::StatusOr<edgerouter::events::v1::Event> again = edgerouter::ParseEventLine(formatted);
  if (!again.ok() || !google::protobuf::util::MessageDifferencer::Equals(*parsed, *again)) abort();
  return 0;
}
