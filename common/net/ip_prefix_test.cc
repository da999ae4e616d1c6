#include "common/net/ip_prefix.h"

#include "gtest/gtest.h"

namespace edgerouter::net {
namespace {

TEST(IpAddress, ParsesLiteralsOnly) {
  for (const char* ok : {"192.0.2.1", "0.0.0.0", "255.255.255.255", "::1", "2001:db8::1", "::",
                         "fe80::1:2:3:4", "::ffff:192.0.2.1"}) {
    EXPECT_TRUE(IpAddress::Parse(ok).has_value()) << ok;
  }
  for (const char* bad : {"", "unknown", "192.0.2.1:80", "[::1]", "::1%eth0", " 192.0.2.1", "192.0.2",
                          "256.0.0.1", "1.2.3.4.5", "01.2.3.4", "2001:db8::g", "_hidden", "192.0.2.1/32",
                          "1111:2222:3333:4444:5555:6666:7777:8888:9999"}) {
    EXPECT_FALSE(IpAddress::Parse(bad).has_value()) << bad;
  }
}

TEST(IpAddress, MappedIpv4IsIpv4) {
  const auto mapped = IpAddress::Parse("::ffff:192.0.2.1");
  ASSERT_TRUE(mapped.has_value());
  EXPECT_TRUE(mapped->is_v4());
  EXPECT_EQ(mapped->ToString(), "192.0.2.1");
  EXPECT_EQ(*mapped, *IpAddress::Parse("192.0.2.1"));
  EXPECT_EQ(IpAddress::Parse("2001:DB8:0::1")->ToString(), "2001:db8::1");
}

TEST(IpPrefix, ParsesAndMatches) {
  auto ten = IpPrefix::Parse("10.0.0.0/8");
  ASSERT_TRUE(ten.ok()) << ten.status();
  EXPECT_TRUE(ten->Contains(*IpAddress::Parse("10.255.1.2")));
  EXPECT_TRUE(ten->Contains(*IpAddress::Parse("::ffff:10.0.0.1")));
  EXPECT_FALSE(ten->Contains(*IpAddress::Parse("11.0.0.0")));
  EXPECT_FALSE(ten->Contains(*IpAddress::Parse("::a00:1")));  // IPv6, not IPv4
  auto odd = IpPrefix::Parse("192.168.0.0/23");
  ASSERT_TRUE(odd.ok());
  EXPECT_TRUE(odd->Contains(*IpAddress::Parse("192.168.1.255")));
  EXPECT_FALSE(odd->Contains(*IpAddress::Parse("192.168.2.0")));
  auto v6 = IpPrefix::Parse("2001:db8::/33");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->Contains(*IpAddress::Parse("2001:db8:7fff::1")));
  EXPECT_FALSE(v6->Contains(*IpAddress::Parse("2001:db8:8000::1")));
  auto host = IpPrefix::Parse("::1");
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->ToString(), "::1/128");
  EXPECT_TRUE(host->Contains(*IpAddress::Parse("::1")));
  EXPECT_FALSE(host->Contains(*IpAddress::Parse("::2")));
  auto all = IpPrefix::Parse("0.0.0.0/0");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->Contains(*IpAddress::Parse("203.0.113.9")));
  EXPECT_FALSE(all->Contains(*IpAddress::Parse("::1")));
  auto mapped = IpPrefix::Parse("::ffff:10.1.0.0/112");
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_EQ(mapped->ToString(), "10.1.0.0/16");
}

TEST(IpPrefix, RejectsBadPrefixesWithTheEntry) {
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x", "::/129", "10.0.0.1/8",
                          "host.example/8", "/8", "::ffff:10.0.0.0/8", "10.0.0.0/0008"}) {
    absl::StatusOr<IpPrefix> p = IpPrefix::Parse(bad);
    EXPECT_FALSE(p.ok()) << bad;
    if (!p.ok()) {
      EXPECT_NE(p.status().message().find(bad), absl::string_view::npos) << p.status();
    }
  }
}

TEST(CidrSet, ParsesListsAndMatchesBothFamilies) {
  auto set = CidrSet::Parse(" 127.0.0.0/8, ::1 ,10.0.0.0/8");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->ToString(), "127.0.0.0/8,::1/128,10.0.0.0/8");
  EXPECT_TRUE(set->Contains("127.0.0.1"));
  EXPECT_TRUE(set->Contains("::1"));
  EXPECT_TRUE(set->Contains("::ffff:10.2.3.4"));
  EXPECT_FALSE(set->Contains("192.0.2.1"));
  EXPECT_FALSE(set->Contains("not-an-ip"));
  auto empty = CidrSet::Parse("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(empty->Contains("127.0.0.1"));
  absl::StatusOr<CidrSet> bad = CidrSet::Parse("10.0.0.0/8,,::1");
  EXPECT_FALSE(bad.ok());
  bad = CidrSet::Parse("10.0.0.0/8, 300.1.1.1");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("300.1.1.1"), absl::string_view::npos) << bad.status();
}

}  // namespace
}  // namespace edgerouter::net
