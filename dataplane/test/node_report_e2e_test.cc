// Node reports end to end, real processes: a data plane sends its periodic report on the
// discovery stream, the control plane shows it in ListNodes and `edgerouterctl nodes` / `top`,
// and forgets the node some time after it left.
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "dataplane/test/e2e_fixture.h"
#include "gtest/gtest.h"

namespace edgerouter::testing {
namespace {

class NodeReportE2E : public DataplaneE2E {
 protected:
  std::vector<std::string> DataplaneFlags() override { return {"--report_interval_ms=200"}; }
  std::vector<std::string> ControlPlaneFlags() override { return {"--node_expiry_s=1"}; }

  admin::v1::ListNodesResponse Nodes() {
    grpc::ClientContext ctx;
    admin::v1::ListNodesResponse response;
    EXPECT_TRUE(admin_->ListNodes(&ctx, admin::v1::ListNodesRequest(), &response).ok());
    return response;
  }

  // Polls ListNodes until `pred` holds for node dp-test (or the deadline passes).
  bool AwaitNode(const std::function<bool(const admin::v1::NodeStatus&, const admin::v1::ListNodesResponse&)>& pred,
                 const std::function<void()>& between = [] {}) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      const admin::v1::ListNodesResponse nodes = Nodes();
      for (const admin::v1::NodeStatus& node : nodes.nodes()) {
        if (node.node_id() == "dp-test" && pred(node, nodes)) return true;
      }
      between();
      absl::SleepFor(absl::Milliseconds(50));  // polling interval, not synchronisation
    }
    return false;
  }

  std::string Ctl(const std::string& command) {
    auto p = Subprocess::Start({RunfilePath("cli/edgerouterctl"), absl::StrCat("--controlplane=127.0.0.1:", cp_grpc_port_),
                                command});
    EXPECT_TRUE(p.ok());
    auto code = (*p)->Wait(absl::Seconds(20));
    EXPECT_TRUE(code.ok() && *code == 0) << (*p)->Output();
    return (*p)->Output();
  }
};

const discovery::v1::AppTraffic* App(const discovery::v1::NodeReport& r, const std::string& name) {
  for (const auto& a : r.apps()) {
    if (a.app() == name) return &a;
  }
  return nullptr;
}

TEST_F(NodeReportE2E, TrafficOriginsAndVersionReachTheControlPlaneThenTheNodeExpires) {
  WaitForApplied(1);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Get(http_port_, "site.test", "/").status, 200);

  // The report carries the requests, the version served (the control plane's current one) and
  // the failing origin of "dead" (its first origin refuses connections).
  std::string dead_origin;
  const bool reported = AwaitNode(
      [&](const admin::v1::NodeStatus& node, const admin::v1::ListNodesResponse& all) {
        const discovery::v1::NodeReport& r = node.report();
        const discovery::v1::AppTraffic* site = App(r, "site");
        bool origin_down = false;
        for (const auto& o : r.origins()) {
          if (o.failures_total() > 0) {
            origin_down = true;
            dead_origin = o.origin();
          }
        }
        return node.connected() && site != nullptr && site->requests_total() >= 5 &&
               r.version_served() == all.current_version() && r.interval_ms() > 0 && origin_down &&
               node.report_received_unix_ms() > 0 && r.connections_open() < 1000;
      },
      [&] { Get(http_port_, "dead.test", "/"); });
  ASSERT_TRUE(reported) << Nodes().DebugString();
  const discovery::v1::NodeReport report = [&] {
    const admin::v1::ListNodesResponse nodes = Nodes();
    for (const auto& n : nodes.nodes()) {
      if (n.node_id() == "dp-test") return n.report();
    }
    return discovery::v1::NodeReport();
  }();
  EXPECT_LT(report.ByteSizeLong(), 64u << 10);
  std::cout << "report bytes: " << report.ByteSizeLong() << " (" << report.apps_size() << " apps, "
            << report.origins_size() << " origins)\n";
  const discovery::v1::AppTraffic* all = App(report, "_all");
  ASSERT_NE(all, nullptr);
  EXPECT_GE(all->requests_total(), 5u);
  EXPECT_EQ(report.apps(0).app(), "_all");  // busiest first

  const std::string nodes = Ctl("nodes");
  EXPECT_TRUE(absl::StrContains(nodes, "dp-test")) << nodes;
  EXPECT_TRUE(absl::StrContains(nodes, "RPS")) << nodes;
  const std::string top = Ctl("top");
  EXPECT_TRUE(absl::StrContains(top, "1 of 1 nodes reporting")) << top;
  EXPECT_TRUE(absl::StrContains(top, "\nsite ")) << top;
  EXPECT_TRUE(absl::StrContains(top, "\ndead ")) << top;  // its origin failed, then recovered: not listed down

  // The node leaves: listed as gone, then forgotten after --node_expiry_s.
  dp_.reset();
  ASSERT_TRUE(AwaitNode([](const admin::v1::NodeStatus& node, const auto&) { return !node.connected(); }));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  bool forgotten = false;
  while (!forgotten && absl::Now() < deadline) {
    forgotten = Nodes().nodes_size() == 0;
    if (!forgotten) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(forgotten) << Nodes().DebugString();
}

}  // namespace
}  // namespace edgerouter::testing
