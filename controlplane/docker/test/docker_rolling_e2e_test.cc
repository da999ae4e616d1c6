// Zero-error redeploys and recovery against a private dockerd: a stop signal unroutes a
// container while it still runs; replicas replaced one by one under wrk load give no errors;
// the engine restarting is survived (apps kept, reported stale, then resynced); a Swarm service
// scales 1→3 with traffic on every replica and survives a rolling `service update` under load.
//
// Replicas are host-network busybox httpd processes on their own loopback ports that serve
// their name at /id and, like a well-behaved app, finish for 0.5 s after SIGTERM before exiting
// (that pause is the app under test draining, not synchronisation). They have a Docker health
// check, so they join only once they answer ("running" alone says nothing about the port).
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/test_util.h"
#include "controlplane/docker/test/docker_e2e_fixture.h"
#include "gtest/gtest.h"

namespace edgerouter::testing {
namespace {

using V = std::vector<std::string>;

// Health check flags shared by containers and services: healthy once /id answers.
const std::vector<std::string> kHealthCheck = {
    "--health-cmd", "/bin/busybox wget -q -O /dev/null http://127.0.0.1:$PORT/id", "--health-interval", "200ms",
    "--health-retries", "1"};

// Shell for a replica: serves `id` on 127.0.0.1:$PORT; on TERM it drains (or ignores TERM).
std::string ReplicaScript(const std::string& id, bool ignore_term) {
  const std::string serve =
      absl::StrCat("/bin/busybox mkdir -p /tmp/w && echo ", id, " > /tmp/w/id && ");
  if (ignore_term) return serve + "trap '' TERM && exec /bin/busybox httpd -f -p 127.0.0.1:$PORT -h /tmp/w";
  return serve +
         "{ /bin/busybox httpd -f -p 127.0.0.1:$PORT -h /tmp/w & } && "
         "trap '/bin/busybox sleep 0.5; kill $!; exit 0' TERM && wait";
}

class DockerRollingE2E : public DockerE2E {
 protected:
  // A compose-style replica (project/service labels) of app `project`, host `project`.test.
  std::string RunReplica(const std::string& name, const std::string& project, bool ignore_term = false,
                         const std::vector<std::string>& extra = {}) {
    const int port = PickFreeLoopbackPort();
    std::vector<std::string> args = {"run", "-d", "--network", "host", "--name", name, "--env",
                                     absl::StrCat("PORT=", port), "--label",
                                     "com.docker.compose.project=" + project, "--label",
                                     "com.docker.compose.service=web", "--label",
                                     "traefik.frontend.rule=Host:" + project + ".test", "--label",
                                     absl::StrCat("traefik.port=", port), "--label", "edgerouter.auth=public"};
    args.insert(args.end(), kHealthCheck.begin(), kHealthCheck.end());
    args.insert(args.end(), extra.begin(), extra.end());
    for (const char* a : {DockerHarness::kImage, "/bin/busybox", "sh", "-c"}) args.emplace_back(a);
    args.push_back(ReplicaScript(name, ignore_term));
    absl::StatusOr<std::string> id = harness_->Docker(args);
    EXPECT_TRUE(id.ok()) << id.status();
    Track(name);
    return absl::StrCat("http://127.0.0.1:", port);
  }

  // The data plane (and control plane) route app `project` to exactly `origins`.
  bool RoutesExactly(const std::string& project, V origins, const V& ids) {
    std::sort(origins.begin(), origins.end());
    if (SnapshotOrigins(project) != origins) return false;
    return DistinctBodies(http_port_, project + ".test", "/id", 12 * static_cast<int>(ids.size())) == ids;
  }

  std::string Diagnose(const std::string& project) {
    std::string out = cp_->Output() + "\norigins:";
    for (const auto& o : SnapshotOrigins(project)) out += " " + o;
    HttpResponse r = Get(http_port_, project == "swarmweb" ? "swarm.test" : project + ".test", "/id");
    out += absl::StrCat("\nGET /id: ", r.status, " ", r.body, "\n");
    auto ps = harness_->DockerOutput({"ps", "-a"});
    if (ps.ok()) out += *ps;
    for (const auto& c : containers_) {
      auto logs = harness_->DockerOutput({"logs", c});
      if (logs.ok()) out += c + ": " + *logs + "\n";
    }
    return out;
  }

