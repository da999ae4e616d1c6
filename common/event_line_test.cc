#include "common/event_line.h"

#include "gtest/gtest.h"

namespace edgerouter {
namespace {

TEST(EventLine, ParsesEdgerouterLinesWithEmptyUserFields) {
  const std::string line =
      R"(2026-03-05T10:05:00.000Z AppDeleted    {"Id":"example.com", "x": "a b"})";
  absl::StatusOr<events::v1::Event> event = ParseEventLine(line);
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->timestamp(), "2026-03-05T10:05:00.000Z");
  EXPECT_EQ(event->type(), "AppDeleted");
  EXPECT_EQ(event->user_id(), "");
  EXPECT_EQ(event->payload_json(), R"({"Id":"example.com", "x": "a b"})");
  EXPECT_EQ(FormatEventLine(*event), line);
}

TEST(EventLine, RejectsMalformedLines) {
  EXPECT_EQ(ParseEventLine("2026 AppDeleted").status().message(),
            "event line: want \"<ts> <Type> <userId> <impersonatorId> <backdateTs> <JSON>\", got 2 field(s)");
  EXPECT_EQ(ParseEventLine("2026     {}").status().message(), "event line: empty event type");
  EXPECT_EQ(ParseEventLine("2026 T    ").status().message(), "event line: empty payload");
}

TEST(EventLine, FormatsTimesLikeEventHorizon) {
  EXPECT_EQ(FormatEventTime(absl::FromUnixMillis(1772704800123)), "2026-03-05T10:00:00.123Z");
}

}  // namespace
}  // namespace edgerouter
