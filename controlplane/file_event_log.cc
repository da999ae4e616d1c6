#include "controlplane/file_event_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace edgerouter::controlplane {
namespace {

constexpr uint32_t kMagic = 0x314C5245;  // "ERL1" little-endian
constexpr size_t kHeaderSize = 12;
constexpr uint32_t kMaxRecordSize = 64 << 20;

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

void PutU32(char* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t GetU32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}

uint32_t Crc(const std::string& data, size_t offset, size_t len) {
  return crc32(0, reinterpret_cast<const Bytef*>(data.data() + offset), len);
}

bool ReadWholeFile(int fd, std::string* out) {
  out->clear();
  char buf[1 << 16];
  off_t offset = 0;
  while (true) {
    ssize_t n = pread(fd, buf, sizeof(buf), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) return true;
    out->append(buf, n);
    offset += n;
  }
}

bool WriteAll(int fd, const std::string& data, off_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = pwrite(fd, data.data() + done, data.size() - done, offset + done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += n;
  }
  return true;
}

// A record that parses at `offset` of `data`: its payload, or nullopt.
std::optional<events::v1::LogRecord> RecordAt(const std::string& data, size_t offset, size_t* end) {
  if (data.size() - offset < kHeaderSize) return std::nullopt;
  if (GetU32(&data[offset]) != kMagic) return std::nullopt;
  const uint32_t len = GetU32(&data[offset + 4]);
  if (len > kMaxRecordSize || data.size() - offset - kHeaderSize < len) return std::nullopt;
  if (GetU32(&data[offset + 8]) != Crc(data, offset + kHeaderSize, len)) return std::nullopt;
  events::v1::LogRecord record;
  if (!record.ParseFromArray(data.data() + offset + kHeaderSize, static_cast<int>(len))) {
    return std::nullopt;
  }
  *end = offset + kHeaderSize + len;
  return record;
}

bool AnyValidRecordAfter(const std::string& data, size_t offset) {
  char magic[4];
  PutU32(magic, kMagic);
  for (size_t pos = data.find(std::string(magic, 4), offset + 1); pos != std::string::npos;
       pos = data.find(std::string(magic, 4), pos + 1)) {
    size_t end;
    if (RecordAt(data, pos, &end).has_value()) return true;
  }
  return false;
}

absl::Status SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", dir);
  int rc = fsync(fd);
  close(fd);
  if (rc != 0) return ErrnoError("fsync", dir);
  return absl::OkStatus();
}

}  // namespace

struct FileEventLog::Watcher {
  EntryCallback callback;
};

struct FileEventLog::StreamFile {
  std::string name;
  std::string path;
  absl::Mutex mu;
  int fd ABSL_GUARDED_BY(mu) = -1;
  uint64_t size ABSL_GUARDED_BY(mu) = 0;
  // offsets[v - 1] = file offset of version v's record.
  std::vector<uint64_t> offsets ABSL_GUARDED_BY(mu);
  std::vector<std::unique_ptr<Watcher>> watchers ABSL_GUARDED_BY(mu);
};

class FileEventLog::Handle : public WatchHandle {
 public:
  Handle(FileEventLog* log, StreamFile* file, Watcher* watcher)
      : log_(log), file_(file), watcher_(watcher) {}
  ~Handle() override { log_->RemoveWatcher(file_, watcher_); }

 private:
  FileEventLog* log_;
  StreamFile* file_;
  Watcher* watcher_;
};

absl::Status ValidateStreamName(absl::string_view stream) {
  if (stream.size() < 2 || stream[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("stream \"", stream, "\": must start with /"));
  }
  for (absl::string_view segment : absl::StrSplit(stream.substr(1), '/')) {
    if (segment.empty() || segment == "." || segment == "..") {
      return absl::InvalidArgumentError(absl::StrCat("stream \"", stream, "\": bad path segment"));
    }
    for (char c : segment) {
      if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
        return absl::InvalidArgumentError(
            absl::StrCat("stream \"", stream, "\": character '", std::string(1, c), "' not allowed"));
      }
    }
  }
  return absl::OkStatus();
}

std::string StreamFileName(absl::string_view stream) {
  return absl::StrCat(absl::StrReplaceAll(stream, {{"%", "%25"}, {"/", "%2F"}}), ".log");
}

namespace {
std::string StreamFromFileName(absl::string_view file) {
  file.remove_suffix(4);  // ".log"
  return absl::StrReplaceAll(file, {{"%2F", "/"}, {"%25", "%"}});
}
}  // namespace

std::string FileEventLog::PathOf(absl::string_view stream) const {
  return absl::StrCat(dir_, "/streams/", StreamFileName(stream));
}

