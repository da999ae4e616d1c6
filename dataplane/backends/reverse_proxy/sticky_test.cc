#include "dataplane/backends/reverse_proxy/sticky.h"

#include "gtest/gtest.h"

namespace edgerouter::backends {
namespace {

TEST(Sticky, IdsAreStableHashesNotAddresses) {
  const std::string a = OriginStickyId("http://10.0.0.1:8080");
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a, OriginStickyId("http://10.0.0.1:8080"));
  EXPECT_NE(a, OriginStickyId("http://10.0.0.2:8080"));
  EXPECT_EQ(a.find("10.0"), std::string::npos);
  EXPECT_EQ(OriginStickyId(""), "cbf29ce484222325");  // FNV-1a offset basis: the hash is fixed
}

TEST(Sticky, FindsTheNamedCookieOnly) {
  EXPECT_EQ(FindCookie("a=1; lb=abc; c=3", "lb").value(), "abc");
  EXPECT_EQ(FindCookie("lb=\"q\"", "lb").value(), "q");
  EXPECT_FALSE(FindCookie("xlb=1; lbx=2", "lb").has_value());
  EXPECT_FALSE(FindCookie("", "lb").has_value());
}

TEST(Sticky, SetCookieCarriesTheAttributes) {
  config::v1::Sticky s;
  EXPECT_EQ(StickySetCookie(CompileSticky(s), "ab"), "_edgerouter_sticky=ab; Path=/");
  s.set_cookie_name("lb");
  s.set_secure(true);
  s.set_http_only(true);
  s.set_same_site("Strict");
  s.set_max_age_seconds(3600);
  EXPECT_EQ(StickySetCookie(CompileSticky(s), "ab"), "lb=ab; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Strict");
}

}  // namespace
}  // namespace edgerouter::backends
