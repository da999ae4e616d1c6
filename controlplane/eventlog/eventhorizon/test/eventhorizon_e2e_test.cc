// End to end on a real dynalite: `edgerouterctl eventhorizon …` creates and writes EventHorizon
// streams, and the real controlplane binary with --event_log=eventhorizon serves apps that an
// independent botocore writer put there, writes PutApp's AppUpdated in EventHorizon's format,
// and waits (serving nothing) while DynamoDB throttles it at start; a real data plane serves the
// botocore-written apps.
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "controlplane/test/test_controlplane.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testenv/dynamodb/dynalite.h"

namespace edgerouter {
namespace {

using nlohmann::json;
using testing::Dynalite;
using testing::PickFreeLoopbackPort;
using testing::RunfilePath;

struct CmdResult {
  int exit_code = -1;
  std::string output;
};

CmdResult Exec(std::vector<std::string> argv) {
  CmdResult r;
  auto p = Subprocess::Start(std::move(argv));
  if (!p.ok()) return r;
  absl::StatusOr<int> status = (*p)->Wait(absl::Seconds(60));
  r.output = (*p)->Output();
  if (status.ok() && WIFEXITED(*status)) r.exit_code = WEXITSTATUS(*status);
  return r;
}

class EventHorizonE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = Dynalite::Start();
    ASSERT_TRUE(d.ok()) << d.status();
    dynalite_ = *std::move(d);
    // Children (edgerouterctl, controlplane) inherit these.
    setenv("EVENTHORIZON", "dev:1:ak:sk:us-east-1", 1);
    setenv("AWS_ENDPOINT_URL_DYNAMODB", dynalite_->endpoint().c_str(), 1);
    unsetenv("AWS_ENDPOINT_URL");
    dir_ = std::string(getenv("TEST_TMPDIR")) + "/eh";
    std::filesystem::create_directories(dir_);
  }

