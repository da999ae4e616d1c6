#include "common/http/char_class.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace edgerouter::http::char_class {
namespace {

TEST(CharClass, WordAtATimeLowerCasingMatchesAsciiToLowerForEveryByte) {
  // Each byte value at each position of a word, and a tail shorter than a word.
  for (int c = 0; c < 256; ++c) {
    for (size_t at = 0; at < 11; ++at) {
      std::string s(11, 'Q');
      s[at] = static_cast<char>(c);
      std::string expected = s;
      for (char& e : expected) e = absl::ascii_tolower(static_cast<unsigned char>(e));
      std::string lowered = s;
      LowerAsciiCopy(lowered.data(), lowered.data(), lowered.size());  // in place
      ASSERT_EQ(lowered, expected) << "byte " << c << " at " << at;
      ASSERT_TRUE(EqualsLowerAscii(s, expected)) << "byte " << c << " at " << at;
      ASSERT_EQ(EqualsLowerAscii(s, std::string(11, 'q')), absl::EqualsIgnoreCase(s, std::string(11, 'q')))
          << "byte " << c << " at " << at;
    }
  }
  EXPECT_TRUE(EqualsLowerAscii("Content-Length", "content-length"));
  EXPECT_FALSE(EqualsLowerAscii("Content-Lengt", "content-length"));
  EXPECT_FALSE(EqualsLowerAscii("Content\xc3Length", "contentclength"));  // 0xc3 is no 'C'
}

// Every length takes a different path (byte loop, two 4-byte halves, words plus an
// overlapping last word): one differing byte anywhere must be seen on each of them.
TEST(CharClass, CaseInsensitiveCompareSeesADifferenceAtEveryPositionOfEveryLength) {
  for (size_t n = 0; n <= 40; ++n) {
    std::string lower;
    for (size_t i = 0; i < n; ++i) lower += static_cast<char>('a' + i % 26);
    const std::string upper = absl::AsciiStrToUpper(lower);
    ASSERT_TRUE(EqualsLowerAscii(upper, lower)) << n;
    ASSERT_TRUE(EqualsLowerAscii(lower, lower)) << n;
    for (size_t at = 0; at < n; ++at) {
      for (char c : {'-', '@', '[', '\xc1', '\0'}) {
        std::string changed = upper;
        changed[at] = c;
        ASSERT_FALSE(EqualsLowerAscii(changed, lower)) << n << " " << at << " " << int{c};
      }
    }
    ASSERT_FALSE(EqualsLowerAscii(upper + "a", lower)) << n;
  }
}

TEST(CharClass, LowerCasingCopyMatchesAsciiToLowerForEveryLengthAndByte) {
  for (size_t n = 0; n <= 40; ++n) {
    for (int c = 0; c < 256; c += 7) {
      std::string src;
      for (size_t i = 0; i < n; ++i) src += static_cast<char>(i % 3 == 0 ? c : 'A' + i % 26);
      std::string expected = src;
      for (char& e : expected) e = absl::ascii_tolower(static_cast<unsigned char>(e));
      std::string dst(n + 2, '#');
      LowerAsciiCopy(dst.data() + 1, src.data(), n);
      ASSERT_EQ(dst.substr(1, n), expected) << n << " " << c;
      ASSERT_EQ(dst.front(), '#');
      ASSERT_EQ(dst.back(), '#');
    }
  }
}

TEST(CharClass, TokenScanStopsAtTheFirstNonTokenByteForEveryByteAndPosition) {
  // Runs longer than a vector step, with the stop byte at every position: the vector step and
  // the byte loop must agree with the table.
  for (int c = 0; c < 256; ++c) {
    for (size_t at = 0; at < 40; ++at) {
      std::string s(40, 'x');
      for (size_t i = 0; i < s.size(); i += 3) s[i] = "Ab-9_z"[i % 6];
      s[at] = static_cast<char>(c);
      size_t expected = 0;
      while (expected < s.size() && Is(s[expected], kToken)) ++expected;
      ASSERT_EQ(ScanToken(s.data(), s.data() + s.size()) - s.data(), static_cast<ptrdiff_t>(expected))
          << "byte " << c << " at " << at;
    }
  }
  const std::string name = "Content-Type: text/plain";
  EXPECT_EQ(ScanToken(name.data(), name.data() + name.size()) - name.data(), 12);
}

}  // namespace
}  // namespace edgerouter::http::char_class
