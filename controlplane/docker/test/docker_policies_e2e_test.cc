// Traefik middleware and load-balancer labels through a real dockerd: each label set on a
// host-network busybox container becomes policies in the app the control plane publishes (its
// JSON is what an operator sees), the app is served (an IP allow list enforced), and labels
// edgerouter cannot honour are reported for their container without affecting the others.
#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/json_codec.h"
#include "common/test_util.h"
#include "controlplane/docker/test/docker_e2e_fixture.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace edgerouter::testing {
namespace {

class DockerPoliciesE2E : public DockerE2E {
 protected:
  // A host-network busybox httpd on a free loopback port routed for `host`, plus `labels`.
  void RunContainer(const std::string& name, const std::string& host, const std::vector<std::string>& labels) {
    const int port = PickFreeLoopbackPort();
    std::vector<std::string> args = {"run", "-d", "--network", "host", "--name", name,
                                     "--label", absl::StrCat("traefik.http.routers.", name, ".rule=Host(`", host, "`)"),
                                     "--label", absl::StrCat("traefik.http.services.", name, ".loadbalancer.server.port=", port),
                                     "--label", "edgerouter.auth=public"};
    for (const std::string& l : labels) {
      args.push_back("--label");
      args.push_back(l);
    }
    for (const char* a : {DockerHarness::kImage, "/bin/busybox", "httpd", "-f", "-p"}) args.push_back(a);
    args.push_back(absl::StrCat("127.0.0.1:", port));
    args.push_back("-h");
    args.push_back("/");
    absl::StatusOr<std::string> id = harness_->Docker(args);
    ASSERT_TRUE(id.ok()) << id.status();
    Track(name);
    ASSERT_TRUE(Accepting(port)) << harness_->Docker({"logs", name}).value_or("(no logs)");
  }

  // App `id` of the control plane's current snapshot.
  std::optional<config::v1::Application> SnapshotApp(const std::string& id) {
    grpc::ClientContext ctx;
    admin::v1::GetSnapshotResponse resp;
    if (!admin_->GetSnapshot(&ctx, admin::v1::GetSnapshotRequest(), &resp).ok()) return std::nullopt;
    for (const auto& r : resp.snapshot().resources()) {
      if (r.has_app() && r.app().id() == id) return r.app();
    }
    return std::nullopt;
  }

  // The app's policies and its reverse proxy's health check and sticky settings, as JSON.
  std::string PolicyJson(const std::string& id) {
    std::optional<config::v1::Application> app = SnapshotApp(id);
    if (!app.has_value()) return "<absent>";
    config::v1::ReverseProxyOpts rp = app->backend().reverse_proxy_opts();
    config::v1::ReverseProxyOpts lb;
    if (rp.has_health_check()) *lb.mutable_health_check() = rp.health_check();
    if (rp.has_sticky()) *lb.mutable_sticky() = rp.sticky();
    return absl::StrReplaceAll(
        absl::StrCat(app->has_policies() ? ToCompactJson(app->policies()) : "-", " ", ToCompactJson(lb)),
        {{R"("origins":[],)", ""}, {R"("origins":[])", ""}});
  }

