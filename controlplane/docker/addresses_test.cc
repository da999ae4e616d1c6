#include "controlplane/docker/addresses.h"

#include <algorithm>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace edgerouter::controlplane::docker {
namespace {

using edgerouter::testing::ReadFileOrDie;
using edgerouter::testing::RunfilePath;
using Json = nlohmann::json;
using V = std::vector<std::string>;

std::string Recorded(const std::string& name) {
  return ReadFileOrDie(RunfilePath("testdata/docker-api/" + name));
}

// "name: addr, addr" per service, and "subject: error" per problem: compact to compare.
V Summary(const Discovered& d) {
  V out;
  for (const auto& s : d.services) {
    std::string line = s.name + ":";
    for (const auto& a : s.addresses) line += " " + a;
    out.push_back(line);
  }
  for (const auto& p : d.problems) out.push_back("! " + p.subject + ": " + p.error);
  return out;
}

Discovered Containers(const std::string& json, const std::string& network = "bridge") {
  auto d = DiscoverContainers(json, network);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *d : Discovered{};
}

Discovered Swarm(const std::string& services, const std::string& tasks,
                 const std::string& network = "bridge") {
  auto d = DiscoverSwarm(services, tasks, network);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *d : Discovered{};
}

TEST(ContainersTest, StandaloneHostNetworkAndMissingBridgeAddress) {
  Discovered d = Containers(Recorded("containers-json.standalone.json"));
  EXPECT_EQ(Summary(d), (V{"hostnet1: 127.0.0.1",
                           "! std1: no usable address on network 'bridge' (container networks: "
                           "bridge)"}));
  EXPECT_EQ(d.services[0].source_ids,
            V{"cc379d9b2a73be044a6557e43b5621a4217f5a8a567ab42f8bba8089dc25221e"});
  EXPECT_EQ(d.services[0].labels.at("traefik.port"), "18081");
}

TEST(ContainersTest, NetworkOption) {
  const std::string json = Recorded("containers-json.user-bridge.json");
  EXPECT_EQ(Summary(Containers(json)),
            V{"! brc1: no usable address on network 'bridge' (container networks: lbbridge)"});
  EXPECT_EQ(Summary(Containers(json, "lbbridge")), V{"brc1: 10.214.0.2"});
  EXPECT_EQ(Summary(Containers(json, "_auto_")), V{"brc1: 10.214.0.2"});
  EXPECT_EQ(Summary(Containers(json, "other")),
            V{"! brc1: no usable address on network 'other' (container networks: lbbridge)"});
}

TEST(ContainersTest, NetworkLabelOverridesOptionWithoutBridgeFallback) {
  Json j = Json::parse(Recorded("containers-json.user-bridge.json"));
  j[0]["Labels"]["traefik.docker.network"] = "lbbridge";
  EXPECT_EQ(Summary(Containers(j.dump(), "elsewhere")), V{"brc1: 10.214.0.2"});
  // A label network that does not exist is an error even though a bridge address exists.
  j[0]["Labels"]["traefik.docker.network"] = "missing";
  j[0]["NetworkSettings"]["Networks"]["bridge"] = {{"IPAddress", "172.17.0.9"}};
  EXPECT_EQ(Summary(Containers(j.dump())),
            V{"! brc1: no usable address on network 'missing' (container networks: bridge, "
              "lbbridge)"});
  // Without the label, edgerouter's fallback to bridge applies.
  j[0]["Labels"].erase("traefik.docker.network");
  EXPECT_EQ(Summary(Containers(j.dump(), "missing")), V{"brc1: 172.17.0.9"});
}

TEST(ContainersTest, SwarmTaskContainersAreLeftToSwarmDiscovery) {
  EXPECT_EQ(Summary(Containers(Recorded("containers-json.swarm-tasks.json"), "lbnet")), V{});
}

TEST(ContainersTest, DisabledUnlabelledStoppedAndUnhealthyContainers) {
  Json j = Json::parse(Recorded("containers-json.standalone.json"));
  j[0]["Labels"]["traefik.enable"] = "false";
  j[1]["Labels"].erase("traefik.frontend.rule");
  EXPECT_EQ(Summary(Containers(j.dump())), V{});
  j = Json::parse(Recorded("containers-json.standalone.json"));
  j[0]["Status"] = "Up 2 seconds (health: starting)";
  j[1]["State"] = "exited";
  EXPECT_EQ(Summary(Containers(j.dump())),
            V{"! hostnet1: not routed until healthy: Up 2 seconds (health: starting)"});
}

Json ComposeContainer(const std::string& id, const std::string& project,
                      const std::string& service, const std::string& ip, int64_t created) {
  return {{"Id", id},
          {"Names", {"/" + project + "-" + service + "-" + id}},
          {"State", "running"},
          {"Status", "Up 1 minute"},
          {"Created", created},
          {"HostConfig", {{"NetworkMode", project + "_default"}}},
          {"Labels",
           {{"com.docker.compose.project", project},
            {"com.docker.compose.service", service},
            {"traefik.frontend.rule", "Host:" + service + ".example.com"},
            {"traefik.docker.network", "default"},
            {"edgerouter.auth", "public"}}},
          {"NetworkSettings", {{"Networks", {{project + "_default", {{"IPAddress", ip}}}}}}}};
}

TEST(ContainersTest, ComposeReplicasBecomeOneAppNamedAfterTheProject) {
  Json j = Json::array({ComposeContainer("c3", "shop", "web", "172.20.0.4", 30),
                        ComposeContainer("c2", "shop", "web", "172.20.0.3", 20),
                        ComposeContainer("c1", "shop", "web", "172.20.0.2", 10)});
  j[0]["Labels"]["traefik.port"] = "8080";  // the newest replica's labels win
  Discovered d = Containers(j.dump());
  EXPECT_EQ(Summary(d), V{"shop: 172.20.0.4 172.20.0.3 172.20.0.2"});
  EXPECT_EQ(d.services[0].source_ids, (V{"c3", "c2", "c1"}));
  Built built = BuildApplications(d);
  ASSERT_EQ(built.apps.size(), 1u);
  EXPECT_EQ(built.apps[0].id(), "shop");
  const auto& origins = built.apps[0].backend().reverse_proxy_opts().origins();
  EXPECT_EQ(V(origins.begin(), origins.end()),
            (V{"http://172.20.0.4:8080", "http://172.20.0.3:8080", "http://172.20.0.2:8080"}));
}

TEST(ContainersTest, ReplicasKeepTheirOwnPortLabels) {
  // Host-network replicas on one machine must listen on different ports; like Traefik's
  // servers, each origin uses its own container's port label.
  Json j = Json::array({ComposeContainer("c2", "shop", "web", "", 20),
                        ComposeContainer("c1", "shop", "web", "", 10)});
  for (Json& c : j) c["HostConfig"]["NetworkMode"] = "host";
  j[0]["Labels"]["traefik.port"] = "8082";
  j[1]["Labels"]["traefik.http.services.web.loadbalancer.server.port"] = "8081";
  Built built = BuildApplications(Containers(j.dump()));
  ASSERT_EQ(built.apps.size(), 1u);
  const auto& origins = built.apps[0].backend().reverse_proxy_opts().origins();
  EXPECT_EQ(V(origins.begin(), origins.end()), (V{"http://127.0.0.1:8082", "http://127.0.0.1:8081"}));
}

TEST(ContainersTest, StoppingContainersLeaveBeforeTheyDie) {
  Json j = Json::array({ComposeContainer("c2", "shop", "web", "172.20.0.3", 20),
                        ComposeContainer("c1", "shop", "web", "172.20.0.2", 10),
                        ComposeContainer("x1", "blog", "web", "172.21.0.2", 1)});
  auto d = DiscoverContainers(j.dump(), "bridge", {"c2", "x1"});
  ASSERT_TRUE(d.ok()) << d.status();
  // Still "running" in the engine's list, but draining: not routed and not a problem either.
  EXPECT_EQ(Summary(*d), V{"shop: 172.20.0.2"});
}

TEST(ContainersTest, SeveralRoutedComposeServicesGetProjectServiceIds) {
  Json j = Json::array({ComposeContainer("a1", "shop", "web", "172.20.0.2", 1),
                        ComposeContainer("b1", "shop", "api", "172.20.0.3", 1),
                        ComposeContainer("a2", "shop", "web", "172.20.0.4", 2),
                        ComposeContainer("x1", "blog", "web", "172.21.0.2", 1)});
  // An unrouted service does not count towards the ambiguity.
  Json db = ComposeContainer("d1", "blog", "db", "172.21.0.3", 1);
  db["Labels"].erase("traefik.frontend.rule");
  j.push_back(db);
  EXPECT_EQ(Summary(Containers(j.dump())),
            (V{"shop_web: 172.20.0.2 172.20.0.4", "shop_api: 172.20.0.3", "blog: 172.21.0.2"}));
}

TEST(SwarmTest, TaskAddressesOnTheRecordedSwarm) {
  Discovered d = Swarm(Recorded("services.json"), Recorded("tasks.json"));
  EXPECT_EQ(Summary(d),
            (V{"svc-host: 127.0.0.1 127.0.0.1", "svc-global: 127.0.0.1",
               "svc-overlay: 10.213.0.7 10.213.0.4 10.213.0.3",
               "! svc-default/b3ftivcl79t5y5u4pli60jf7t: no usable address on network 'bridge'",
               "! svc-default/rrr27ptd5qb6kv2z6d1v4hrua: no usable address on network 'bridge'",
               "! svc-default: no running task with a usable address"}));
  EXPECT_EQ(d.services[0].source_ids,
            (V{"bwq31igybjvbtjo1qdkitg476", "ltbqzunyd86e3gainl4eauz4f"}));
  EXPECT_EQ(d.services[2].source_ids,
            (V{"jje0zqoszy6s2u155166pknpe", "ka9f72yuf9qngsu6eygjx9cke",
               "r1ywlelucsy55d8mm4kswfqm2"}));
}

TEST(SwarmTest, HostTasksUseTheirNodeAddressAndOptionallyPortPlusSlot) {
  Json nodes = Json::parse(Recorded("nodes.json"));
  nodes[0]["Status"]["Addr"] = "127.0.0.9";  // the only node of the recorded swarm
  Json services = Json::parse(Recorded("services.json"));
  for (Json& svc : services) {
    if (svc["Spec"]["Name"] != "svc-host") continue;
    svc["Spec"]["Labels"]["edgerouter.port_add_task_slot"] = "true";
    svc["Spec"]["Labels"]["edgerouter.auth"] = "public";
  }
  auto d = DiscoverSwarm(services.dump(), Recorded("tasks.json"), "bridge", nodes.dump());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(Summary(*d)[0], "svc-host: 127.0.0.9 127.0.0.9");
  Built built = BuildApplications(*d);
  ASSERT_FALSE(built.apps.empty());
  ASSERT_EQ(built.apps[0].id(), "svc-host");
  const auto& origins = built.apps[0].backend().reverse_proxy_opts().origins();
  // svc-host runs `httpd -p 127.0.0.1:$((18100+SLOT))`, slots 2 and 1 in the recording.
  EXPECT_EQ(V(origins.begin(), origins.end()), (V{"http://127.0.0.9:18102", "http://127.0.0.9:18101"}));
}

TEST(SwarmTest, OnlyRunningTasksNotBeingShutDown) {
  Discovered d = Swarm(Recorded("services.json"), Recorded("tasks.svc-overlay.running.json"));
  EXPECT_EQ(d.services.size(), 1u);
  EXPECT_EQ(Summary(d).front(), "svc-overlay: 10.213.0.4 10.213.0.3");

  Json tasks = Json::parse(Recorded("tasks.svc-overlay.running.json"));
  tasks[0]["DesiredState"] = "shutdown";  // rolling update: leaving before it stops
  tasks[1]["Status"]["State"] = "starting";
  d = Swarm(Recorded("services.json"), tasks.dump());
  EXPECT_EQ(Summary(d).back(), "! svc-overlay: no running task with a usable address");
  EXPECT_TRUE(d.services.empty());
  // The failed task of the broken service is ignored (and the service has no labels).
  EXPECT_TRUE(Swarm(Recorded("services.json"), Recorded("tasks.svc-broken.failed.json"))
                  .services.empty());
}

TEST(SwarmTest, NetworkOptionAndAuto) {
  Json services = Json::parse(Recorded("services.json"));
  for (Json& s : services) s["Spec"]["Labels"].erase("traefik.docker.network");
  V lines = Summary(Swarm(services.dump(), Recorded("tasks.json"), "lbnet"));
  EXPECT_EQ(lines[2], "svc-overlay: 10.213.0.7 10.213.0.4 10.213.0.3");
  lines = Summary(Swarm(services.dump(), Recorded("tasks.json"), "_auto_"));
  EXPECT_EQ(lines[2], "svc-overlay: 10.213.0.7 10.213.0.4 10.213.0.3");
  lines = Summary(Swarm(services.dump(), Recorded("tasks.json"), "ingress"));
  EXPECT_EQ(lines[2], "! svc-default/b3ftivcl79t5y5u4pli60jf7t: no usable address on network "
                      "'ingress'");
}

TEST(SwarmTest, LbSwarmUsesTheServiceVip) {
  Json services = Json::parse(Recorded("services.json"));
  for (const char* label : {"traefik.docker.lbswarm", "traefik.swarm.lbswarm"}) {
    Json copy = services;
    for (Json& s : copy) {
      if (s["Spec"]["Name"] == "svc-overlay") s["Spec"]["Labels"][label] = "true";
    }
    Discovered d = Swarm(copy.dump(), Recorded("tasks.json"));
    EXPECT_EQ(Summary(d)[2], "svc-overlay: 10.213.0.2") << label;
    EXPECT_EQ(d.services[2].source_ids, V{"tnjidp34dizjszi91d8110pvg"});
  }
  // svc-host's VIP entry (host network) has no address: reported.
  for (Json& s : services) {
    if (s["Spec"]["Name"] == "svc-host") s["Spec"]["Labels"]["traefik.swarm.lbswarm"] = "true";
  }
  V lines = Summary(Swarm(services.dump(), Recorded("tasks.json")));
  EXPECT_EQ(lines[0], "svc-global: 127.0.0.1");
  EXPECT_NE(std::find(lines.begin(), lines.end(), "! svc-host: no service VIP on network 'bridge'"),
            lines.end());
}

TEST(SwarmTest, BuildApplicationsReportsLabelErrorsPerService) {
  Json services = Json::parse(Recorded("services.json"));
  for (Json& s : services) {
    if (s["Spec"]["Name"] != "svc-global") s["Spec"]["Labels"]["edgerouter.auth"] = "public";
  }
  Built built = BuildApplications(Swarm(services.dump(), Recorded("tasks.json")));
  ASSERT_EQ(built.apps.size(), 2u);
  EXPECT_EQ(built.apps[0].id(), "svc-host");
  EXPECT_EQ(built.apps[0].backend().reverse_proxy_opts().origins(1), "http://127.0.0.1:18100");
  EXPECT_EQ(built.apps[1].id(), "svc-overlay");
  EXPECT_EQ(built.apps[1].backend().reverse_proxy_opts().origins(0), "http://10.213.0.7:8080");
  ASSERT_EQ(built.problems.size(), 4u);
  EXPECT_EQ(built.problems.back().subject, "svc-global");
  EXPECT_EQ(built.problems.back().error, "unsupported auth mode: ");
}

TEST(ContainersTest, RecordedCreatedTimesPickTheNewestLabels) {
  // Created comes from the engine as an unsigned number: the newest (brc1) must win.
  Json a = Json::parse(Recorded("containers-json.standalone.json"))[0];
  Json b = Json::parse(Recorded("containers-json.user-bridge.json"))[0];
  for (Json* c : {&a, &b}) {
    (*c)["Labels"]["com.docker.compose.project"] = "p";
    (*c)["Labels"]["com.docker.compose.service"] = "s";
  }
  b["Labels"]["traefik.port"] = "7777";
  Discovered d = Containers(Json::array({a, b}).dump(), "lbbridge");
  EXPECT_EQ(Summary(d), V{"p: 127.0.0.1 10.214.0.2"});
  EXPECT_EQ(d.services[0].labels.at("traefik.port"), "7777");
  d = Containers(Json::array({b, a}).dump(), "lbbridge");
  EXPECT_EQ(d.services[0].labels.at("traefik.port"), "7777");
}

TEST(ParseErrorsTest, WrongTypesAreToleratedPerItem) {
  Json junk = Json::array({1, {{"Labels", "x"}, {"Created", "y"}},
                           {{"Names", {"/j"}}, {"Created", "y"}, {"NetworkSettings", 3},
                            {"Labels", {{"traefik.frontend.rule", "Host:j"}}}}});
  EXPECT_EQ(Summary(Containers(junk.dump())),
            V{"! j: no usable address on network 'bridge' (container networks: none)"});
  Json tasks = Json::array({7, {{"ServiceID", "tnjidp34dizjszi91d8110pvg"},
                                {"NodeID", "n"},
                                {"DesiredState", "running"},
                                {"Status", {{"State", "running"}}},
                                {"NetworksAttachments", {5, {{"Addresses", 3}}}}}});
  EXPECT_EQ(Summary(Swarm(Recorded("services.json"), tasks.dump())).back(),
            "! svc-overlay: no running task with a usable address");
}

TEST(ParseErrorsTest, NotAnArray) {
  EXPECT_FALSE(DiscoverContainers("{", "bridge").ok());
  EXPECT_FALSE(DiscoverSwarm("[]", "{}", "bridge").ok());
}

}  // namespace
}  // namespace edgerouter::controlplane::docker
