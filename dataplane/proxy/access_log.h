// The access log leaves the workers through one writer thread. A worker hands over the lines
// it gathered during a loop turn (a copy under a mutex, no syscall); the writer does the
// blocking writes. The queue is bounded: when the target cannot keep up (a full disk, a FIFO
// nobody reads) whole batches are dropped and counted, and requests never wait for the log.
#ifndef EDGEROUTER_DATAPLANE_PROXY_ACCESS_LOG_H_
#define EDGEROUTER_DATAPLANE_PROXY_ACCESS_LOG_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace edgerouter::proxy {

class AccessLogWriter {
 public:
  // `target`: "stdout" or a file path (opened for append, created 0640; a FIFO works too).
  static absl::StatusOr<std::unique_ptr<AccessLogWriter>> Open(const std::string& target, size_t max_queued_bytes);
  AccessLogWriter(int fd, size_t max_queued_bytes);
  // Writes what is queued, then stops (a target that blocks for ever blocks this too).
  ~AccessLogWriter();

  // Takes the whole lines in `batch` (`lines` of them), leaving it empty; any thread.
  void Submit(std::string* batch, uint64_t lines);
  uint64_t dropped_lines() const { return dropped_lines_.load(std::memory_order_relaxed); }

 private:
  void Run();

  const int fd_;
  const size_t max_queued_bytes_;
  absl::Mutex mu_;
  absl::CondVar wake_;
  std::string queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> dropped_lines_{0};
  std::thread thread_;
};

// Prometheus text of the writer's drop counter (0 without an access log).
std::string AccessLogMetrics(const AccessLogWriter* writer);

}  // namespace edgerouter::proxy

#endif  // EDGEROUTER_DATAPLANE_PROXY_ACCESS_LOG_H_
