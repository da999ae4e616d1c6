#include "common/json_escape.h"

#include "gtest/gtest.h"

namespace edgerouter {
namespace {

TEST(JsonEscape, EscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(JsonEscape("plain text/é"), "plain text/é");
  EXPECT_EQ(JsonEscape("say \"hi\"\\"), "say \\\"hi\\\"\\\\");
  EXPECT_EQ(JsonEscape("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(JsonEscape(std::string("\x01\x1f\x7f", 3)), "\\u0001\\u001f\\u007f");
  EXPECT_EQ(JsonEscape(std::string("a\0b", 3)), "a\\u0000b");
}

TEST(JsonEscape, AppendsToWhatIsThere) {
  std::string out = "x=\"";
  AppendJsonEscaped(&out, "\"");
  EXPECT_EQ(out, "x=\"\\\"");
}

}  // namespace
}  // namespace edgerouter
