// Runs a child process for tests and tools: stderr+stdout captured line by line, so callers can
// wait for a readiness line instead of sleeping; stopped by PID (never by name).
#ifndef EDGEROUTER_COMMON_SUBPROCESS_H_
#define EDGEROUTER_COMMON_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace edgerouter {

class Subprocess {
 public:
  // Starts `argv[0]` with `argv`. Output lines are kept and also appended to `log_path` if set.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(std::vector<std::string> argv,
                                                           std::string log_path = "");
  ~Subprocess();  // SIGKILLs the child if it still runs

  pid_t pid() const { return pid_; }
  // Waits for an output line containing `needle`; returns the line, or an error on timeout or
  // if the child exits first.
  absl::StatusOr<std::string> WaitForLine(const std::string& needle, absl::Duration timeout) {
    return WaitForNthLine(needle, 1, timeout);
  }
  // Waits until `n` output lines (counted from the start) contain `needle`; returns the n-th.
  absl::StatusOr<std::string> WaitForNthLine(const std::string& needle, int n, absl::Duration timeout);
  // Sends `signal` and reaps the child; returns its wait status.
  int Signal(int signal);
  // Reaps the child (blocking up to `timeout`); returns the wait status or an error.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  std::string Output();
  // How many output lines so far contain `needle`.
  int LineCount(const std::string& needle);

 private:
  Subprocess() = default;
  void ReadLoop(int fd);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string log_path_;
  std::thread reader_;
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
  bool eof_ ABSL_GUARDED_BY(mu_) = false;
};

// "key=value" field of a structured log line, e.g. LogField(line, "grpc").
std::string LogField(const std::string& line, const std::string& key);

}  // namespace edgerouter

#endif  // EDGEROUTER_COMMON_SUBPROCESS_H_
