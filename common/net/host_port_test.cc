#include "common/net/host_port.h"

#include "gtest/gtest.h"

namespace edgerouter::net {
namespace {

TEST(SplitHostPort, NamesIpv4AndBracketedIpv6) {
  auto a = SplitHostPort("cp.example.com:18000");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "cp.example.com");
  EXPECT_EQ(a->port, 18000);
  auto b = SplitHostPort("127.0.0.1:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->ToString(), "127.0.0.1:0");
  auto c = SplitHostPort("[::1]:443");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->ToString(), "[::1]:443");
}

TEST(SplitHostPort, RefusesMalformedWithTheInputInTheError) {
  for (const char* bad : {"", "host", ":80", "host:", "host:x1", "host:65536", "host:123456", "::1:80",
                          "[::1]", "[::1]80", "[h]:80", "a]:80", "[::1:80", "host:-1", "host:+1"}) {
    auto r = SplitHostPort(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) EXPECT_NE(r.status().message().find(std::string("\"") + bad + "\""), std::string::npos);
  }
}

TEST(SplitHostPort, EmptyHostOnlyWhenAllowed) {
  absl::StatusOr<HostPort> any = SplitHostPort(":8080", /*allow_empty_host=*/true);
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_EQ(any->host, "");
  EXPECT_EQ(any->port, 8080);
  EXPECT_EQ(any->ToString(), ":8080");
  EXPECT_FALSE(SplitHostPort(":8080").ok());
  EXPECT_FALSE(SplitHostPort("[]:80", true).ok());
  EXPECT_FALSE(SplitHostPort(":x", true).ok());
}

TEST(SplitHostPortList, SplitsInOrderAndSkipsBlanks) {
  auto l = SplitHostPortList(" 127.0.0.1:1, [::1]:2 ,,cp:3");
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[0].port, 1);
  EXPECT_EQ((*l)[1].host, "::1");
  EXPECT_EQ((*l)[2].host, "cp");
  EXPECT_FALSE(SplitHostPortList(" , ").ok());
  EXPECT_FALSE(SplitHostPortList("a:1,b").ok());
}

TEST(IsIpLiteral, TellsLiteralsFromNames) {
  EXPECT_TRUE(IsIpLiteral("127.0.0.1"));
  EXPECT_TRUE(IsIpLiteral("::1"));
  EXPECT_FALSE(IsIpLiteral("localhost"));
  EXPECT_FALSE(IsIpLiteral("[::1]"));
}

}  // namespace
}  // namespace edgerouter::net