  // Polls the control plane's snapshot until `done` (it changes on Docker events, not on a
  // schedule); false after `limit`.
  bool PollSnapshot(const std::function<bool()>& done, absl::Duration limit = absl::Seconds(15)) {
    const absl::Time deadline = absl::Now() + limit;
    while (!done()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return true;
  }
};

TEST_F(DockerPoliciesE2E, EachLabelSetBecomesPoliciesOrALabelError) {
  RunContainer("gz", "gz.test",
               {"traefik.http.middlewares.gz.compress=true",
                "traefik.http.middlewares.gz.compress.minResponseBodyBytes=512",
                "traefik.http.middlewares.rl.rateLimit.average=1000", "traefik.http.middlewares.rl.rateLimit.burst=200",
                "traefik.http.middlewares.rl.rateLimit.period=1s", "traefik.http.middlewares.again.retry.attempts=3",
                "traefik.http.middlewares.again.retry.initialInterval=100ms",
                "traefik.http.routers.gz.middlewares=gz@docker,rl,again",
                // The plain-HTTP twin router of a Traefik setup: accepted, adds nothing.
                "traefik.http.middlewares.to-https.redirectScheme.scheme=https",
                "traefik.http.routers.gz-http.rule=Host(`gz.test`)", "traefik.http.routers.gz-http.middlewares=to-https"});
  RunContainer("hdr", "hdr.test",
               {"traefik.http.middlewares.sec.headers.stsSeconds=31536000",
                "traefik.http.middlewares.sec.headers.stsIncludeSubdomains=true",
                "traefik.http.middlewares.sec.headers.stsPreload=true",
                "traefik.http.middlewares.sec.headers.contentTypeNosniff=true",
                "traefik.http.middlewares.sec.headers.frameDeny=true",
                "traefik.http.middlewares.sec.headers.referrerPolicy=no-referrer",
                "traefik.http.middlewares.sec.headers.customRequestHeaders.X-Forwarded-Proto=https",
                "traefik.http.middlewares.sec.headers.customResponseHeaders.Server=",
                "traefik.http.middlewares.cors.headers.accessControlAllowOriginList=https://app.test",
                "traefik.http.middlewares.cors.headers.accessControlAllowMethods=GET,POST",
                "traefik.http.middlewares.cors.headers.accessControlAllowHeaders=Content-Type",
                "traefik.http.middlewares.cors.headers.accessControlAllowCredentials=true",
                "traefik.http.middlewares.cors.headers.accessControlMaxAge=600",
                "traefik.http.routers.hdr.middlewares=sec,cors"});
  RunContainer("ip", "ip.test",
               {"traefik.http.middlewares.lo.ipAllowList.sourceRange=127.0.0.0/8,::1",
                "traefik.http.routers.ip.middlewares=lo"});
  RunContainer("ipdeny", "ipdeny.test",
               {"traefik.http.middlewares.far.ipWhiteList.sourceRange=192.0.2.0/24",
                "traefik.http.routers.ipdeny.middlewares=far"});
  RunContainer("lb", "lb.test",
               {"traefik.http.services.lb.loadBalancer.healthCheck.path=/bin/busybox",
                "traefik.http.services.lb.loadBalancer.healthCheck.interval=1s",
                "traefik.http.services.lb.loadBalancer.healthCheck.timeout=500ms",
                "traefik.http.services.lb.loadBalancer.sticky.cookie.name=lb_srv",
                "traefik.http.services.lb.loadBalancer.sticky.cookie.secure=true",
                "traefik.http.services.lb.loadBalancer.sticky.cookie.httpOnly=true",
                "traefik.http.services.lb.loadBalancer.sticky.cookie.sameSite=strict"});
  RunContainer("bad", "bad.test",
               {"traefik.http.middlewares.auth.basicAuth.users=u:x",
                "traefik.http.middlewares.rl.rateLimit.period=soon", "traefik.http.routers.bad.middlewares=auth,rl,nope"});

  for (const char* host : {"gz.test", "hdr.test", "ip.test", "lb.test"}) {
    ASSERT_GE(WaitFor(host, Routed), 0) << host << "\n" << cp_->Output();
  }
  EXPECT_EQ(PolicyJson("gz"),
            R"({"compress":{"min_response_body_bytes":512},"rate_limit":{"average":1000,"burst":200,"period":"1s"},)"
            R"("retry":{"attempts":3,"initial_interval":"100ms"}} {})");
  EXPECT_EQ(PolicyJson("hdr"),
            R"({"headers":{"custom_request_headers":{"X-Forwarded-Proto":"https"},"custom_response_headers":{"Server":""},)"
            R"("sts_seconds":31536000,"sts_include_subdomains":true,"sts_preload":true,"content_type_nosniff":true,)"
            R"("frame_deny":true,"referrer_policy":"no-referrer","access_control_allow_origin_list":["https://app.test"],)"
            R"("access_control_allow_methods":["GET","POST"],"access_control_allow_headers":["Content-Type"],)"
            R"("access_control_allow_credentials":true,"access_control_max_age":600}} {})");
  EXPECT_EQ(PolicyJson("ip"), R"({"ip_allow_list":["127.0.0.0/8","::1"]} {})");
  // The data plane enforces the allow list: this test's client (127.0.0.1) is outside it.
  EXPECT_GE(WaitFor("ipdeny.test",
                    [](const HttpResponse& r, const std::string&) {
                      return r.status == 403 && r.body == "your IP (127.0.0.1) is not allowed (app allow list)\n";
                    }),
            0);
  EXPECT_EQ(PolicyJson("ipdeny"), R"({"ip_allow_list":["192.0.2.0/24"]} {})");
  EXPECT_EQ(PolicyJson("lb"),
            R"(- {"health_check":{"path":"/bin/busybox","interval":"1s","timeout":"500ms"},)"
            R"("sticky":{"cookie_name":"lb_srv","secure":true,"http_only":true,"same_site":"strict"}})");

  // The bad container: every problem reported at once for it; nothing routed for it.
  const std::string expected_reason =
      "docker/bad: traefik.http.middlewares.auth.basicAuth.users: middleware kind \"basicauth\" is not "
      "supported by edgerouter; traefik.http.middlewares.rl.rateLimit.period: \"soon\" is not a duration "
      "(\"10s\", \"250ms\"); traefik.http.routers.bad.middlewares: middleware nope is not defined on this container";
  std::vector<std::string> rejected;
  EXPECT_TRUE(PollSnapshot([&] {
    rejected = Rejected();
    return std::find(rejected.begin(), rejected.end(), expected_reason) != rejected.end();
  })) << absl::StrJoin(rejected, "\n");
  EXPECT_FALSE(SnapshotApp("bad").has_value());
  EXPECT_TRUE(Gone(Get(http_port_, "bad.test", "/bin/busybox"), "bad.test"));
}

}  // namespace
}  // namespace edgerouter::testing