  std::unique_ptr<Subprocess> StartWrk(const std::string& host) {
    auto wrk = Subprocess::Start({"/usr/bin/wrk", "-t1", "-c4", "-d120s", "-H", "Host: " + host,
                                  absl::StrCat("http://127.0.0.1:", http_port_, "/id")});
    EXPECT_TRUE(wrk.ok()) << wrk.status();
    return wrk.ok() ? *std::move(wrk) : nullptr;
  }

  // Ends wrk (SIGINT makes it print its summary) and checks every response was a 2xx.
  static void ExpectNoErrors(Subprocess* wrk) {
    ASSERT_NE(wrk, nullptr);
    wrk->Signal(SIGINT);
    absl::StatusOr<int> status = wrk->Wait(absl::Seconds(30));
    ASSERT_TRUE(status.ok()) << status.status();
    const std::string out = wrk->Output();
    std::printf("wrk exit status %d\n%s\n", *status, out.c_str());
    EXPECT_TRUE(absl::StrContains(out, "requests in")) << out;
    EXPECT_FALSE(absl::StrContains(out, "Non-2xx")) << out;
    EXPECT_FALSE(absl::StrContains(out, "Socket errors")) << out;
  }
};

TEST_F(DockerRollingE2E, StopSignalUnroutesTheContainerBeforeItDies) {
  const std::string a = RunReplica("sig-a", "sig", /*ignore_term=*/true);
  const std::string b = RunReplica("sig-b", "sig");
  ASSERT_GE(WaitForPublished([&] { return RoutesExactly("sig", {a, b}, {"sig-a", "sig-b"}); }), 0)
      << Diagnose("sig");

  // What `docker stop` starts with; this container ignores it and keeps serving.
  ASSERT_TRUE(harness_->Docker({"kill", "-s", "TERM", "sig-a"}).ok());
  const double ms = WaitForPublished([&] { return RoutesExactly("sig", {b}, {"sig-b"}); });
  std::printf("DISCOVERY_LATENCY kill(TERM)->unrouted_ms=%.1f\n", ms);
  ASSERT_GE(ms, 0) << cp_->Output();
  auto running = harness_->Docker({"inspect", "-f", "{{.State.Running}}", "sig-a"});
  ASSERT_TRUE(running.ok()) << running.status();
  EXPECT_EQ(*running, "true");  // unrouted while still alive: in-flight work can finish
}

TEST_F(DockerRollingE2E, ReplicasReplacedOneByOneUnderLoadGiveNoErrors) {
  std::string current = RunReplica("roll-0", "roll");
  ASSERT_GE(WaitForPublished([&] { return RoutesExactly("roll", {current}, {"roll-0"}); }), 0);
  std::unique_ptr<Subprocess> wrk = StartWrk("roll.test");
  for (int i = 1; i <= 3; ++i) {
    const std::string old_name = absl::StrCat("roll-", i - 1), name = absl::StrCat("roll-", i);
    const std::string next = RunReplica(name, "roll");
    ASSERT_GE(WaitForPublished([&] { return RoutesExactly("roll", {current, next}, {old_name, name}); }), 0)
        << cp_->Output();
    ASSERT_TRUE(harness_->Docker({"stop", "-t", "5", old_name}).ok());
    ASSERT_GE(WaitForPublished([&] { return RoutesExactly("roll", {next}, {name}); }), 0) << cp_->Output();
    current = next;
  }
  ExpectNoErrors(wrk.get());
}

TEST_F(DockerRollingE2E, EngineRestartKeepsAppsAsStaleThenResyncs) {
  RunReplica("phoenix", "phoenix", false, {"--restart", "always"});
  ASSERT_GE(WaitFor("phoenix.test", Routed, "/id"), 0) << cp_->Output();

  ASSERT_TRUE(harness_->StopDaemon().ok());
  // Reported, not forgotten: the app stays in the snapshot with a stale marker.
  ASSERT_TRUE(cp_->WaitForLine("id=(engine)", absl::Seconds(20)).ok()) << cp_->Output();
  EXPECT_FALSE(SnapshotOrigins("phoenix").empty());
  const V rejected = Rejected();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(rejected[0], "docker/(engine): unreachable; last known docker apps kept (stale)"))
      << rejected[0];

