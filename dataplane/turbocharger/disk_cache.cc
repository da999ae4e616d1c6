#include "dataplane/turbocharger/disk_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace edgerouter::turbocharger {
namespace {

constexpr absl::string_view kTempPrefix = ".tmp-";

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat("turbocharger cache: ", what, " ", path, ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, absl::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

std::string LayoutDir(Layout layout) { return layout == Layout::kGzipped ? "gzipped" : "uncompressed"; }

absl::StatusOr<std::unique_ptr<DiskCache>> DiskCache::Open(std::string dir, uint64_t max_bytes) {
  std::unique_ptr<DiskCache> cache(new DiskCache(std::move(dir), max_bytes));
  struct Found {
    int64_t mtime_ns;
    std::string name;
    uint64_t size;
  };
  std::vector<Found> found;
  if (::mkdir(cache->dir_.c_str(), 0755) != 0 && errno != EEXIST) return Errno("mkdir", cache->dir_);
  for (Layout layout : {Layout::kGzipped, Layout::kUncompressed}) {
    const std::string sub = LayoutDir(layout);
    const std::string path = cache->PathOf(sub);
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return Errno("mkdir", path);
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return Errno("opendir", path);
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      const std::string file = path + "/" + name;
      if (absl::StartsWith(name, kTempPrefix)) {
        ::unlink(file.c_str());  // a write that never finished
        continue;
      }
      struct stat st;
      if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      found.push_back({static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                       absl::StrCat(sub, "/", name), static_cast<uint64_t>(st.st_size)});
    }
    ::closedir(d);
  }
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return std::tie(a.mtime_ns, a.name) < std::tie(b.mtime_ns, b.name); });
  absl::MutexLock lock(&cache->mu_);
  for (Found& f : found) {
    const uint64_t seq = cache->next_seq_++;
    cache->entries_[f.name] = Entry{f.size, seq};
    cache->by_recency_[seq] = f.name;
    cache->bytes_ += f.size;
  }
  cache->PruneLocked("");
  return cache;
}

void DiskCache::TouchLocked(const std::string& name, Entry& e) {
  by_recency_.erase(e.seq);
  e.seq = next_seq_++;
  by_recency_[e.seq] = name;
  // The mtime carries the order across restarts (UTIME_NOW: "now", one syscall, no read).
  struct timespec times[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  ::utimensat(AT_FDCWD, PathOf(name).c_str(), times, 0);
}

std::optional<std::string> DiskCache::Read(Layout layout, absl::string_view id) {
  const std::string name = absl::StrCat(LayoutDir(layout), "/", id);
  {
    absl::MutexLock lock(&mu_);
    if (!entries_.contains(name)) return std::nullopt;
  }
  const std::string path = PathOf(name);
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  bool ok = fd >= 0;
  if (ok) {
    struct stat st;
    if (::fstat(fd, &st) == 0) out.reserve(static_cast<size_t>(st.st_size));
    char buf[64 << 10];
    while (true) {
      const ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) ok = false;
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
  }
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(name);
  if (!ok) {
    // Deleted behind our back (or pruned meanwhile): forget it, the caller downloads again.
    if (it != entries_.end()) {
      by_recency_.erase(it->second.seq);
      bytes_ -= it->second.size;
      entries_.erase(it);
    }
    return std::nullopt;
  }
  if (it != entries_.end()) TouchLocked(name, it->second);
  return out;
}

absl::Status DiskCache::Write(Layout layout, absl::string_view id, absl::string_view bytes) {
  const std::string name = absl::StrCat(LayoutDir(layout), "/", id);
  uint64_t counter;
  {
    absl::MutexLock lock(&mu_);
    if (entries_.contains(name)) return absl::OkStatus();
    counter = temp_counter_++;
  }
  const std::string final_path = PathOf(name);
  const std::string temp =
      absl::StrCat(dir_, "/", LayoutDir(layout), "/", kTempPrefix, id, "-", ::getpid(), "-", counter);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", temp);
  absl::Status s = WriteAll(fd, bytes, temp);
  if (s.ok() && ::fsync(fd) != 0) s = Errno("fsync", temp);
  ::close(fd);
  if (s.ok() && ::rename(temp.c_str(), final_path.c_str()) != 0) s = Errno("rename", temp);
  if (!s.ok()) {
    ::unlink(temp.c_str());
    return s;
  }
  absl::MutexLock lock(&mu_);
  if (!entries_.contains(name)) {
    const uint64_t seq = next_seq_++;
    entries_[name] = Entry{bytes.size(), seq};
    by_recency_[seq] = name;
    bytes_ += bytes.size();
  }
  PruneLocked(name);
  return absl::OkStatus();
}

void DiskCache::PruneLocked(const std::string& keep) {
  if (max_bytes_ == 0) return;
  auto it = by_recency_.begin();
  while (bytes_ > max_bytes_ && it != by_recency_.end()) {
    if (it->second == keep) {
      ++it;
      continue;
    }
    auto e = entries_.find(it->second);
    ::unlink(PathOf(it->second).c_str());
    bytes_ -= e->second.size;
    entries_.erase(e);
    it = by_recency_.erase(it);
    ++evictions_;
  }
}

uint64_t DiskCache::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}
size_t DiskCache::entries() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}
uint64_t DiskCache::evictions() const {
  absl::MutexLock lock(&mu_);
  return evictions_;
}

}  // namespace edgerouter::turbocharger
