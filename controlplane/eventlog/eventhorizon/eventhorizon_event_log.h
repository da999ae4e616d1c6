// EventLog on EventHorizon's DynamoDB table (items.h for the format, store.h for the calls).
//
// Versions: our version of an entry IS its DynamoDB `v`. v0 is the stream's StreamStarted meta
// item and is never delivered, so a stream holding only v0 has Head() 0, exactly like an empty
// file-log stream, and the first append lands at v1. Later meta items (ChildStreamCreated in a
// parent) occupy their version and are delivered as entries without events: the cursor moves
// past them and versions stay contiguous for WaitFor…Version-style callers.
//
// Reads are consistent Queries `s = :s AND v > :cursor`, Limit 100, re-queried from the last
// version while DynamoDB reports more. Watch reads the backlog on the caller's thread, then a
// thread owned by the log polls every `poll_interval` (and at once after our own appends).
// Throttling, 5xx and unreachable endpoints back off (jittered, doubling up to max_backoff);
// the last good state stays delivered and status().stale says it may be behind. A malformed
// item is delivered as an empty entry (the version is not lost), reported as stream@version.
#ifndef EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_EVENTHORIZON_EVENT_LOG_H_
#define EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_EVENTHORIZON_EVENT_LOG_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controlplane/event_log.h"
#include "controlplane/eventlog/eventhorizon/config.h"
#include "controlplane/eventlog/eventhorizon/dynamodb_client.h"
#include "controlplane/eventlog/eventhorizon/store.h"

namespace edgerouter::eventhorizon {

struct EventLogOptions {
  absl::Duration poll_interval = absl::Seconds(1);
  absl::Duration max_backoff = absl::Seconds(30);
  absl::Duration request_timeout = absl::Seconds(10);
  // Appends without an expected version retry at the new head this often on conflicts.
  int conflict_attempts = 20;
};

struct LogStatus {
  bool stale = false;      // the last read failed: delivered state is the last good one
  bool caught_up = false;  // every watch has read to the head at least once
  int consecutive_failures = 0;
  std::string last_error;
  absl::Time last_success = absl::InfinitePast();
  uint64_t read_failures = 0;  // failed read rounds, throttling included
  uint64_t throttled = 0;      // of which throttling
  uint64_t skipped_items = 0;
  std::vector<std::string> skipped;  // the last 100: "stream@version: reason"
};

class EventHorizonEventLog : public controlplane::EventLog {
 public:
  static std::unique_ptr<EventHorizonEventLog> Create(const Config& config, EventLogOptions options);
  ~EventHorizonEventLog() override;

  absl::StatusOr<uint64_t> Append(absl::string_view stream, std::vector<events::v1::Event> batch,
                                  std::optional<uint64_t> expected_version) override;
  absl::StatusOr<std::vector<controlplane::LogEntry>> ReadAfter(absl::string_view stream,
                                                                uint64_t after_version,
                                                                size_t max_entries) override;
  // On a read error: the highest version this log has seen of the stream.
  uint64_t Head(absl::string_view stream) override;
  absl::StatusOr<std::unique_ptr<controlplane::WatchHandle>> Watch(absl::string_view stream,
                                                                   uint64_t after_version,
                                                                   EntryCallback on_entry) override;
  // Streams with a v0 item (a Scan; meant for tools, not hot paths). Empty on errors.
  std::vector<std::string> Streams() override;

  LogStatus status() const;
  Store* store() { return &store_; }

 private:
  struct Watcher {
    uint64_t id = 0;
    std::string stream;
    EntryCallback callback;
    // Touched only by whoever delivers (the Watch caller before registration, then the
    // poller under deliver_mu_).
    uint64_t cursor = 0;
    std::atomic<bool> caught_up{false};
    bool removed = false;  // under deliver_mu_
  };
  class Handle;

  EventHorizonEventLog(DynamoDbClientOptions client_options, std::string table, EventLogOptions options);
  // Reads `w`'s stream after its cursor to the end, delivering as it goes. With `registered`,
  // delivery happens under deliver_mu_ and stops once the watch is removed.
  DynamoError CatchUp(Watcher* w, bool registered);
  // Decodes one Query item into an entry; a malformed one becomes an empty entry, reported.
  controlplane::LogEntry ToEntry(const std::string& stream, const nlohmann::json& raw, int64_t version);
  void PollLoop();
  void RemoveWatcher(uint64_t id);
  void NoteHead(const std::string& stream, uint64_t version);
  void RecordFailure(const DynamoError& error, absl::string_view context);
  void Kick();

  const EventLogOptions options_;
  DynamoDbClient client_;
  Store store_;

  // Held while delivering to watchers and while removing one: after RemoveWatcher returns, its
  // callback is never called again. Never held across network calls.
  absl::Mutex deliver_mu_;
  mutable absl::Mutex mu_;
  std::map<uint64_t, std::shared_ptr<Watcher>> watchers_ ABSL_GUARDED_BY(mu_);
  uint64_t next_watcher_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::string, uint64_t, std::less<>> known_heads_ ABSL_GUARDED_BY(mu_);
  LogStatus status_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> skipped_ ABSL_GUARDED_BY(mu_);
  bool kicked_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread poller_;
};

}  // namespace edgerouter::eventhorizon

#endif  // EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_EVENTHORIZON_EVENT_LOG_H_
