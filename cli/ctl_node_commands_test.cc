#include "cli/ctl_node_commands.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace edgerouter::ctl {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;

admin::v1::ListNodesResponse TwoNodes() {
  admin::v1::ListNodesResponse response;
  response.set_current_version("v7");
  for (const char* id : {"edge-1", "edge-2"}) {
    admin::v1::NodeStatus* node = response.add_nodes();
    node->set_node_id(id);
    node->set_connected(true);
    node->set_last_acked_version("v7");
    node->set_report_received_unix_ms(kNow - 3000);
    discovery::v1::NodeReport* r = node->mutable_report();
    r->set_interval_ms(2000);
    r->set_version_served("v7");
    r->set_connections_open(4);
    discovery::v1::AppTraffic* all = r->add_apps();
    all->set_app("_all");
    all->set_requests(20);
    all->set_errors(2);
    all->set_p99_seconds(0.032);
    discovery::v1::AppTraffic* shop = r->add_apps();
    shop->set_app("shop");
    shop->set_requests(20);
    shop->set_errors(2);
    shop->set_p99_seconds(std::string(id) == "edge-1" ? 0.032 : 0.128);
    discovery::v1::CertificateInUse* c = r->add_certificates();
    c->set_id("shop-cert");
    c->add_domains("shop.example");
    c->set_not_after_unix(kNow / 1000 + 3 * 86400);
  }
  discovery::v1::OriginHealth* down = response.mutable_nodes(1)->mutable_report()->add_origins();
  down->set_origin("http://10.0.0.9:8080");
  down->set_failures(5);
  down->set_failures_total(9);
  return response;
}

TEST(CtlNodeCommandsTest, NodesShowsEachNodesReport) {
  const std::string out = FormatNodeReports(TwoNodes(), kNow);
  EXPECT_TRUE(absl::StrContains(out, "edge-1  up     -     ")) << out;
  EXPECT_TRUE(absl::StrContains(out, "  v7       v7     -        3s ago")) << out;
  EXPECT_TRUE(absl::StrContains(out, "3s ago")) << out;
  EXPECT_TRUE(absl::StrContains(out, "10.0")) << out;  // 20 requests over 2 s
  EXPECT_TRUE(absl::StrContains(out, "1/1")) << out;   // edge-2: one origin, down
  EXPECT_TRUE(absl::StrContains(out, "current version v7")) << out;
}

TEST(CtlNodeCommandsTest, TopSumsAppsOverTheFleetAndListsFailingOrigins) {
  const std::string out = FormatTop(TwoNodes(), kNow);
  EXPECT_TRUE(absl::StrContains(out, "2 of 2 nodes reporting")) << out;
  // Both nodes' 10 rps, and the worse node's p99.
  EXPECT_TRUE(absl::StrContains(out, "shop  20.0  2.0    0.0ms  128.0ms")) << out;
  EXPECT_TRUE(absl::StrContains(out, "http://10.0.0.9:8080  edge-2  5 (9 total)")) << out;
  EXPECT_TRUE(absl::StrContains(out, "shop-cert    shop.example  3d")) << out;
}

TEST(CtlNodeCommandsTest, ANodeWithoutReportShowsDashes) {
  admin::v1::ListNodesResponse response;
  response.add_nodes()->set_node_id("new");
  const std::string out = FormatNodeReports(response, kNow);
  EXPECT_TRUE(absl::StrContains(out, "new   gone   -     -      -        -      -        -")) << out;
  EXPECT_TRUE(absl::StrContains(FormatTop(response, kNow), "0 of 1 nodes reporting"));
}

}  // namespace
}  // namespace edgerouter::ctl
