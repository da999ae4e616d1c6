#include "testenv/dynamodb/dynalite.h"

#include <signal.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/test_util.h"

namespace edgerouter::testing {

absl::StatusOr<std::string> InstallDynalite() {
  static std::string* cached = nullptr;
  if (cached != nullptr) return *cached;
  auto p = Subprocess::Start({"/bin/bash", RunfilePath("testenv/dynamodb/install.sh")});
  if (!p.ok()) return p.status();
  absl::StatusOr<int> status = (*p)->Wait(absl::Minutes(5));
  if (!status.ok() || *status != 0) {
    return absl::UnavailableError(absl::StrCat("installing dynalite failed:\n", (*p)->Output()));
  }
  std::string out = (*p)->Output();
  absl::string_view dir = absl::StripAsciiWhitespace(out);
  dir = dir.substr(dir.rfind('\n') + 1);  // the last line; npm's own output comes first
  cached = new std::string(dir);
  return *cached;
}

std::string Dynalite::endpoint() const { return absl::StrCat("http://127.0.0.1:", port_); }

absl::StatusOr<std::unique_ptr<Dynalite>> Dynalite::Start() {
  absl::StatusOr<std::string> dir = InstallDynalite();
  if (!dir.ok()) return dir.status();
  std::unique_ptr<Dynalite> d(new Dynalite());
  d->port_ = PickFreeLoopbackPort();
  // Node is the system binary (Debian's nodejs 20), outside the Bazel sandbox's runfiles.
  auto p = Subprocess::Start({"/usr/bin/setsid", "/usr/bin/node", *dir + "/node_modules/dynalite/cli.js", "--port",
                              absl::StrCat(d->port_), "--host", "127.0.0.1"});
  if (!p.ok()) return p.status();
  d->process_ = *std::move(p);
  absl::StatusOr<std::string> ready = d->process_->WaitForLine("Dynalite listening", absl::Seconds(30));
  if (!ready.ok()) {
    return absl::UnavailableError(
        absl::StrCat("dynalite did not start: ", ready.status().message(), "\n", d->process_->Output()));
  }
  return d;
}

Dynalite::~Dynalite() {
  if (process_ == nullptr) return;
  const pid_t pid = process_->pid();
  // setsid made dynalite its session and group leader: -pid is exactly what we started.
  kill(-pid, SIGTERM);
  if (!process_->Wait(absl::Seconds(10)).ok()) {
    kill(-pid, SIGKILL);  // the leader is not reaped yet, so the group id is still ours
    process_->Signal(SIGKILL);
  }
}

}  // namespace edgerouter::testing
