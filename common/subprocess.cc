#include "common/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace edgerouter {

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(std::vector<std::string> argv,
                                                              std::string log_path) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    // Signals blocked by the parent's threads must not stay blocked in the child.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(fds[1]);
  std::unique_ptr<Subprocess> p(new Subprocess());
  p->pid_ = pid;
  p->log_path_ = std::move(log_path);
  Subprocess* raw = p.get();
  p->reader_ = std::thread([raw, fd = fds[0]] { raw->ReadLoop(fd); });
  return p;
}

Subprocess::~Subprocess() {
  if (!reaped_) Signal(SIGKILL);
  if (reader_.joinable()) reader_.join();
}

void Subprocess::ReadLoop(int fd) {
  std::ofstream log;
  if (!log_path_.empty()) log.open(log_path_, std::ios::app);
  std::string partial;
  char buf[4096];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(buf, n);
    size_t nl;
    while ((nl = partial.find('\n')) != std::string::npos) {
      std::string line = partial.substr(0, nl);
      partial.erase(0, nl + 1);
      if (log.is_open()) log << line << "\n" << std::flush;
      absl::MutexLock lock(&mu_);
      lines_.push_back(std::move(line));
    }
  }
  close(fd);
  absl::MutexLock lock(&mu_);
  if (!partial.empty()) lines_.push_back(partial);
  eof_ = true;
}

absl::StatusOr<std::string> Subprocess::WaitForNthLine(const std::string& needle, int n,
                                                       absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  size_t checked = 0;
  int found = 0;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    for (; checked < lines_.size(); ++checked) {
      if (lines_[checked].find(needle) != std::string::npos && ++found == n) return lines_[checked];
    }
    if (eof_) {
      return absl::FailedPreconditionError(absl::StrCat(
          "process exited before printing \"", needle, "\"; output:\n", absl::StrJoin(lines_, "\n")));
    }
    const size_t seen = lines_.size();
    struct Arg { Subprocess* self; size_t seen; } arg{this, seen};
    if (!mu_.AwaitWithDeadline(absl::Condition(
                                   +[](Arg* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                     return a->self->lines_.size() > a->seen || a->self->eof_;
                                   },
                                   &arg),
                               deadline)) {
      return absl::DeadlineExceededError(absl::StrCat("no line with \"", needle, "\" within ",
                                                      absl::FormatDuration(timeout)));
    }
  }
}

int Subprocess::Signal(int signal) {
  if (reaped_) return status_;
  kill(pid_, signal);
  waitpid(pid_, &status_, 0);
  reaped_ = true;
  return status_;
}

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  if (reaped_) return status_;
  // Wait for the output pipe to close (the child exited), then reap without blocking forever.
  {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(&eof_), timeout)) {
      return absl::DeadlineExceededError("process still running");
    }
  }
  waitpid(pid_, &status_, 0);
  reaped_ = true;
  return status_;
}

std::string Subprocess::Output() {
  absl::MutexLock lock(&mu_);
  return absl::StrJoin(lines_, "\n");
}

int Subprocess::LineCount(const std::string& needle) {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const std::string& line : lines_) n += line.find(needle) != std::string::npos;
  return n;
}

std::string LogField(const std::string& line, const std::string& key) {
  const std::string prefix = " " + key + "=";
  size_t start = line.find(prefix);
  if (start == std::string::npos) return "";
  start += prefix.size();
  size_t end = line.find(' ', start);
  return line.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace edgerouter
