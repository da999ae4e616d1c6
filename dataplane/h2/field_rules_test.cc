#include "dataplane/h2/field_rules.h"

#include <string>

#include "gtest/gtest.h"

namespace edgerouter::h2::field_rules {
namespace {

TEST(FieldRules, Names) {
  EXPECT_TRUE(ValidName("x-forwarded-for"));
  EXPECT_TRUE(ValidName("a!#$%&'*+-.^_`|~0"));
  EXPECT_FALSE(ValidName(""));
  EXPECT_FALSE(ValidName("X-Upper"));
  EXPECT_FALSE(ValidName("x a"));
  EXPECT_FALSE(ValidName("x:a"));
  EXPECT_FALSE(ValidName(absl::string_view("x\0a", 3)));
}

TEST(FieldRules, Values) {
  EXPECT_TRUE(ValidValue(""));
  EXPECT_TRUE(ValidValue("a b\tc"));
  EXPECT_TRUE(ValidValue("a long value with \xc3\xa9 obs-text, past eight bytes"));
  for (absl::string_view v : {" lead", "trail ", "\tlead", "trail\t", "a\r\nb", "a\x7f", "a\x01", "0123456789\n"}) {
    EXPECT_FALSE(ValidValue(v)) << v;
  }
  EXPECT_FALSE(ValidValue(absl::string_view("a\0b", 3)));
}

TEST(FieldRules, PseudoHeadersAndSpecialFields) {
  EXPECT_EQ(PseudoOf(":method"), kMethod);
  EXPECT_EQ(PseudoOf(":scheme"), kScheme);
  EXPECT_EQ(PseudoOf(":authority"), kAuthority);
  EXPECT_EQ(PseudoOf(":path"), kPath);
  EXPECT_EQ(PseudoOf(":status"), 0);
  EXPECT_EQ(PseudoOf(":protocol"), 0);
  EXPECT_TRUE(ValidMethod("PATCH"));
  EXPECT_FALSE(ValidMethod(""));
  EXPECT_FALSE(ValidMethod("G T"));
  EXPECT_TRUE(ValidAuthority("user@[::1]:8443"));
  EXPECT_TRUE(ValidAuthority("xn--bcher-kva.example:80"));
  EXPECT_FALSE(ValidAuthority("a b"));
  EXPECT_FALSE(ValidAuthority("a/b"));
  for (absl::string_view n : {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}) {
    EXPECT_TRUE(ConnectionSpecific(n)) << n;
  }
  EXPECT_FALSE(ConnectionSpecific("te"));
  EXPECT_FALSE(ConnectionSpecific("content-length"));
}

// Long enough for the 16-byte steps: every byte value at every position must get the answer
// of the per-byte rule (RFC 9113 §8.2.1 names: lower-case tchar; authority: RFC 3986 bytes).
TEST(FieldRules, LongNamesAndAuthoritiesAreCheckedAtEveryByte) {
  const std::string lower_tchar = "abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~";
  const std::string authority = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@[]%";
  for (int c = 0; c < 256; ++c) {
    const bool name_ok = c != 0 && lower_tchar.find(static_cast<char>(c)) != std::string::npos;
    const bool authority_ok = c != 0 && authority.find(static_cast<char>(c)) != std::string::npos;
    for (size_t at = 0; at < 40; ++at) {
      std::string name(40, 'x');
      name[7] = '-';
      name[at] = static_cast<char>(c);
      ASSERT_EQ(ValidName(name), name_ok) << "byte " << c << " at " << at;
      std::string host = "www.example-host.test:8443.more.labels.x";
      ASSERT_EQ(host.size(), name.size());
      host[at] = static_cast<char>(c);
      ASSERT_EQ(ValidAuthority(host), authority_ok) << "byte " << c << " at " << at;
    }
  }
}

}  // namespace
}  // namespace edgerouter::h2::field_rules
