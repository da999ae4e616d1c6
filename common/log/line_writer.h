// Lines leave the calling thread through one writer thread. Callers append to a bounded queue
// under a mutex (a copy, no syscall); the writer does the blocking writes. When the target
// cannot keep up (a full disk, a pipe nobody reads) whole submissions are dropped and counted,
// and callers never wait. The process log (log.h) and the data plane's access log
// (dataplane/proxy/access_log.h) write through it.
#ifndef EDGEROUTER_COMMON_LOG_LINE_WRITER_H_
#define EDGEROUTER_COMMON_LOG_LINE_WRITER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace edgerouter::log {

class LineWriter {
 public:
  // `target`: "stdout", "stderr" or a file path (opened for append, created 0640; a FIFO works).
  static absl::StatusOr<std::unique_ptr<LineWriter>> Open(const std::string& target, size_t max_queued_bytes);
  // Writes to `fd`; closes it at the end only if `owns_fd`.
  LineWriter(int fd, size_t max_queued_bytes, bool owns_fd = false);
  // Writes what is queued, then stops (a target that blocks for ever blocks this too).
  ~LineWriter();

  // Takes the whole lines in `batch` (`lines` of them), leaving it empty (its capacity kept for
  // the caller's next batch); any thread. Returns false if they were dropped.
  bool Submit(std::string* batch, uint64_t lines);
  // One line (with its '\n').
  bool Submit(absl::string_view line);

  // Waits until everything submitted before the call is written (or `timeout` passes: a target
  // that blocks must not hold up an exit for ever). Returns whether it was.
  bool Flush(absl::Duration timeout = absl::Seconds(2));

  uint64_t dropped_lines() const { return dropped_lines_.load(std::memory_order_relaxed); }

 private:
  void Run();

  const int fd_;
  const size_t max_queued_bytes_;
  const bool owns_fd_;
  absl::Mutex mu_;
  absl::CondVar wake_;
  absl::CondVar written_cv_;
  std::string queue_ ABSL_GUARDED_BY(mu_);
  uint64_t submitted_ ABSL_GUARDED_BY(mu_) = 0;  // submissions accepted so far
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;    // of which written (or lost to a dead target)
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> dropped_lines_{0};
  std::thread thread_;
};

}  // namespace edgerouter::log

#endif  // EDGEROUTER_COMMON_LOG_LINE_WRITER_H_
