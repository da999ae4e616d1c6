#include "testenv/aws/aws_emulators.h"

#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/test_util.h"

namespace edgerouter::testing {
namespace {

// Node and npm are system binaries (Debian's nodejs 20), outside the Bazel sandbox's runfiles.
constexpr char kNode[] = "/usr/bin/node";
constexpr char kSetsid[] = "/usr/bin/setsid";
constexpr char kEnv[] = "/usr/bin/env";
constexpr absl::Duration kStartTimeout = absl::Seconds(60);

}  // namespace

absl::StatusOr<std::string> InstallAwsEmulators() {
  static std::string* cached = nullptr;
  if (cached != nullptr) return *cached;
  auto p = Subprocess::Start({"/bin/bash", RunfilePath("testenv/aws/install.sh")});
  if (!p.ok()) return p.status();
  // A first install downloads ~280 MB from the npm registry; later calls return at once.
  absl::StatusOr<int> status = (*p)->Wait(absl::Minutes(5));
  if (!status.ok() || *status != 0) {
    return absl::UnavailableError(absl::StrCat("installing the AWS emulators failed:\n", (*p)->Output()));
  }
  std::string out = (*p)->Output();
  absl::string_view dir = absl::StripAsciiWhitespace(out);
  dir = dir.substr(dir.rfind('\n') + 1);  // the last line; npm's own output comes first
  cached = new std::string(dir);
  return *cached;
}

std::string AwsEmulator::endpoint() const { return absl::StrCat("http://127.0.0.1:", port_); }

void AwsEmulator::ExportS3Environment() const {
  setenv("AWS_ENDPOINT_URL_S3", endpoint().c_str(), 1);
  setenv("AWS_ACCESS_KEY_ID", kS3rverKey, 1);
  setenv("AWS_SECRET_ACCESS_KEY", kS3rverSecret, 1);
  unsetenv("AWS_SESSION_TOKEN");
}

absl::StatusOr<std::unique_ptr<AwsEmulator>> AwsEmulator::StartS3(const std::string& data_dir,
                                                                  const std::vector<std::string>& buckets) {
  absl::StatusOr<std::string> dir = InstallAwsEmulators();
  if (!dir.ok()) return dir.status();
  std::filesystem::create_directories(data_dir);
  std::unique_ptr<AwsEmulator> e(new AwsEmulator());
  e->port_ = PickFreeLoopbackPort();
  // The package has no bin/; its CLI module is driven directly (test-environment.md).
  std::vector<std::string> argv = {
      kSetsid, kEnv, "NODE_PATH=" + *dir + "/node_modules", kNode, "-e",
      "require('@20minutes/s3rver/lib/cli').parseAsync(process.argv.slice(1),{from:'user'})", "--", "-d", data_dir,
      "-a", "127.0.0.1", "-p", absl::StrCat(e->port_), "--silent", "--no-vhost-buckets"};
  for (const std::string& bucket : buckets) {
    argv.push_back("--configure-bucket");
    argv.push_back(bucket);
  }
  auto p = Subprocess::Start(argv);
  if (!p.ok()) return p.status();
  e->process_ = *std::move(p);
  e->stop_signal_ = SIGTERM;
  absl::StatusOr<std::string> ready = e->process_->WaitForLine("S3rver listening on", kStartTimeout);
  if (!ready.ok()) {
    return absl::UnavailableError(absl::StrCat("s3rver did not start: ", ready.status().message(), "\n",
                                               e->process_->Output()));
  }
  return e;
}

absl::StatusOr<std::unique_ptr<AwsEmulator>> AwsEmulator::StartLambda(const std::string& work_dir) {
  absl::StatusOr<std::string> dir = InstallAwsEmulators();
  if (!dir.ok()) return dir.status();
  std::filesystem::create_directories(work_dir);
  for (const char* f : {"serverless.yml", "handler.js"}) {
    std::filesystem::copy_file(RunfilePath(absl::StrCat("testenv/aws/lambda/", f)), work_dir + "/" + f,
                               std::filesystem::copy_options::overwrite_existing);
  }
  std::error_code ignored;
  std::filesystem::create_directory_symlink(*dir + "/node_modules", work_dir + "/node_modules", ignored);
  std::unique_ptr<AwsEmulator> e(new AwsEmulator());
  e->port_ = PickFreeLoopbackPort();
  const int http_port = PickFreeLoopbackPort();
  // serverless resolves the service from the working directory: `--config` takes a file name
  // relative to it, so cd there through bash.
  auto p = Subprocess::Start(
      {kSetsid, kEnv, absl::StrCat("ER_LAMBDA_PORT=", e->port_), absl::StrCat("ER_HTTP_PORT=", http_port),
       "SLS_TELEMETRY_DISABLED=1", "SLS_NOTIFICATIONS_MODE=off", "/bin/bash", "-c",
       "cd \"$0\" && exec /usr/bin/node node_modules/serverless/bin/serverless.js offline", work_dir});
  if (!p.ok()) return p.status();
  e->process_ = *std::move(p);
  e->stop_signal_ = SIGINT;  // serverless-offline's documented way to stop
  absl::StatusOr<std::string> ready =
      e->process_->WaitForLine("Offline [http for lambda] listening on", kStartTimeout);
  if (!ready.ok()) {
    return absl::UnavailableError(absl::StrCat("serverless-offline did not start: ", ready.status().message(),
                                               "\n", e->process_->Output()));
  }
  return e;
}

void AwsEmulator::StopGroup() {
  if (process_ == nullptr) return;
  const pid_t pid = process_->pid();
  // setsid made the emulator its session and group leader: -pid is exactly what we started.
  kill(-pid, stop_signal_);
  // Wait() returns once the output pipe closed, i.e. every process of the group is gone.
  if (!process_->Wait(absl::Seconds(10)).ok()) {
    kill(-pid, SIGKILL);  // the leader is not reaped yet, so the group id is still ours
    process_->Signal(SIGKILL);
  }
  process_.reset();
}

AwsEmulator::~AwsEmulator() { StopGroup(); }

}  // namespace edgerouter::testing
