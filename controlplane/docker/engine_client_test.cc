// EngineClient against a real, private dockerd (test/docker_harness.h). Traffic goes only to
// the engine's unix socket; the containers use the host network on 127.0.0.1.
#include "controlplane/docker/engine_client.h"

#include <atomic>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "controlplane/docker/addresses.h"
#include "common/test_util.h"
#include "controlplane/docker/test/docker_harness.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace edgerouter::controlplane::docker {
namespace {

using edgerouter::testing::DockerHarness;

// --- pure parts: no engine needed -------------------------------------------------------

TEST(EngineClientUnit, ParsesApiVersions) {
  ASSERT_TRUE(ParseApiVersion("1.41").ok());
  EXPECT_EQ(*ParseApiVersion("1.41"), std::make_pair(1, 41));
  EXPECT_LT(*ParseApiVersion("1.9"), *ParseApiVersion("1.41"));  // numeric, not textual
  EXPECT_FALSE(ParseApiVersion("1").ok());
  EXPECT_FALSE(ParseApiVersion("1.x").ok());
  EXPECT_FALSE(ParseApiVersion("1.2.3").ok());
  EXPECT_FALSE(ParseApiVersion("").ok());
}

TEST(EngineClientUnit, ErrorMessageIsTheEnginesMessage) {
  EXPECT_EQ(EngineErrorMessage(R"({"message":"page not found"})"), "page not found");
  EXPECT_EQ(EngineErrorMessage("plain text\n"), "plain text");
  EXPECT_EQ(EngineErrorMessage(""), "(empty body)");
}

TEST(EngineClientUnit, RejectsBadOptions) {
  EXPECT_FALSE(EngineClient::Create({.url = "tcp://1.2.3.4:2375"}).ok());
  EXPECT_FALSE(EngineClient::Create({.url = "unix://relative.sock"}).ok());
  EXPECT_FALSE(EngineClient::Create({.url = "unix:///x.sock", .max_api_version = "v1"}).ok());
  // A certificate without its key, a certificate over plain http, or garbage instead of PEM.
  EXPECT_FALSE(EngineClient::Create({.url = "https://127.0.0.1:1",
                                     .client_cert_pem = "-----BEGIN CERTIFICATE-----"})
                   .ok());
  EXPECT_FALSE(EngineClient::Create({.url = "http://127.0.0.1:1",
                                     .client_cert_pem = "-----BEGIN CERTIFICATE-----",
                                     .client_key_pem = "-----BEGIN PRIVATE KEY-----"})
                   .ok());
  EXPECT_FALSE(EngineClient::Create({.url = "https://127.0.0.1:1",
                                     .client_cert_pem = "not pem",
                                     .client_key_pem = "not pem"})
                   .ok());
  // base64 of PEM, as in edgerouter's DOCKER_CLIENTCERT, is accepted.
  EXPECT_TRUE(EngineClient::Create({.url = "https://127.0.0.1:1",
                                    .client_cert_pem = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
                                    .client_key_pem = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"})
                  .ok());
}

TEST(EngineClientUnit, UnreachableEngineIsUnavailable) {
  auto client = EngineClient::Create({.url = "unix:///nonexistent/docker.sock"});
  ASSERT_TRUE(client.ok());
  absl::StatusOr<std::string> r = (*client)->GetJson("/containers/json");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

// --- against the real engine -------------------------------------------------------------

class EngineClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<DockerHarness>> h = DockerHarness::Start();
    ASSERT_TRUE(h.ok()) << h.status();
    harness_ = h->release();
  }
  static void TearDownTestSuite() {
    delete harness_;  // removes containers, stops dockerd, cleans mounts and cgroups
    harness_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(harness_, nullptr);
    auto c = EngineClient::Create({.url = harness_->url()});
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = *std::move(c);
  }

  // Starts a host-network busybox httpd on a free loopback port with `labels`.
  std::string RunContainer(const std::string& name, const std::vector<std::string>& labels) {
    std::vector<std::string> args = {"run", "-d", "--network", "host", "--name", name};
    for (const std::string& l : labels) {
      args.push_back("--label");
      args.push_back(l);
    }
    const int port = edgerouter::testing::PickFreeLoopbackPort();
    for (const char* a : {DockerHarness::kImage, "/bin/busybox", "httpd", "-f", "-p"}) {
      args.push_back(a);
    }
    args.push_back(absl::StrCat("127.0.0.1:", port));
    args.push_back("-h");
    args.push_back("/www");
    absl::StatusOr<std::string> id = harness_->Docker(args);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : "";
  }

  static DockerHarness* harness_;
  std::unique_ptr<EngineClient> client_;
};

DockerHarness* EngineClientTest::harness_ = nullptr;

TEST_F(EngineClientTest, VersionNegotiatesAtMost141) {
  absl::StatusOr<EngineVersion> v = client_->Version();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->api_version, "1.41");  // Debian's dockerd 20.10
  EXPECT_FALSE(v->version.empty());
  ASSERT_TRUE(ParseApiVersion(v->negotiated).ok());
  EXPECT_LE(*ParseApiVersion(v->negotiated), std::make_pair(1, 41));
  EXPECT_EQ(v->negotiated, "1.41");
  EXPECT_EQ(client_->api_version(), "1.41");

  // A client older than the engine keeps its own version, and the engine serves it.
  auto old = EngineClient::Create({.url = harness_->url(), .max_api_version = "1.40"});
  ASSERT_TRUE(old.ok());
  ASSERT_TRUE((*old)->Version().ok());
  EXPECT_EQ((*old)->api_version(), "1.40");
  EXPECT_TRUE((*old)->GetJson("/info").ok());
}

TEST_F(EngineClientTest, ListsHostNetworkContainerAndDiscoversIt) {
  const std::string id = RunContainer(
      "er-listed", {"traefik.frontend.rule=Host:listed.test", "edgerouter.auth=public",
                    "er.test=list"});
  ASSERT_FALSE(id.empty());
  // GetJson negotiates on first use (no Version() call here).
  absl::StatusOr<std::string> body = client_->GetJson("/containers/json");
  ASSERT_TRUE(body.ok()) << body.status();
  nlohmann::json list = nlohmann::json::parse(*body);
  ASSERT_TRUE(list.is_array());
  bool found = false;
  for (const nlohmann::json& c : list) {
    if (c.value("Id", "") != id) continue;
    found = true;
    EXPECT_EQ(c["Labels"].value("er.test", ""), "list");
    EXPECT_EQ(c["HostConfig"].value("NetworkMode", ""), "host");
  }
  EXPECT_TRUE(found) << *body;

  absl::StatusOr<Discovered> d = DiscoverContainers(*body, kDefaultNetwork);
  ASSERT_TRUE(d.ok()) << d.status();
  const DiscoveredService* svc = nullptr;
  for (const DiscoveredService& s : d->services) {
    if (s.name == "er-listed") svc = &s;
  }
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->addresses, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(svc->source_ids, std::vector<std::string>{id});
  for (const DiscoveryProblem& p : d->problems) ADD_FAILURE() << p.subject << ": " << p.error;
}

TEST_F(EngineClientTest, SwarmEndpointWithoutSwarmIs503WithEngineMessage) {
  absl::StatusOr<std::string> r = client_->GetJson("/services");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  const std::string msg(r.status().message());
  EXPECT_TRUE(absl::StrContains(msg, "/services")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "503")) << msg;
  EXPECT_TRUE(absl::StrContains(msg, "This node is not a swarm manager")) << msg;