absl::StatusOr<std::unique_ptr<FileEventLog>> FileEventLog::Open(
    const std::string& data_dir, std::vector<std::string>* recovery_notes) {
  const std::string streams_dir = data_dir + "/streams";
  for (const std::string& d : {data_dir, streams_dir}) {
    if (mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError("mkdir", d);
  }
  std::unique_ptr<FileEventLog> log(new FileEventLog(data_dir));
  DIR* dir = opendir(streams_dir.c_str());
  if (dir == nullptr) return ErrnoError("opendir", streams_dir);
  std::vector<std::string> files;
  while (dirent* ent = readdir(dir)) {
    if (absl::EndsWith(ent->d_name, ".log")) files.push_back(ent->d_name);
  }
  closedir(dir);
  std::sort(files.begin(), files.end());

  for (const std::string& file_name : files) {
    auto file = std::make_unique<StreamFile>();
    file->name = StreamFromFileName(file_name);
    file->path = streams_dir + "/" + file_name;
    // Lock order everywhere: the map's mu_, then a stream's mu.
    absl::MutexLock map_lock(&log->mu_);
    absl::MutexLock lock(&file->mu);
    file->fd = open(file->path.c_str(), O_RDWR | O_CLOEXEC);
    if (file->fd < 0) return ErrnoError("open", file->path);
    std::string data;
    if (!ReadWholeFile(file->fd, &data)) return ErrnoError("read", file->path);
    size_t offset = 0;
    while (offset < data.size()) {
      size_t end = 0;
      std::optional<events::v1::LogRecord> record = RecordAt(data, offset, &end);
      if (!record.has_value()) {
        if (AnyValidRecordAfter(data, offset)) {
          return absl::DataLossError(absl::StrCat(
              "stream ", file->name, ": corrupt record at offset ", offset, " of ", file->path,
              " (after version ", file->offsets.size(), ") with valid records after it"));
        }
        // Torn tail: the crash happened mid-append; that append was never acknowledged.
        if (ftruncate(file->fd, offset) != 0 || fdatasync(file->fd) != 0) {
          return ErrnoError("truncate", file->path);
        }
        recovery_notes->push_back(absl::StrCat(
            "stream ", file->name, ": truncated torn tail of ", data.size() - offset,
            " bytes at offset ", offset, "; last good version ", file->offsets.size()));
        data.resize(offset);
        break;
      }
      if (record->version() != file->offsets.size() + 1 || record->stream() != file->name) {
        return absl::DataLossError(absl::StrCat(
            "stream ", file->name, ": record at offset ", offset, " holds ", record->stream(), "@",
            record->version(), ", want version ", file->offsets.size() + 1));
      }
      file->offsets.push_back(offset);
      offset = end;
    }
    file->size = data.size();
    log->streams_[file->name] = std::move(file);
  }
  return log;
}

FileEventLog::FileEventLog(std::string dir) : dir_(std::move(dir)) {}

FileEventLog::~FileEventLog() {
  absl::MutexLock lock(&mu_);
  for (auto& [name, file] : streams_) {
    absl::MutexLock file_lock(&file->mu);
    if (file->fd >= 0) close(file->fd);
  }
}

absl::StatusOr<FileEventLog::StreamFile*> FileEventLog::GetStream(absl::string_view stream,
                                                                  bool create) {
  if (absl::Status s = ValidateStreamName(stream); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(stream);
  if (it != streams_.end()) return it->second.get();
  if (!create) return nullptr;
  auto file = std::make_unique<StreamFile>();
  file->name = std::string(stream);
  file->path = PathOf(stream);
  {
    absl::MutexLock file_lock(&file->mu);
    file->fd = open(file->path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (file->fd < 0) return ErrnoError("create", file->path);
  }
  // The new directory entry must be durable before the first append is acknowledged.
  if (absl::Status s = SyncDir(dir_ + "/streams"); !s.ok()) return s;
  StreamFile* raw = file.get();
  streams_[file->name] = std::move(file);
  return raw;
}

absl::StatusOr<uint64_t> FileEventLog::Append(absl::string_view stream,
                                              std::vector<events::v1::Event> batch,
                                              std::optional<uint64_t> expected_version) {
  absl::StatusOr<StreamFile*> file_or = GetStream(stream, /*create=*/true);
  if (!file_or.ok()) return file_or.status();
  StreamFile* file = *file_or;
  LogEntry entry;
  std::vector<Watcher*> watchers;
  {
    absl::MutexLock lock(&file->mu);
    const uint64_t head = file->offsets.size();
    if (expected_version.has_value() && *expected_version != head) {
      return absl::AbortedError(absl::StrCat("version conflict on ", stream, ": expected version ",
                                             *expected_version, ", stream is at version ", head));
    }
    events::v1::LogRecord record;
    record.set_stream(std::string(stream));
    record.set_version(head + 1);
    for (events::v1::Event& e : batch) *record.add_events() = std::move(e);
    std::string payload;
    record.SerializeToString(&payload);
    if (payload.size() > kMaxRecordSize) {
      return absl::InvalidArgumentError(absl::StrCat("append to ", stream, ": batch of ",
                                                     payload.size(), " bytes is too large"));
    }
    std::string bytes(kHeaderSize, '\0');
    PutU32(&bytes[0], kMagic);
    PutU32(&bytes[4], static_cast<uint32_t>(payload.size()));
    PutU32(&bytes[8], crc32(0, reinterpret_cast<const Bytef*>(payload.data()), payload.size()));
    bytes += payload;
    if (!WriteAll(file->fd, bytes, file->size) || fdatasync(file->fd) != 0) {
      absl::Status error = ErrnoError("append to", file->path);
      // Never leave a partial record behind a failed append.
      if (ftruncate(file->fd, file->size) != 0) { /* reported by the open-time scan */ }
      return error;
    }
    file->offsets.push_back(file->size);
    file->size += bytes.size();
    entry.version = head + 1;
    for (events::v1::Event& e : *record.mutable_events()) entry.events.push_back(std::move(e));
    for (auto& w : file->watchers) w->callback(entry);
  }
  return entry.version;
}

absl::StatusOr<LogEntry> FileEventLog::ReadEntry(const StreamFile& file, uint64_t version)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const uint64_t offset = file.offsets[version - 1];
  const uint64_t end = version < file.offsets.size() ? file.offsets[version] : file.size;
  std::string data(end - offset, '\0');
  ssize_t n = pread(file.fd, data.data(), data.size(), offset);
  if (n != static_cast<ssize_t>(data.size())) return ErrnoError("read", file.path);
  size_t record_end;
  std::optional<events::v1::LogRecord> record = RecordAt(data, 0, &record_end);
  if (!record.has_value()) {
    return absl::DataLossError(absl::StrCat("stream ", file.name, "@", version, ": bad record"));
  }
  LogEntry entry;
  entry.version = version;
  for (events::v1::Event& e : *record->mutable_events()) entry.events.push_back(std::move(e));
  return entry;
}

absl::StatusOr<std::vector<LogEntry>> FileEventLog::ReadAfter(absl::string_view stream,
                                                              uint64_t after_version,
                                                              size_t max_entries) {
  absl::StatusOr<StreamFile*> file = GetStream(stream, /*create=*/false);
  if (!file.ok()) return file.status();
  std::vector<LogEntry> entries;
  if (*file == nullptr) return entries;
  absl::MutexLock lock(&(*file)->mu);
  for (uint64_t v = after_version + 1; v <= (*file)->offsets.size() && entries.size() < max_entries;
       ++v) {
    absl::StatusOr<LogEntry> entry = ReadEntry(**file, v);
    if (!entry.ok()) return entry.status();
    entries.push_back(*std::move(entry));
  }
  return entries;
}

uint64_t FileEventLog::Head(absl::string_view stream) {
  absl::StatusOr<StreamFile*> file = GetStream(stream, /*create=*/false);
  if (!file.ok() || *file == nullptr) return 0;
  absl::MutexLock lock(&(*file)->mu);
  return (*file)->offsets.size();
}

absl::StatusOr<std::unique_ptr<WatchHandle>> FileEventLog::Watch(absl::string_view stream,
                                                                 uint64_t after_version,
                                                                 EntryCallback on_entry) {
  // Creating the stream lets a watcher wait for a stream nobody has written yet.
  absl::StatusOr<StreamFile*> file_or = GetStream(stream, /*create=*/true);
  if (!file_or.ok()) return file_or.status();
  StreamFile* file = *file_or;
  auto watcher = std::make_unique<Watcher>();
  watcher->callback = std::move(on_entry);
  Watcher* raw = watcher.get();
  absl::MutexLock lock(&file->mu);
  // Backlog and registration under one lock: no append can slip in between.
  for (uint64_t v = after_version + 1; v <= file->offsets.size(); ++v) {
    absl::StatusOr<LogEntry> entry = ReadEntry(*file, v);
    if (!entry.ok()) return entry.status();
    raw->callback(*entry);
  }
  file->watchers.push_back(std::move(watcher));
  return std::unique_ptr<WatchHandle>(new Handle(this, file, raw));
}

void FileEventLog::RemoveWatcher(StreamFile* file, Watcher* watcher) {
  absl::MutexLock lock(&file->mu);
  auto& w = file->watchers;
  w.erase(std::remove_if(w.begin(), w.end(), [&](const auto& p) { return p.get() == watcher; }),
          w.end());
}

std::vector<std::string> FileEventLog::Streams() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [name, file] : streams_) names.push_back(name);
  return names;
}

}  // namespace edgerouter::controlplane
