#include "controlplane/eventlog/etcd/etcd_client.h"

#include "absl/strings/str_cat.h"
#include "common/test_util.h"
#include "gtest/gtest.h"

namespace edgerouter::controlplane::etcd {
namespace {

TEST(ParseEtcdEndpointsTest, AcceptsHostPortListsWithOptionalScheme) {
  auto e = ParseEtcdEndpoints("127.0.0.1:2379, http://10.0.0.2:2379/,https://etcd-3:2379,[::1]:2379");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(*e, (std::vector<std::string>{"127.0.0.1:2379", "10.0.0.2:2379", "etcd-3:2379", "[::1]:2379"}));
}

TEST(ParseEtcdEndpointsTest, NamesTheBadItem) {
  auto e = ParseEtcdEndpoints("127.0.0.1:2379,etcd-2");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "etcd endpoint \"etcd-2\": want host:port");
  EXPECT_FALSE(ParseEtcdEndpoints("h:0").ok());
  EXPECT_FALSE(ParseEtcdEndpoints("h:99999").ok());
  EXPECT_EQ(ParseEtcdEndpoints(" , ").status().message(), "no etcd endpoints given");
}

TEST(EtcdPrefixEndTest, IsTheSmallestKeyAfterThePrefix) {
  EXPECT_EQ(EtcdPrefixEnd("/er/s/t-1@"), "/er/s/t-1A");
  EXPECT_EQ(EtcdPrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(EtcdPrefixEnd(""), std::string(1, '\0'));
}

TEST(EtcdClientTest, UnreachableClusterFailsWithinTheCallDeadline) {
  EtcdClientOptions options;
  // Free ports: nothing listens there.
  options.endpoints = {absl::StrCat("127.0.0.1:", testing::PickFreeLoopbackPort()),
                       absl::StrCat("127.0.0.1:", testing::PickFreeLoopbackPort())};
  options.call_timeout = absl::Milliseconds(600);
  auto client = EtcdClient::Create(options);
  ASSERT_TRUE(client.ok());
  const absl::Time start = absl::Now();
  auto r = (*client)->Range(etcdserverpb::RangeRequest(), "etcd read /x");
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("etcd read /x: no etcd member answered"), absl::string_view::npos)
      << r.status();
}

}  // namespace
}  // namespace edgerouter::controlplane::etcd