  ASSERT_TRUE(harness_->StartDaemon().ok());
  // The restart policy brings the container back; the control plane reconnects and resyncs.
  ASSERT_GE(WaitFor("phoenix.test", Routed, "/id", absl::Seconds(30)), 0) << cp_->Output();
  ASSERT_TRUE(cp_->WaitForLine("docker engine reachable again", absl::Seconds(10)).ok());
  EXPECT_GE(WaitForPublished([&] { return Rejected().empty(); }, absl::Seconds(5)), 0);
}

// Last: it turns the shared engine into a Swarm manager.
TEST_F(DockerRollingE2E, SwarmServiceScalesAndUpdatesWithoutErrors) {
  const absl::Status swarm = harness_->InitSwarm();
  ASSERT_TRUE(swarm.ok()) << swarm;
  // Replica N listens on base+N (Swarm sets SLOT); edgerouter.port_add_task_slot says so.
  const int base = PickFreeLoopbackPortBlock(4);  // replicas 1-3 listen on base+1 .. base+3
  ASSERT_GT(base, 0);
  const std::string script =
      "export PORT=$((BASE+SLOT)) && /bin/busybox mkdir -p /tmp/w && echo $SLOT > /tmp/w/id && "
      "{ /bin/busybox httpd -f -p 127.0.0.1:$PORT -h /tmp/w & } && "
      "trap '/bin/busybox sleep 0.5; kill $!; exit 0' TERM && wait";
  std::vector<std::string> args = {
      "service", "create", "--detach", "--no-resolve-image", "--init", "--stop-grace-period", "3s", "--network",
      "host", "--replicas", "1", "--name", "swarmweb", "--env", "SLOT={{.Task.Slot}}", "--env",
      absl::StrCat("BASE=", base), "--label", "traefik.frontend.rule=Host:swarm.test", "--label",
      absl::StrCat("traefik.port=", base), "--label", "edgerouter.port_add_task_slot=true", "--label",
      "edgerouter.auth=public"};
  // Swarm keeps a task "starting" until its health check passes; PORT is set by the script
  // only, so the check derives it the same way.
  std::vector<std::string> health = kHealthCheck;
  health[1] = "/bin/busybox wget -q -O /dev/null http://127.0.0.1:$((BASE+SLOT))/id";
  args.insert(args.end(), health.begin(), health.end());
  for (const char* a : {DockerHarness::kImage, "/bin/busybox", "sh", "-c"}) args.emplace_back(a);
  args.push_back(script);
  auto created = harness_->Docker(args);
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_GE(WaitFor("swarm.test", Routed, "/id", absl::Seconds(30)), 0) << cp_->Output();

  ASSERT_TRUE(harness_->Docker({"service", "scale", "--detach", "swarmweb=3"}).ok());
  V seen;
  const double scaled_ms = WaitForPublished(
      [&] { return (seen = DistinctBodies(http_port_, "swarm.test", "/id", 36)) == V{"1", "2", "3"}; },
      absl::Seconds(30));
  std::printf("DISCOVERY_LATENCY swarm scale 1->3 all serving_ms=%.1f\n", scaled_ms);
  ASSERT_GE(scaled_ms, 0) << "bodies seen: " << absl::StrJoin(seen, " | ") << "\n"
                          << harness_->DockerOutput({"service", "ps", "--no-trunc", "swarmweb"}, absl::Seconds(10)).value_or("")
                          << "\n" << dp_->Output().substr(dp_->Output().size() > 4000 ? dp_->Output().size() - 4000 : 0);
  EXPECT_EQ(SnapshotOrigins("swarmweb").size(), 3u);

  std::unique_ptr<Subprocess> wrk = StartWrk("swarm.test");
  auto updated = harness_->DockerOutput({"service", "update", "--force", "--detach=false", "--update-parallelism",
                                         "1", "--update-delay", "0s", "--update-monitor", "500ms",
                                         "--update-order", "stop-first", "swarmweb"},
                                        absl::Seconds(120));
  ASSERT_TRUE(updated.ok()) << updated.status();
  ASSERT_GE(WaitForPublished([&] { return DistinctBodies(http_port_, "swarm.test", "/id", 36) == V{"1", "2", "3"}; },
                             absl::Seconds(30)),
            0)
      << Diagnose("swarmweb") << *updated << harness_->DockerOutput({"service", "ps", "swarmweb"}).value_or("")
      << dp_->Output();
  ExpectNoErrors(wrk.get());
}

}  // namespace
}  // namespace edgerouter::testing
