// EventLog on etcd v3. Keys (the prefix defaults to /edgerouter):
//   <prefix>/s<stream>@<version, 20 digits>  value: the serialized LogRecord of that version
//   <prefix>/streams<stream>                 empty; written with version 1 (Streams() lists it)
// '@' cannot occur in a stream name, so a stream's versions never share a key prefix with a
// child stream's (EventHorizon nests streams: /t-1 and /t-1/loadbalancer), and zero padding makes
// key order version order.
//
// Append is one Txn: put version N if it was never created (create_revision == 0) and version
// N-1 exists, so versions stay contiguous and exactly one of two racing appenders wins. Watch
// replays the backlog with ranges, then follows an etcd Watch from the range's revision + 1; a
// compacted or broken watch re-reads by range from the last delivered version, so delivery stays
// exactly once and in order.
#ifndef EDGEROUTER_CONTROLPLANE_EVENTLOG_ETCD_ETCD_EVENT_LOG_H_
#define EDGEROUTER_CONTROLPLANE_EVENTLOG_ETCD_ETCD_EVENT_LOG_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "controlplane/event_log.h"
#include "controlplane/eventlog/etcd/etcd_client.h"

namespace edgerouter::controlplane::etcd {

struct EtcdEventLogOptions {
  EtcdClientOptions client;
  std::string prefix = "/edgerouter";
  int64_t page_size = 256;  // versions per range request
  absl::Duration max_watch_backoff = absl::Seconds(1);
};

// Counters for operators and tests (exactly-once recovery paths are asserted through them).
struct EtcdWatchStats {
  std::atomic<uint64_t> compactions{0};  // watches canceled by compaction, then re-read
  std::atomic<uint64_t> reconnects{0};   // broken watch streams re-established
  std::atomic<uint64_t> skipped_records{0};  // malformed values delivered as empty versions
};

class EtcdEventLog : public EventLog {
 public:
  static absl::StatusOr<std::unique_ptr<EtcdEventLog>> Open(EtcdEventLogOptions options);
  ~EtcdEventLog() override;

  absl::StatusOr<uint64_t> Append(absl::string_view stream, std::vector<events::v1::Event> batch,
                                  std::optional<uint64_t> expected_version) override;
  absl::StatusOr<std::vector<LogEntry>> ReadAfter(absl::string_view stream, uint64_t after_version,
                                                  size_t max_entries) override;
  // On an etcd error: the last head this process saw (logged).
  uint64_t Head(absl::string_view stream) override;
  absl::StatusOr<std::unique_ptr<WatchHandle>> Watch(absl::string_view stream,
                                                     uint64_t after_version,
                                                     EntryCallback on_entry) override;
  std::vector<std::string> Streams() override;

  absl::StatusOr<uint64_t> HeadOrError(absl::string_view stream);
  std::string VersionKey(absl::string_view stream, uint64_t version) const;
  EtcdClient* client() { return client_.get(); }
  const std::string& prefix() const { return options_.prefix; }
  const EtcdWatchStats& watch_stats() const { return stats_; }

 private:
  class Watcher;
  struct Page {
    std::vector<LogEntry> entries;
    int64_t revision = 0;  // the store revision the page was read at
    bool more = false;
  };

  EtcdEventLog(EtcdEventLogOptions options, std::unique_ptr<EtcdClient> client);
  std::string StreamKeyPrefix(absl::string_view stream) const;
  // Versions > after_version, up to `limit`, at the latest revision.
  absl::StatusOr<Page> ReadPage(absl::string_view stream, uint64_t after_version, int64_t limit);
  // Decodes one stored version; a malformed value becomes an empty entry, reported once here.
  std::optional<LogEntry> DecodeEntry(absl::string_view stream, const mvccpb::KeyValue& kv);
  void NoteHead(absl::string_view stream, uint64_t version);

  const EtcdEventLogOptions options_;
  std::unique_ptr<EtcdClient> client_;
  EtcdWatchStats stats_;
  absl::Mutex mu_;
  std::map<std::string, uint64_t, std::less<>> known_heads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace edgerouter::controlplane::etcd

#endif  // EDGEROUTER_CONTROLPLANE_EVENTLOG_ETCD_ETCD_EVENT_LOG_H_
