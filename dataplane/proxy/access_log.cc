#include "dataplane/proxy/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace edgerouter::proxy {

absl::StatusOr<std::unique_ptr<AccessLogWriter>> AccessLogWriter::Open(const std::string& target,
                                                                        size_t max_queued_bytes) {
  int fd = 1;
  if (target != "stdout") {
    fd = open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return absl::UnavailableError(absl::StrCat("access log ", target, ": ", std::strerror(errno)));
  }
  return std::make_unique<AccessLogWriter>(fd, max_queued_bytes);
}

AccessLogWriter::AccessLogWriter(int fd, size_t max_queued_bytes)
    : fd_(fd), max_queued_bytes_(max_queued_bytes) {
  thread_ = std::thread([this] { Run(); });
}

AccessLogWriter::~AccessLogWriter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.Signal();
  }
  thread_.join();
  if (fd_ > 2) close(fd_);
}

void AccessLogWriter::Submit(std::string* batch, uint64_t lines) {
  if (batch->empty()) return;
  {
    absl::MutexLock lock(&mu_);
    if (queue_.size() + batch->size() > max_queued_bytes_) {
      dropped_lines_.fetch_add(lines, std::memory_order_relaxed);
    } else {
      queue_.append(*batch);
      wake_.Signal();
    }
  }
  batch->clear();  // keeps its capacity for the worker's next turn
}

void AccessLogWriter::Run() {
  std::string writing;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      while (queue_.empty() && !stopping_) wake_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping, and everything is written
      writing.swap(queue_);
    }
    // One write per batch keeps lines whole (O_APPEND); a short write continues where it ended.
    size_t off = 0;
    while (off < writing.size()) {
      const ssize_t n = write(fd_, writing.data() + off, writing.size() - off);
      if (n > 0) {
        off += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        break;  // the target is gone (EPIPE, ENOSPC...): these lines are lost
      }
    }
    writing.clear();
  }
}

std::string AccessLogMetrics(const AccessLogWriter* writer) {
  return absl::StrCat(
      "# HELP er_dp_access_log_dropped_lines_total Access-log lines dropped because the writer could not keep up.\n"
      "# TYPE er_dp_access_log_dropped_lines_total counter\n"
      "er_dp_access_log_dropped_lines_total ",
      writer != nullptr ? writer->dropped_lines() : 0, "\n");
}

}  // namespace edgerouter::proxy