  absl::StatusOr<std::string> missing = client_->GetJson("/containers/doesnotexist/json");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
}

TEST_F(EngineClientTest, StreamDeliversStartEventAndStopsPromptly) {
  std::mutex mu;
  std::condition_variable cv;
  bool opened = false;
  std::string started_id;  // id of the first `start` event carrying our label
  std::atomic<bool> stop{false};
  std::promise<absl::Status> done;
  std::future<absl::Status> result = done.get_future();

  std::thread reader([&] {
    done.set_value(client_->StreamEvents(
        "", nlohmann::json{{"type", {"container"}}, {"label", {"er.test=events"}}},
        [&](const nlohmann::json& e) {
          if (e.value("Action", "") != "start") return;
          std::lock_guard<std::mutex> lock(mu);
          if (started_id.empty()) started_id = e.value("id", "");
          cv.notify_all();
        },
        stop, "",
        [&] {
          std::lock_guard<std::mutex> lock(mu);
          opened = true;
          cv.notify_all();
        }));
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return opened; }))
        << "event stream did not open";
  }
  // Started only now: the event must come from the live stream, not from a replay.
  const std::string id = RunContainer("er-events", {"er.test=events"});
  ASSERT_FALSE(id.empty());
  {
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return !started_id.empty(); }))
        << "no start event";
    EXPECT_EQ(started_id, id);
  }

  // With nothing more to read, only the progress callback can notice the flag (≤ ~1 s).
  const auto t0 = std::chrono::steady_clock::now();
  stop = true;
  const bool finished = result.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  EXPECT_TRUE(finished) << "StreamEvents did not stop within 5 s";
  reader.join();
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, std::chrono::milliseconds(2500));
  EXPECT_TRUE(result.get().ok());
}

TEST_F(EngineClientTest, ReplayWithUntilEndsCleanly) {
  // since/until replays past events and the engine closes the stream: OK, not an error.
  std::atomic<bool> stop{false};
  int events = 0;
  const std::string now = absl::StrCat(absl::ToUnixSeconds(absl::Now()) + 1);
  absl::Status s = client_->StreamEvents(
      "0", nlohmann::json{{"type", {"image"}}}, [&](const nlohmann::json&) { ++events; }, stop,
      now);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_GE(events, 1);  // the harness's `docker import`
}

}  // namespace
}  // namespace edgerouter::controlplane::docker
