#include "dataplane/xds/snapshot_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace edgerouter::xds {
namespace {

constexpr char kBaseNonce[] = "base";

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("write", path);
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadAll(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no persisted snapshot at ", path));
    return ErrnoError("open", path);
  }
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status error = ErrnoError("read", path);
      close(fd);
      return error;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

absl::Status SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", dir);
  absl::Status synced = fsync(fd) == 0 ? absl::OkStatus() : ErrnoError("fsync", dir);
  close(fd);
  return synced;
}

// Write aside, make it durable, then rename: a crash leaves the old file or the new one.
absl::Status ReplaceFile(const std::string& dir, const std::string& path, absl::string_view bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("create ", dir, ": ", ec.message()));
  const std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("open", tmp);
  absl::Status written = WriteAll(fd, bytes, tmp);
  if (written.ok() && fsync(fd) != 0) written = ErrnoError("fsync", tmp);
  if (close(fd) != 0 && written.ok()) written = ErrnoError("close", tmp);
  if (!written.ok()) return written;
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("rename ", tmp, " to ", path, ": ", std::strerror(errno)));
  }
  return SyncDir(dir);  // the rename itself lives in the directory entry
}

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

uint32_t Crc(absl::string_view payload) {
  return static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(payload.data()), payload.size()));
}

std::string Frame(const std::string& payload) {
  std::string out;
  out.reserve(payload.size() + 8);
  PutU32(&out, static_cast<uint32_t>(payload.size()));
  PutU32(&out, Crc(payload));
  out += payload;
  return out;
}

// Damaged protobuf bytes can still parse, so a loaded base must also look like one we wrote.
absl::Status Validate(const snapshot::v1::Snapshot& s) {
  if (s.version().empty()) return absl::InvalidArgumentError("snapshot has no version");
  for (int i = 0; i < s.resources_size(); ++i) {
    const std::string& name = s.resources(i).name();
    if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("resource ", i, " has no name"));
    if (i > 0 && s.resources(i - 1).name() >= name) {
      return absl::InvalidArgumentError(absl::StrCat("resources not sorted by name at ", name));
    }
  }
  return absl::OkStatus();
}

}  // namespace

SnapshotStore::SnapshotStore(std::string dir, uint64_t min_compact_bytes)
    : dir_(std::move(dir)), min_compact_bytes_(min_compact_bytes) {}

SnapshotStore::~SnapshotStore() {
  if (journal_fd_ >= 0) close(journal_fd_);
}

absl::Status SnapshotStore::Load(std::string* version, ResourceMap* resources) {
  const std::string path = base_path();
  absl::StatusOr<std::string> bytes = ReadAll(path);
  if (!bytes.ok()) return bytes.status();
  snapshot::v1::Snapshot snap;
  if (!snap.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat(path, ": not a valid snapshot (", bytes->size(), " bytes)"));
  }
  if (absl::Status valid = Validate(snap); !valid.ok()) {
    return absl::DataLossError(absl::StrCat(path, ": ", valid.message()));
  }
  have_base_ = true;
  base_bytes_ = bytes->size();
  version_of_base_ = snap.version();
  ResourceMap map;
  for (snapshot::v1::Resource& r : *snap.mutable_resources()) {
    std::string name = r.name();
    map.Set(name, std::make_shared<const snapshot::v1::Resource>(std::move(r)));
  }
  std::string current = snap.version();

  // The journal: every good record after a header naming this base.
  journal_keep_ = -1;
  absl::StatusOr<std::string> journal = ReadAll(journal_path());
  if (journal.ok()) {
    size_t pos = 0;
    bool header = false;
    while (journal->size() - pos >= 8) {
      const uint32_t len = GetU32(journal->data() + pos);
      if (journal->size() - pos - 8 < len) break;  // torn tail
      const absl::string_view payload(journal->data() + pos + 8, len);
      discovery::v1::DiscoveryResponse record;
      if (Crc(payload) != GetU32(journal->data() + pos + 4) || !record.ParseFromArray(payload.data(), len)) break;
      if (!header) {
        if (record.nonce() != kBaseNonce || record.version_info() != snap.version()) break;  // an older base's
        header = true;
      } else {
        bool named = !record.version_info().empty();
        for (const snapshot::v1::Resource& r : record.resources()) named &= !r.name().empty();
        if (!named) break;
        for (const snapshot::v1::Resource& r : record.resources()) {
          map.Set(r.name(), std::make_shared<const snapshot::v1::Resource>(r));
        }
        for (const std::string& name : record.removed_resources()) map.Erase(name);
        current = record.version_info();
      }
      pos += 8 + len;
    }
    if (header) journal_keep_ = static_cast<int64_t>(pos);
  }
  *version = std::move(current);
  *resources = std::move(map);
  return absl::OkStatus();
}