  CmdResult Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), RunfilePath("cli/edgerouterctl"));
    return Exec(std::move(args));
  }
  CmdResult Py(std::vector<std::string> args, const std::string& endpoint = "") {
    std::vector<std::string> argv = {"/usr/bin/env", "AWS_ACCESS_KEY_ID=ak", "AWS_SECRET_ACCESS_KEY=sk",
                                     "/usr/bin/python3",
                                     RunfilePath("controlplane/eventlog/eventhorizon/test/eh_botocore.py"),
                                     endpoint.empty() ? dynalite_->endpoint() : endpoint, "dev_eh_events"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Exec(std::move(argv));
  }
  static std::string AppUpdatedLine(const std::string& id) {
    json app = {{"id", id},
                {"frontends",
                 {{{"kind", "hostname"}, {"hostname", id}, {"path_prefix", "/"}, {"allow_insecure_http", true}}}},
                {"backend", {{"kind", "redirect"}, {"redirect_opts", {{"to", "https://example.com/" + id}}}}}};
    return "2026-03-05T10:00:00.000Z AppUpdated    " + json{{"Application", app}}.dump();
  }
  static bool WaitForOutput(const std::function<CmdResult()>& run, const std::string& needle, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (absl::StrContains(run().output, needle)) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  std::unique_ptr<Dynalite> dynalite_;
  std::string dir_;
};

TEST_F(EventHorizonE2eTest, CliAndControlPlaneOnEventHorizon) {
  CmdResult r = Ctl({"eventhorizon", "bootstrap"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Ctl({"eventhorizon", "bootstrap"});
  ASSERT_EQ(r.exit_code, 0) << "bootstrap is idempotent: " << r.output;
  ASSERT_EQ(Ctl({"eventhorizon", "stream-create", "/t-1"}).exit_code, 0);
  ASSERT_EQ(Ctl({"eventhorizon", "stream-create", "/t-1/loadbalancer"}).exit_code, 0);
  r = Ctl({"eventhorizon", "stream-create", "/t-1/loadbalancer"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.output, "already exists")) << r.output;
  EXPECT_EQ(Ctl({"eventhorizon", "stream-create", "/t-9/x"}).exit_code, 1);  // no parent
  EXPECT_EQ(Ctl({"eventhorizon", "read", "/t-1"}).exit_code, 2);

  // An app written by the independent writer before the control plane starts.
  ASSERT_EQ(Py({"write", "/t-1/loadbalancer", AppUpdatedLine("botocore.example")}).exit_code, 0);
  r = Ctl({"eventhorizon", "append", "/t-1/loadbalancer", AppUpdatedLine("cli.example")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "/t-1/loadbalancer@2")) << r.output;
  r = Ctl({"eventhorizon", "read", "/t-1/loadbalancer", "1"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.output, "/t-1/loadbalancer@2\n  " + AppUpdatedLine("cli.example"))) << r.output;
  EXPECT_FALSE(absl::StrContains(r.output, "botocore.example")) << "read is after the version";
  r = Ctl({"eventhorizon", "read", "/", "-1"});
  EXPECT_TRUE(absl::StrContains(r.output, "ChildStreamCreated    {\"Stream\":\"/t-1\"}")) << r.output;

  auto cp = testing::StartTestControlPlane("127.0.0.1:0", dir_ + "/unused",
                                           {"--event_log=eventhorizon", "--eventhorizon_poll_ms=50", "--docker_url=off"},
                                           dir_ + "/cp.log");
  ASSERT_TRUE(cp.ok()) << cp.status();
  auto app_ls = [&] { return Ctl({"--controlplane=" + cp->grpc_address, "app", "ls"}); };
  r = app_ls();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "botocore.example")) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "cli.example")) << r.output;

  // Served through a real data plane.
  auto dp = Subprocess::Start({RunfilePath("dataplane/dataplane"), "--controlplane=" + cp->grpc_address,
                               "--http_listen=127.0.0.1:0", "--https_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                               "--workers=1", "--node_id=dp-eh", "--state_dir=" + dir_ + "/dp-state"},
                              dir_ + "/dp.log");
  ASSERT_TRUE(dp.ok());
  absl::StatusOr<std::string> dp_ready = (*dp)->WaitForLine("data plane ready", absl::Seconds(20));
  ASSERT_TRUE(dp_ready.ok()) << (*dp)->Output();
  const std::string dp_http = LogField(*dp_ready, "http");
  auto via_dataplane = [&](const std::string& host) {
    return Exec({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H", "Host: " + host,
                 "http://" + dp_http + "/"});
  };
  EXPECT_TRUE(WaitForOutput([&] { return via_dataplane("botocore.example"); }, "302 https://example.com/botocore.example",
                            absl::Seconds(10)))
      << via_dataplane("botocore.example").output;

  // Written by botocore while the control plane runs: picked up by polling, served.
  ASSERT_EQ(Py({"write", "/t-1/loadbalancer", AppUpdatedLine("live.example")}).exit_code, 0);
  EXPECT_TRUE(WaitForOutput(app_ls, "live.example", absl::Seconds(10)));
  EXPECT_TRUE(WaitForOutput([&] { return via_dataplane("live.example"); }, "302 https://example.com/live.example",
                            absl::Seconds(10)));

  // Written through the Admin API: lands in DynamoDB in EventHorizon's format.
  {
    std::ofstream f(dir_ + "/app.json");
    f << json::parse(AppUpdatedLine("admin.example").substr(AppUpdatedLine("").find('{')))["Application"].dump();
  }
  r = Ctl({"--controlplane=" + cp->grpc_address, "app", "put", "--new", dir_ + "/app.json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(app_ls().output, "admin.example"));
  CmdResult dump = Py({"dump", "/t-1/loadbalancer"});
  ASSERT_EQ(dump.exit_code, 0) << dump.output;
  json d = json::parse(dump.output.substr(dump.output.rfind("{\"entries\"")));
  ASSERT_EQ(d["entries"].size(), 5u) << dump.output;
  EXPECT_EQ(d["entries"][4]["events"][0]["type"], "AppUpdated");
  EXPECT_EQ(d["entries"][4]["events"][0]["payload"]["Application"]["id"], "admin.example");

  CmdResult metrics = Exec({"/usr/bin/curl", "-s", "http://" + cp->http_address + "/metrics"});
  EXPECT_TRUE(absl::StrContains(metrics.output, "er_cp_event_log_stale 0")) << metrics.output;

  // The run-once lease is the DynamoDB lock item: this replica takes it (the keeper tries once a
  // second) and cluster status names it as the holder.
  CmdResult status;
  for (absl::Time until = absl::Now() + absl::Seconds(20); absl::Now() < until;) {
    status = Ctl({"--controlplane=" + cp->grpc_address, "cluster", "status"});
    if (status.exit_code == 0 && absl::StrContains(status.output, "duties") &&
        !absl::StrContains(status.output, "(nobody)")) {
      break;
    }
  }
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_TRUE(absl::StrContains(status.output, "eventhorizon")) << status.output;
  EXPECT_TRUE(absl::StrContains(status.output, "duties")) << status.output;
  EXPECT_FALSE(absl::StrContains(status.output, "(nobody)")) << status.output;
  (*dp)->Signal(SIGTERM);
  cp->process->Signal(SIGTERM);
}

TEST_F(EventHorizonE2eTest, ThrottledAtStartServesNothingUntilTheFirstRead) {
  ASSERT_EQ(Py({"create-table"}).exit_code, 0);
  ASSERT_EQ(Py({"write", "/t-1/loadbalancer", AppUpdatedLine("early.example")}).exit_code, 0);
  const int proxy_port = PickFreeLoopbackPort();
  auto proxy = Subprocess::Start({"/usr/bin/python3",
                                  RunfilePath("controlplane/eventlog/eventhorizon/test/dynamo_proxy.py"),
                                  absl::StrCat(proxy_port), absl::StrCat(dynalite_->port())});
  ASSERT_TRUE(proxy.ok());
  ASSERT_TRUE((*proxy)->WaitForLine("dynamo proxy listening", absl::Seconds(20)).ok());
  const std::string proxied = absl::StrCat("http://127.0.0.1:", proxy_port);
  ASSERT_EQ(Exec({"/usr/bin/curl", "-s", "--data-binary", "1000000", proxied + "/__throttle"}).exit_code, 0);
  setenv("AWS_ENDPOINT_URL_DYNAMODB", proxied.c_str(), 1);

  std::vector<std::string> argv = {RunfilePath("controlplane/controlplane"), "--grpc_listen=127.0.0.1:0",
                                   "--http_listen=127.0.0.1:0", "--event_log=eventhorizon",
                                   "--eventhorizon_poll_ms=50", "--docker_url=off", "--coalesce_quiet_ms=5",
                                   "--coalesce_max_ms=20"};
  auto cp = Subprocess::Start(argv, dir_ + "/cp-throttled.log");
  ASSERT_TRUE(cp.ok());
  ASSERT_TRUE((*cp)->WaitForLine("waiting before serving", absl::Seconds(20)).ok()) << (*cp)->Output();
  EXPECT_FALSE((*cp)->WaitForLine("control plane ready", absl::Milliseconds(500)).ok())
      << "nothing is served while the streams cannot be read";
  ASSERT_EQ(Exec({"/usr/bin/curl", "-s", "--data-binary", "0", proxied + "/__throttle"}).exit_code, 0);
  absl::StatusOr<std::string> ready = (*cp)->WaitForLine("control plane ready", absl::Seconds(20));
  ASSERT_TRUE(ready.ok()) << (*cp)->Output();
  CmdResult r = Ctl({"--controlplane=" + LogField(*ready, "grpc"), "app", "ls"});
  EXPECT_TRUE(absl::StrContains(r.output, "early.example")) << r.output;
  (*cp)->Signal(SIGTERM);
  (*proxy)->Signal(SIGTERM);
}

}  // namespace
}  // namespace edgerouter
