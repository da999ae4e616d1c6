#include "common/net/socket_address.h"

#include <netinet/in.h>

#include "gtest/gtest.h"

namespace edgerouter::net {
namespace {

TEST(ParseListenAddress, AcceptsIpv4AndBracketedIpv6) {
  absl::StatusOr<SocketAddress> address = ParseListenAddress("127.0.0.1:18001");
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_FALSE(address->ipv6());
  EXPECT_EQ(address->port(), 18001);
  EXPECT_EQ(address->len, sizeof(sockaddr_in));
  address = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_TRUE(address->ipv6());
  EXPECT_EQ(address->port(), 0);
  EXPECT_EQ(address->len, sizeof(sockaddr_in6));
}

TEST(ParseListenAddress, EmptyHostIsEveryAddressOnlyWhenAllowed) {
  EXPECT_EQ(ParseListenAddress(":80").status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<SocketAddress> any = ParseListenAddress(":8080", /*empty_host_is_any=*/true);
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_FALSE(any->ipv6());
  EXPECT_EQ(any->port(), 8080);
  EXPECT_EQ(reinterpret_cast<const sockaddr_in*>(any->get())->sin_addr.s_addr, htonl(INADDR_ANY));
}

TEST(ParseListenAddress, RejectsOthers) {
  for (const char* bad : {"", "127.0.0.1", ":80", "localhost:80", "::1:80", "[::1]", "[::1]80",
                          "[127.0.0.1]:80", "127.0.0.1:65536", "127.0.0.1:+80", "127.0.0.1:x",
                          "[fe80::zz]:80", "300.1.1.1:80"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(ParseListenAddress(bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(ParseListenAddress("localhost:80").status().message(),
            "listen address \"localhost:80\": host is not an IPv4 literal");
  EXPECT_EQ(ParseListenAddress("127.0.0.1").status().message(),
            "listen address \"127.0.0.1\": missing :port");
}

TEST(WithPort, ReplacesOnlyThePort) {
  EXPECT_EQ(WithPort("127.0.0.1:0", 4321), "127.0.0.1:4321");
  EXPECT_EQ(WithPort("[::1]:0", 4321), "[::1]:4321");
  EXPECT_EQ(WithPort(":0", 80), ":80");
  EXPECT_EQ(WithPort("localhost:0", 80), "localhost:80");
  EXPECT_EQ(WithPort("not an address", 80), "not an address");
}

}  // namespace
}  // namespace edgerouter::net
