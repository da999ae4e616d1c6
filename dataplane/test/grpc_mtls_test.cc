// The control-plane ↔ data-plane channel with mutual TLS (certificates made with the openssl
// CLI): a data plane with a client certificate from the control plane's CA gets the snapshot;
// one without a certificate, with a certificate from another CA, or in plaintext is refused,
// logs the failure, and never shows up as a node. Off loopback the control plane insists on
// mutual TLS.
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_tls.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "controlplane/test/test_controlplane.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter::testing {
namespace {

std::string Shell(const std::string& script) {
  auto p = Subprocess::Start({"/bin/sh", "-c", absl::StrCat("(", script, ") 2>&1; echo \"EXIT=$?\"")});
  if (!p.ok()) return "cannot start sh";
  auto done = (*p)->WaitForLine("EXIT=", absl::Seconds(60));
  return (*p)->Output() + (done.ok() ? "" : "\n(timeout)");
}

class GrpcMtls : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/er-mtls-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto ca = [](const std::string& name) {
      return absl::StrCat("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ", name,
                          ".key -out ", name, ".pem -days 2 -subj /CN=", name, " 2>/dev/null; ");
    };
    auto leaf = [](const std::string& name, const std::string& ca, const std::string& ext) {
      return absl::StrCat("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ", name,
                          ".key -out ", name, ".csr -subj /CN=", name, " 2>/dev/null; printf '", ext, "\\n' > ",
                          name, ".ext; openssl x509 -req -in ", name, ".csr -CA ", ca, ".pem -CAkey ", ca,
                          ".key -CAcreateserial -out ", name, ".crt -days 2 -extfile ", name, ".ext 2>/dev/null; ");
    };
    const std::string out = Shell(absl::StrCat(
        "set -e; cd ", dir_, "; ", ca("ca"), ca("other-ca"),
        leaf("controlplane", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth"),
        leaf("dp-good", "ca", "extendedKeyUsage=clientAuth"),
        leaf("dp-rogue", "other-ca", "extendedKeyUsage=clientAuth")));
    ASSERT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
    std::ofstream(dir_ + "/apps.json") << R"({"apps":[{"id":"r","frontends":[{"kind":"hostname","hostname":"r.test","path_prefix":"/","allow_insecure_http":true}],"backend":{"kind":"redirect","redirect_opts":{"to":"https://example.com/"}}}]})";
  }
  void TearDown() override {
    dps_.clear();
    cp_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::vector<std::string> CpTlsFlags() {
    return {"--grpc_tls_cert=" + dir_ + "/controlplane.crt", "--grpc_tls_key=" + dir_ + "/controlplane.key",
            "--grpc_tls_ca=" + dir_ + "/ca.pem"};
  }

  Subprocess* StartDataplane(const std::string& node, const std::vector<std::string>& tls_flags) {
    std::vector<std::string> argv = {RunfilePath("dataplane/dataplane"), "--controlplane=" + cp_address_,
                                     "--http_listen=127.0.0.1:0", "--https_listen=127.0.0.1:0",
                                     "--admin_listen=127.0.0.1:0", "--workers=1", "--node_id=" + node,
                                     "--state_dir=" + dir_ + "/state-" + node};
    argv.insert(argv.end(), tls_flags.begin(), tls_flags.end());
    auto dp = Subprocess::Start(argv, dir_ + "/" + node + ".log");
    EXPECT_TRUE(dp.ok());
    dps_.push_back(*std::move(dp));
    return dps_.back().get();
  }

  absl::StatusOr<admin::v1::ListNodesResponse> ListNodes(const GrpcTlsFiles& files) {
    auto creds = GrpcChannelCredentials(files);
    if (!creds.ok()) return creds.status();
    auto stub = admin::v1::Admin::NewStub(grpc::CreateChannel(cp_address_, *creds));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    admin::v1::ListNodesResponse resp;
    grpc::Status s = stub->ListNodes(&ctx, admin::v1::ListNodesRequest(), &resp);
    if (!s.ok()) return absl::UnavailableError(s.error_message());
    return resp;
  }

  std::string dir_;
  std::string cp_address_;
  std::unique_ptr<Subprocess> cp_;
  std::vector<std::unique_ptr<Subprocess>> dps_;
};

TEST_F(GrpcMtls, OnlyDataPlanesWithACertificateFromTheCaGetSnapshots) {
  std::vector<std::string> flags = CpTlsFlags();
  flags.push_back("--apps_file=" + dir_ + "/apps.json");
  auto cp = StartTestControlPlane("127.0.0.1:0", dir_ + "/cp", flags, dir_ + "/controlplane.log");
  ASSERT_TRUE(cp.ok()) << cp.status();
  cp_ = std::move(cp->process);
  cp_address_ = cp->grpc_address;

  const std::string ca = "--grpc_tls_ca=" + dir_ + "/ca.pem";
  Subprocess* good = StartDataplane(
      "dp-good", {"--grpc_tls_cert=" + dir_ + "/dp-good.crt", "--grpc_tls_key=" + dir_ + "/dp-good.key", ca});
  Subprocess* no_cert = StartDataplane("dp-nocert", {ca});
  Subprocess* rogue = StartDataplane(
      "dp-rogue", {"--grpc_tls_cert=" + dir_ + "/dp-rogue.crt", "--grpc_tls_key=" + dir_ + "/dp-rogue.key", ca});
  Subprocess* plain = StartDataplane("dp-plain", {});

  ASSERT_TRUE(good->WaitForLine("msg=\"config published\"", absl::Seconds(20)).ok()) << good->Output();
  for (Subprocess* refused : {no_cert, rogue, plain}) {
    // Two failed attempts: the refusal is steady, not a start-up race.
    auto line = refused->WaitForNthLine("msg=\"discovery stream ended\"", 2, absl::Seconds(20));
    ASSERT_TRUE(line.ok()) << refused->Output();
    EXPECT_TRUE(absl::StrContains(*line, "code=14")) << *line;
    EXPECT_EQ(refused->LineCount("config published"), 0) << refused->Output();
  }

  // The control plane knows exactly one node. The Admin API needs a client certificate too.
  auto nodes = ListNodes({dir_ + "/dp-good.crt", dir_ + "/dp-good.key", dir_ + "/ca.pem"});
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  ASSERT_EQ(nodes->nodes_size(), 1) << nodes->DebugString();
  EXPECT_EQ(nodes->nodes(0).node_id(), "dp-good");
  EXPECT_TRUE(nodes->nodes(0).connected());
  EXPECT_FALSE(ListNodes({"", "", dir_ + "/ca.pem"}).ok());
  EXPECT_FALSE(ListNodes({}).ok());  // plaintext
  // edgerouterctl takes its client certificate from the environment.
  const std::string ctl = absl::StrCat(RunfilePath("cli/edgerouterctl"), " --controlplane=", cp_address_, " nodes");
  std::string out = Shell(absl::StrCat("EDGEROUTER_GRPC_TLS_CERT=", dir_, "/dp-good.crt EDGEROUTER_GRPC_TLS_KEY=", dir_,
                                       "/dp-good.key EDGEROUTER_GRPC_TLS_CA=", dir_, "/ca.pem ", ctl));
  EXPECT_TRUE(absl::StrContains(out, "dp-good")) << out;
  EXPECT_FALSE(absl::StrContains(out, "dp-rogue")) << out;
  EXPECT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
  out = Shell(ctl);
  EXPECT_FALSE(absl::StrContains(out, "EXIT=0")) << out;
}

TEST_F(GrpcMtls, NonLoopbackListenersNeedMutualTls) {
  const std::string cp = RunfilePath("controlplane/controlplane");
  const std::string common = absl::StrCat(" --http_listen=127.0.0.1:0 --data_dir=", dir_, "/cp2");
  std::string out = Shell(absl::StrCat(cp, " --grpc_listen=0.0.0.0:0", common));
  EXPECT_TRUE(absl::StrContains(out, "refusing plaintext gRPC on non-loopback")) << out;
  EXPECT_TRUE(absl::StrContains(out, "EXIT=2")) << out;
  out = Shell(absl::StrCat(cp, " --grpc_listen=0.0.0.0:0", common, " --grpc_tls_cert=", dir_,
                           "/controlplane.crt --grpc_tls_key=", dir_, "/controlplane.key"));
  EXPECT_TRUE(absl::StrContains(out, "refusing TLS without client certificates")) << out;
  EXPECT_TRUE(absl::StrContains(out, "EXIT=2")) << out;
  // Half a configuration is an error, not a silent fallback to plaintext.
  out = Shell(absl::StrCat(RunfilePath("dataplane/dataplane"), " --http_listen=127.0.0.1:0 --https_listen=127.0.0.1:0 ",
                           "--admin_listen=127.0.0.1:0 --grpc_tls_cert=", dir_, "/dp-good.crt"));
  EXPECT_TRUE(absl::StrContains(out, "--grpc_tls_ca is required")) << out;
  EXPECT_TRUE(absl::StrContains(out, "EXIT=1")) << out;
}

}  // namespace
}  // namespace edgerouter::testing
