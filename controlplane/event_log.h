// Durable, ordered event streams (EventHorizon semantics): each stream is a sequence of
// versions 1, 2, 3…, each version one atomic batch of events. Implementations: the embedded
// file log (FileEventLog) and, later, etcd. Callers only see this interface.
#ifndef EDGEROUTER_CONTROLPLANE_EVENT_LOG_H_
#define EDGEROUTER_CONTROLPLANE_EVENT_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/events.pb.h"

namespace edgerouter::controlplane {

struct LogEntry {
  uint64_t version = 0;
  std::vector<events::v1::Event> events;
};

// Cancels a watch when destroyed; after destruction the callback is never called again.
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
};

class EventLog {
 public:
  using EntryCallback = std::function<void(const LogEntry&)>;

  virtual ~EventLog() = default;

  // Appends `batch` as the next version, durably (the call returns only after the data is on
  // stable storage). With `expected_version`, fails with ABORTED naming both versions unless
  // the stream is exactly at that version (0 = empty stream): optimistic concurrency.
  // Streams are created by their first append. Returns the new version.
  virtual absl::StatusOr<uint64_t> Append(absl::string_view stream,
                                          std::vector<events::v1::Event> batch,
                                          std::optional<uint64_t> expected_version) = 0;

  // Up to `max_entries` entries with version > `after_version`, in order.
  virtual absl::StatusOr<std::vector<LogEntry>> ReadAfter(absl::string_view stream,
                                                          uint64_t after_version,
                                                          size_t max_entries) = 0;

  // The stream's latest version (0 if it has none).
  virtual uint64_t Head(absl::string_view stream) = 0;

  // Delivers every entry after `after_version`, then each new one as it is appended, in order
  // and exactly once. The callback runs on the appending thread (or, for the backlog, this
  // one), serialised per stream; it must be quick and must not call back into the log.
  virtual absl::StatusOr<std::unique_ptr<WatchHandle>> Watch(absl::string_view stream,
                                                             uint64_t after_version,
                                                             EntryCallback on_entry) = 0;

  virtual std::vector<std::string> Streams() = 0;
};

// "/t-1/loadbalancer": starts with '/', segments of [A-Za-z0-9_.-], no "." or ".." segments.
absl::Status ValidateStreamName(absl::string_view stream);

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_EVENT_LOG_H_
