#include "dataplane/http/content_coding.h"

#include "gtest/gtest.h"

namespace edgerouter::http {
namespace {

TEST(ContentCodingTest, QValues) {
  EXPECT_EQ(AcceptedCodingQuality("gzip, deflate, br", "gzip"), 1000);
  EXPECT_EQ(AcceptedCodingQuality("deflate, gzip;q=0.5", "gzip"), 500);
  EXPECT_EQ(AcceptedCodingQuality("GZIP ; Q=0.25", "gzip"), 250);
  EXPECT_EQ(AcceptedCodingQuality("x-gzip", "gzip"), 1000);
  EXPECT_FALSE(AcceptsCoding("gzip;q=0", "gzip"));
  EXPECT_FALSE(AcceptsCoding("gzip;q=0.000", "gzip"));
  // edgerouter checked for the substring "gzip": these do not accept it.
  EXPECT_FALSE(AcceptsCoding("notgzip", "gzip"));
  EXPECT_FALSE(AcceptsCoding("br", "gzip"));
  EXPECT_FALSE(AcceptsCoding("", "gzip"));
}

TEST(ContentCodingTest, StarAndOwnEntry) {
  EXPECT_TRUE(AcceptsCoding("*", "gzip"));
  EXPECT_FALSE(AcceptsCoding("*;q=0", "gzip"));
  EXPECT_TRUE(AcceptsCoding("*;q=0, gzip", "gzip"));   // its own entry wins over *
  EXPECT_FALSE(AcceptsCoding("gzip;q=0, *", "gzip"));
}

TEST(ContentCodingTest, BadMembersAreIgnored) {
  EXPECT_FALSE(AcceptsCoding("gzip;q=2", "gzip"));
  EXPECT_FALSE(AcceptsCoding("gzip;q=abc", "gzip"));
  EXPECT_TRUE(AcceptsCoding("gzip;q=1.5, *;q=0.1", "gzip"));  // the bad member drops, * stays
  EXPECT_TRUE(AcceptsCoding(",, gzip ,", "gzip"));
}

TEST(ContentCodingTest, IfNoneMatch) {
  EXPECT_TRUE(IfNoneMatchMatches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(IfNoneMatchMatches("W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(IfNoneMatchMatches("\"x\", \"abc\"", "\"abc\""));
  EXPECT_TRUE(IfNoneMatchMatches("*", "\"abc\""));
  EXPECT_FALSE(IfNoneMatchMatches("\"abc-gz\"", "\"abc\""));
  EXPECT_FALSE(IfNoneMatchMatches("abc", "\"abc\""));
  EXPECT_FALSE(IfNoneMatchMatches("", "\"abc\""));
}

}  // namespace
}  // namespace edgerouter::http
