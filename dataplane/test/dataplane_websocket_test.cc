// A real WebSocket client and server (python3-websockets) talking through the data plane: the
// upgrade handshake is proxied and frames flow both ways over the tunnel.
#include <sys/wait.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/test_util.h"
#include "dataplane/test/e2e_fixture.h"

namespace edgerouter::testing {
namespace {

class WebSocket : public DataplaneE2E {
 protected:
  void StartOrigins() override {
    DataplaneE2E::StartOrigins();
    auto server = Subprocess::Start({"/usr/bin/python3", RunfilePath("dataplane/test/ws_tool.py"), "server"});
    ASSERT_TRUE(server.ok());
    ws_server_ = *std::move(server);
    auto ready = ws_server_->WaitForLine("ws ready", absl::Seconds(20));
    ASSERT_TRUE(ready.ok()) << ready.status();
    ws_port_ = std::stoi(LogField(*ready, "port"));
  }
  std::string AppsJson() override {
    // The client connects to 127.0.0.1:<data plane port>, so that is the Host to route.
    const std::string ws_app = absl::StrCat(
        R"({"id":"ws","frontends":[{"kind":"hostname","hostname":"127.0.0.1","path_prefix":"/","allow_insecure_http":true}],)",
        R"("backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["http://127.0.0.1:)", ws_port_, R"("]}}})");
    std::string json = DataplaneE2E::AppsJson();
    return json.substr(0, json.rfind(']')) + "," + ws_app + "]}";
  }
  void TearDown() override {
    ws_server_.reset();
    DataplaneE2E::TearDown();
  }

  std::unique_ptr<Subprocess> ws_server_;
  int ws_port_ = 0;
};

TEST_F(WebSocket, EchoThroughTheProxy) {
  WaitForApplied(1);
  auto client = Subprocess::Start({"/usr/bin/python3", RunfilePath("dataplane/test/ws_tool.py"), "client",
                                   absl::StrCat("ws://127.0.0.1:", http_port_, "/chat")});
  ASSERT_TRUE(client.ok());
  absl::StatusOr<int> status = (*client)->Wait(absl::Seconds(30));
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << (*client)->Output();
  EXPECT_EQ((*client)->Output(), "ws ok");
}

}  // namespace
}  // namespace edgerouter::testing
