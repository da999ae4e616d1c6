// End to end: a real control plane, the real edgerouterctl, keys and certificates made by the
// openssl and ssh-keygen tools. `cert import` must put only ciphertext into the stream and the
// snapshot, and that ciphertext must decrypt (with the KEK) to the original key. An expired
// certificate stays in the snapshot and is reported in the log, /metrics and `cert ls`.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/certbus/cert_info.h"
#include "common/certbus/certbus.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "controlplane/test/test_controlplane.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter {
namespace {

using testing::ReadFileOrDie;
using testing::RunfilePath;

struct Result {
  int status = -1;  // wait status; 0 = exit 0
  std::string output;
};

Result RunCommand(std::vector<std::string> argv) {
  Result r;
  auto p = Subprocess::Start(std::move(argv));
  if (!p.ok()) return r;
  absl::StatusOr<int> status = (*p)->Wait(absl::Seconds(60));
  r.status = status.ok() ? *status : -1;
  r.output = (*p)->Output();
  return r;
}

Result Sh(const std::string& command) { return RunCommand({"/bin/sh", "-c", command}); }

class CertE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Loopback only: no proxy may sit between the CLI and the control plane.
    for (const char* v : {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "grpc_proxy",
                          "all_proxy", "ALL_PROXY", "no_proxy"}) {
      unsetenv(v);
    }
    char tmpl[] = "/tmp/er-cert-e2e-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Result keys = Sh(absl::StrCat(
        "cd ", dir_, " && openssl genrsa -traditional -out kek.pem 2048 2>&1",
        " && chmod 600 kek.pem && ssh-keygen -y -f kek.pem > kek.pub",
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out fullchain.pem",
        " -days 90 -subj /CN=example.test",
        " -addext 'subjectAltName=DNS:*.example.test,DNS:example.test' 2>&1"));
    ASSERT_EQ(keys.status, 0) << keys.output;
    absl::StatusOr<testing::TestControlPlane> cp =
        testing::StartTestControlPlane("127.0.0.1:0", dir_ + "/data", {}, dir_ + "/cp.log");
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = *std::move(cp);
  }
  void TearDown() override {
    cp_.process.reset();
    std::filesystem::remove_all(dir_);
  }

  Result Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {RunfilePath("cli/edgerouterctl"),
                               "--controlplane=" + cp_.grpc_address});
    return RunCommand(std::move(args));
  }

  admin::v1::GetSnapshotResponse Snapshot() {
    auto stub = admin::v1::Admin::NewStub(
        grpc::CreateChannel(cp_.grpc_address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    admin::v1::GetSnapshotRequest request;
    request.set_include_secrets(true);  // the key ciphertext is checked below
    admin::v1::GetSnapshotResponse response;
    grpc::Status s = stub->GetSnapshot(&context, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  std::string dir_;
  testing::TestControlPlane cp_;
};

TEST_F(CertE2eTest, ImportPublishesOnlyCiphertextThatDecryptsToTheKey) {
  const std::string key_pem = ReadFileOrDie(dir_ + "/key.pem");
  Result imported = Ctl({"cert", "import", "--cert", dir_ + "/fullchain.pem", "--key",
                         dir_ + "/key.pem", "--kek-public", dir_ + "/kek.pub"});
  ASSERT_EQ(imported.status, 0) << imported.output;
  EXPECT_TRUE(absl::StrContains(imported.output, "imported *.example.test")) << imported.output;

  absl::StatusOr<certbus::CertificateInfo> info =
      certbus::ReadCertificateInfo(ReadFileOrDie(dir_ + "/fullchain.pem"));
  ASSERT_TRUE(info.ok());
  const std::string expires = certbus::FormatRfc3339(info->not_after);
  // The import returns once a snapshot holds the certificate: no waiting needed here.
  Result ls = Ctl({"cert", "ls"});
  ASSERT_EQ(ls.status, 0) << ls.output;
  EXPECT_EQ(ls.output, absl::StrCat(
                           "ID              DOMAINS                      EXPIRES               STATUS\n",
                           "*.example.test  *.example.test,example.test  ", expires, "  ok"))
      << ls.output;

  admin::v1::GetSnapshotResponse snap = Snapshot();
  const snapshot::v1::Certificate* cert = nullptr;
  for (const auto& r : snap.snapshot().resources()) {
    if (r.name() == "cert/*.example.test") cert = &r.certificate();
  }
  ASSERT_NE(cert, nullptr) << snap.DebugString();
  EXPECT_EQ(cert->expires(), expires);
  EXPECT_EQ(cert->cert_pem_bundle(), ReadFileOrDie(dir_ + "/fullchain.pem"));

  // Not one line of the key's base64 body appears anywhere: the snapshot bytes, the JSON the
  // CLI prints, the event log on disk.
  std::vector<std::string> key_lines;
  for (absl::string_view line : absl::StrSplit(key_pem, '\n')) {
    if (line.size() >= 40 && !absl::StartsWith(line, "-----")) key_lines.emplace_back(line);
  }
  ASSERT_GT(key_lines.size(), 10u);
  std::string on_disk;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_ + "/data")) {
    if (e.is_regular_file()) on_disk += ReadFileOrDie(e.path().string());
  }
  const std::string json = Ctl({"snapshot", "show", "--json"}).output;
  for (const std::string& where : {snap.snapshot().SerializeAsString(), json, on_disk}) {
    EXPECT_FALSE(absl::StrContains(where, "PRIVATE KEY"));
    for (const std::string& line : key_lines) ASSERT_FALSE(absl::StrContains(where, line));
  }
  EXPECT_TRUE(absl::StrContains(on_disk, "CertificateObtained"));

  absl::StatusOr<certbus::Kek> kek = certbus::LoadKekFromPemFile(dir_ + "/kek.pem");
  ASSERT_TRUE(kek.ok()) << kek.status();
  EXPECT_EQ(cert->private_key_dek_fingerprint(), kek->fingerprint());
  absl::StatusOr<std::string> key = certbus::DecryptPrivateKey(
      *kek, cert->private_key_dek_fingerprint(), cert->private_key_ciphertext());
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, key_pem);
  EXPECT_TRUE(certbus::VerifyKeyMatchesCertificate(cert->cert_pem_bundle(), *key).ok());

  // Re-importing the renewed certificate (same names) replaces it under the same id.
  ASSERT_EQ(Ctl({"cert", "import", "--cert", dir_ + "/fullchain.pem", "--key", dir_ + "/key.pem",
                 "--kek-public", dir_ + "/kek.pub", "--id", "custom"})
                .status,
            0);
  ls = Ctl({"cert", "ls"});
  EXPECT_TRUE(absl::StrContains(ls.output, "\ncustom ")) << ls.output;

  // A key that is not the certificate's is refused before anything is sent.
  ASSERT_EQ(Sh(absl::StrCat("openssl genrsa -out ", dir_, "/other.pem 2048 2>&1")).status, 0);
  Result wrong = Ctl({"cert", "import", "--cert", dir_ + "/fullchain.pem", "--key",
                      dir_ + "/other.pem", "--kek-public", dir_ + "/kek.pub", "--id", "wrong"});
  EXPECT_NE(wrong.status, 0);
  EXPECT_TRUE(absl::StrContains(wrong.output, "does not match")) << wrong.output;
  EXPECT_FALSE(absl::StrContains(Ctl({"cert", "ls"}).output, "wrong"));
}

