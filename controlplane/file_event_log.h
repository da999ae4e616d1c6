// The embedded EventLog: one append-only file per stream under <data_dir>/streams/.
//
// Record = magic "ERL1" | u32 payload length | u32 CRC-32 of payload | LogRecord proto, all
// little-endian. An append is one pwrite + fdatasync under the stream's lock; a failed write is
// truncated away, so nothing unacknowledged is ever half-visible. On open, a bad record with no
// valid record after it is a torn tail (a crash mid-append) and is truncated and reported; a bad
// record followed by valid ones is corruption in the middle and fails the open.
#ifndef EDGEROUTER_CONTROLPLANE_FILE_EVENT_LOG_H_
#define EDGEROUTER_CONTROLPLANE_FILE_EVENT_LOG_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "controlplane/event_log.h"

namespace edgerouter::controlplane {

class FileEventLog : public EventLog {
 public:
  // Opens (creating if needed) the log in `data_dir`. `recovery_notes` receives one line per
  // repaired stream (torn tails truncated).
  static absl::StatusOr<std::unique_ptr<FileEventLog>> Open(const std::string& data_dir,
                                                            std::vector<std::string>* recovery_notes);
  ~FileEventLog() override;

  absl::StatusOr<uint64_t> Append(absl::string_view stream, std::vector<events::v1::Event> batch,
                                  std::optional<uint64_t> expected_version) override;
  absl::StatusOr<std::vector<LogEntry>> ReadAfter(absl::string_view stream, uint64_t after_version,
                                                  size_t max_entries) override;
  uint64_t Head(absl::string_view stream) override;
  absl::StatusOr<std::unique_ptr<WatchHandle>> Watch(absl::string_view stream,
                                                     uint64_t after_version,
                                                     EntryCallback on_entry) override;
  std::vector<std::string> Streams() override;

  // Exposed for tests: the file that holds `stream`.
  std::string PathOf(absl::string_view stream) const;

 private:
  struct Watcher;
  struct StreamFile;
  class Handle;

  explicit FileEventLog(std::string dir);
  absl::StatusOr<StreamFile*> GetStream(absl::string_view stream, bool create);
  absl::StatusOr<LogEntry> ReadEntry(const StreamFile& file, uint64_t version);
  void RemoveWatcher(StreamFile* file, Watcher* watcher);

  const std::string dir_;
  absl::Mutex mu_;  // guards the map, not the streams
  std::map<std::string, std::unique_ptr<StreamFile>, std::less<>> streams_ ABSL_GUARDED_BY(mu_);
};

// Escapes a stream name into a file name and back ("/t-1/lb" <-> "%2Ft-1%2Flb.log").
std::string StreamFileName(absl::string_view stream);

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_FILE_EVENT_LOG_H_
