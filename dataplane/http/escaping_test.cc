#include "dataplane/http/escaping.h"

#include "gtest/gtest.h"

namespace edgerouter::http {
namespace {

TEST(HtmlEscape, EscapesMarkupAndQuotes) {
  EXPECT_EQ(HtmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&#34;c&#39;");
  EXPECT_EQ(HtmlEscape("plain text / é"), "plain text / é");
  EXPECT_EQ(HtmlEscape(""), "");
}

TEST(PercentEncodeUriReference, KeepsValidReferences) {
  const std::string valid = "https://user@example.com:8443/a%2Fb/../c;p=1?x=%20y&z=(1)*+,!$'#frag~_.-[::1]";
  EXPECT_EQ(PercentEncodeUriReference(valid), valid);
}

TEST(PercentEncodeUriReference, EncodesWhatAUriCannotHold) {
  EXPECT_EQ(PercentEncodeUriReference("/\"><script>alert(1)</script>"),
            "/%22%3E%3Cscript%3Ealert(1)%3C/script%3E");
  EXPECT_EQ(PercentEncodeUriReference("/a b\\c^`{|}"), "/a%20b%5Cc%5E%60%7B%7C%7D");
  EXPECT_EQ(PercentEncodeUriReference("/x\r\nSet-Cookie: a"), "/x%0D%0ASet-Cookie:%20a");
  EXPECT_EQ(PercentEncodeUriReference("/\xc3\xa9\x7f"), "/%C3%A9%7F");
}

}  // namespace
TEST(PercentDecode, DecodesValidEscapesOnly) {
  EXPECT_EQ(PercentDecode("/a%20b/%2Fc%e2%82%ac"), "/a b//c\xe2\x82\xac");
  EXPECT_EQ(PercentDecode("/x%2"), "/x%2");
  EXPECT_EQ(PercentDecode("/x%zz%41"), "/x%zzA");
  EXPECT_EQ(PercentDecode("%41"), "A");  // an escape at the very end
}

}  // namespace edgerouter::http
