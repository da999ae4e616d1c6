#include "dataplane/h2/field_rules.h"

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

}  // namespace
}  // namespace edgerouter::h2::field_rules
