// The event filter of DockerSource, without an engine (the end-to-end suite drives a real one).
#include "controlplane/docker/docker_source.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace edgerouter::controlplane::docker {
namespace {

using Json = nlohmann::json;

Json ContainerEvent(const std::string& action, const std::string& id, const std::string& signal = "") {
  Json e = {{"Type", "container"}, {"Action", action}, {"Actor", {{"ID", id}, {"Attributes", Json::object()}}}};
  if (!signal.empty()) e["Actor"]["Attributes"]["signal"] = signal;
  return e;
}

TEST(DockerSourceEvents, WhichEventsResync) {
  EXPECT_TRUE(DockerSource::EventTriggersResync(ContainerEvent("start", "a")));
  EXPECT_TRUE(DockerSource::EventTriggersResync(ContainerEvent("health_status: healthy", "a")));
  EXPECT_TRUE(DockerSource::EventTriggersResync(Json{{"Type", "service"}, {"Action", "update"}}));
  EXPECT_TRUE(DockerSource::EventTriggersResync(Json{{"Type", "node"}, {"Action", "update"}}));
  EXPECT_FALSE(DockerSource::EventTriggersResync(ContainerEvent("exec_start: sh", "a")));
  EXPECT_FALSE(DockerSource::EventTriggersResync(Json{{"Type", "network"}, {"Action", "connect"}}));
  EXPECT_FALSE(DockerSource::EventTriggersResync(Json::array()));
}

TEST(DockerSourceEvents, StopSignalsMarkTheContainerAsDrainingUntilItDiesOrStarts) {
  metrics::MetricsRegistry registry;
  DockerSourceOptions options;
  options.metrics = &registry;
  DockerSource source(nullptr, options, [](AppSource) {});
  source.OnEvent(ContainerEvent("kill", "a", "1"));  // SIGHUP: a reload, keeps serving
  EXPECT_FALSE(source.IsStopping("a"));
  source.OnEvent(ContainerEvent("kill", "a", "15"));  // `docker stop`
  EXPECT_TRUE(source.IsStopping("a"));
  source.OnEvent(ContainerEvent("die", "a"));
  EXPECT_FALSE(source.IsStopping("a"));
  source.OnEvent(ContainerEvent("kill", "b", "SIGKILL"));
  EXPECT_TRUE(source.IsStopping("b"));
  source.OnEvent(ContainerEvent("start", "b"));  // restarted (restart policy): routable again
  EXPECT_FALSE(source.IsStopping("b"));
  EXPECT_NE(registry.Render().find("er_cp_docker_events_total{type=\"container\",action=\"kill\"} 3"),
            std::string::npos)
      << registry.Render();
}

}  // namespace
}  // namespace edgerouter::controlplane::docker