absl::Status SnapshotStore::Record(const discovery::v1::DiscoveryResponse& response, const std::string& version,
                                   const ResourceMap& resources) {
  if (response.full_state() || !have_base_) {
    if (absl::Status s = WriteBase(version, resources); !s.ok()) return s;
    return ResetJournal(version);
  }
  if (journal_fd_ < 0) {
    if (journal_keep_ < 0) {
      // No journal extending this base (none yet, or an older base's).
      if (absl::Status s = ResetJournal(version_of_base_); !s.ok()) return s;
    } else {
      const std::string path = journal_path();
      journal_fd_ = open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (journal_fd_ < 0) return ErrnoError("open", path);
      // Cut a torn tail so the next record follows the last good one.
      if (ftruncate(journal_fd_, journal_keep_) != 0 || lseek(journal_fd_, journal_keep_, SEEK_SET) < 0) {
        return ErrnoError("truncate", path);
      }
      journal_bytes_ = static_cast<uint64_t>(journal_keep_);
    }
  }
  discovery::v1::DiscoveryResponse record;
  record.set_version_info(version);
  *record.mutable_resources() = response.resources();
  *record.mutable_removed_resources() = response.removed_resources();
  if (absl::Status s = Append(record.SerializeAsString()); !s.ok()) return s;
  if (journal_bytes_ > std::max<uint64_t>(base_bytes_, min_compact_bytes_)) {
    if (absl::Status s = WriteBase(version, resources); !s.ok()) return s;
    ++compactions_;
    return ResetJournal(version);
  }
  return absl::OkStatus();
}

absl::Status SnapshotStore::WriteBase(const std::string& version, const ResourceMap& resources) {
  std::string bytes;
  if (!ToSnapshot(version, resources).SerializeToString(&bytes)) {
    return absl::InternalError("cannot serialize snapshot");
  }
  if (absl::Status s = ReplaceFile(dir_, base_path(), bytes); !s.ok()) return s;
  have_base_ = true;
  base_bytes_ = bytes.size();
  version_of_base_ = version;
  return absl::OkStatus();
}

absl::Status SnapshotStore::ResetJournal(const std::string& base_version) {
  if (journal_fd_ >= 0) close(journal_fd_);
  journal_fd_ = -1;
  discovery::v1::DiscoveryResponse header;
  header.set_nonce(kBaseNonce);
  header.set_version_info(base_version);
  const std::string bytes = Frame(header.SerializeAsString());
  // Replaced atomically after the base: a crash in between leaves the old journal, whose header
  // names the old base, so it is ignored.
  if (absl::Status s = ReplaceFile(dir_, journal_path(), bytes); !s.ok()) return s;
  const std::string path = journal_path();
  journal_fd_ = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (journal_fd_ < 0) return ErrnoError("open", path);
  journal_bytes_ = bytes.size();
  journal_keep_ = static_cast<int64_t>(bytes.size());
  return absl::OkStatus();
}

absl::Status SnapshotStore::Append(const std::string& payload) {
  const std::string path = journal_path();
  const std::string bytes = Frame(payload);
  absl::Status s = WriteAll(journal_fd_, bytes, path);
  if (s.ok() && fdatasync(journal_fd_) != 0) s = ErrnoError("fdatasync", path);
  if (!s.ok()) {
    // A partial record would be a torn tail to every later append: start over from a new base.
    close(journal_fd_);
    journal_fd_ = -1;
    have_base_ = false;
    return s;
  }
  journal_bytes_ += bytes.size();
  return absl::OkStatus();
}

}  // namespace edgerouter::xds