TEST_F(CertE2eTest, ExpiredCertificateIsKeptAndReported) {
  const std::string line =
      "2020-04-16T11:32:15.000Z CertificateObtained    "
      R"({"Id":"old","Reason":"renewal","Domains":["old.example.test"],)"
      R"("Expires":"2020-05-16T11:32:15Z","CertPemBundle":"-----BEGIN CERTIFICATE-----\n",)"
      R"("PrivateKeyDekFingerprint":"SHA256:x","PrivateKeyCiphertext":"AAAA","ChallengeType":"dns-01"})";
  Result appended = Ctl({"stream", "append", "/t-1/certbus", line});
  ASSERT_EQ(appended.status, 0) << appended.output;
  absl::StatusOr<std::string> logged =
      cp_.process->WaitForLine("msg=\"certificate expired\" id=old", absl::Seconds(10));
  ASSERT_TRUE(logged.ok()) << logged.status();
  EXPECT_TRUE(absl::StrContains(*logged, "domains=old.example.test")) << *logged;

  Result ls = Ctl({"cert", "ls"});
  EXPECT_TRUE(absl::StrContains(ls.output, "old  old.example.test  2020-05-16T11:32:15Z  EXPIRED"))
      << ls.output;
  Result metrics = RunCommand({"/usr/bin/curl", "-sS", "http://" + cp_.http_address + "/metrics"});
  ASSERT_EQ(metrics.status, 0) << metrics.output;
  EXPECT_TRUE(absl::StrContains(metrics.output, "er_cp_certificates_expired 1")) << metrics.output;
  EXPECT_TRUE(absl::StrContains(
      metrics.output, "er_cp_certificate_expiry_timestamp_seconds{id=\"old\"} 1589628735"))
      << metrics.output;

  // Removed from the stream: gone from the snapshot, the listing and the metrics.
  appended = Ctl({"stream", "append", "/t-1/certbus", R"(2020-04-17T00:00:00.000Z CertificateRemoved    {"Id":"old"})"});
  ASSERT_EQ(appended.status, 0) << appended.output;
  for (absl::Time deadline = absl::Now() + absl::Seconds(10);; absl::SleepFor(absl::Milliseconds(20))) {
    ls = Ctl({"cert", "ls"});
    if (!absl::StrContains(ls.output, "old.example.test") || absl::Now() > deadline) break;
  }
  EXPECT_FALSE(absl::StrContains(ls.output, "old.example.test")) << ls.output;
  metrics = RunCommand({"/usr/bin/curl", "-sS", "http://" + cp_.http_address + "/metrics"});
  EXPECT_TRUE(absl::StrContains(metrics.output, "er_cp_certificates_expired 0")) << metrics.output;
  EXPECT_FALSE(absl::StrContains(metrics.output, "id=\"old\"")) << metrics.output;
}

}  // namespace
}  // namespace edgerouter
