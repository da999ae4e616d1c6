#include "common/log/line_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace edgerouter::log {

absl::StatusOr<std::unique_ptr<LineWriter>> LineWriter::Open(const std::string& target, size_t max_queued_bytes) {
  if (target == "stdout") return std::make_unique<LineWriter>(1, max_queued_bytes);
  if (target == "stderr") return std::make_unique<LineWriter>(2, max_queued_bytes);
  const int fd = open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return absl::UnavailableError(absl::StrCat(target, ": ", std::strerror(errno)));
  return std::make_unique<LineWriter>(fd, max_queued_bytes, /*owns_fd=*/true);
}

LineWriter::LineWriter(int fd, size_t max_queued_bytes, bool owns_fd)
    : fd_(fd), max_queued_bytes_(max_queued_bytes), owns_fd_(owns_fd) {
  thread_ = std::thread([this] { Run(); });
}

LineWriter::~LineWriter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.Signal();
  }
  thread_.join();
  if (owns_fd_) close(fd_);
}

bool LineWriter::Submit(std::string* batch, uint64_t lines) {
  if (batch->empty()) return true;
  bool taken;
  {
    absl::MutexLock lock(&mu_);
    taken = queue_.size() + batch->size() <= max_queued_bytes_;
    if (taken) {
      queue_.append(*batch);
      ++submitted_;
      wake_.Signal();
    }
  }
  if (!taken) dropped_lines_.fetch_add(lines, std::memory_order_relaxed);
  batch->clear();
  return taken;
}

bool LineWriter::Submit(absl::string_view line) {
  if (line.empty()) return true;
  {
    absl::MutexLock lock(&mu_);
    if (queue_.size() + line.size() <= max_queued_bytes_) {
      queue_.append(line.data(), line.size());
      ++submitted_;
      wake_.Signal();
      return true;
    }
  }
  dropped_lines_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool LineWriter::Flush(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const uint64_t target = submitted_;
  const absl::Time deadline = absl::Now() + timeout;
  while (written_ < target) {
    if (written_cv_.WaitWithDeadline(&mu_, deadline)) return written_ >= target;
  }
  return true;
}

void LineWriter::Run() {
  std::string writing;
  for (;;) {
    uint64_t upto;
    {
      absl::MutexLock lock(&mu_);
      while (queue_.empty() && !stopping_) wake_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping, and everything is written
      writing.swap(queue_);
      upto = submitted_;
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
    absl::MutexLock lock(&mu_);
    written_ = upto;
    written_cv_.SignalAll();
  }
}

}  // namespace edgerouter::log
