#include "controlplane/eventlog/open_event_log.h"

#include "absl/strings/str_cat.h"
#include "controlplane/file_event_log.h"

namespace edgerouter::controlplane {

absl::StatusOr<std::unique_ptr<EventLog>> OpenEventLog(const EventLogOptions& options,
                                                       std::vector<std::string>* notes) {
  if (options.kind == "file") {
    auto log = FileEventLog::Open(options.data_dir, notes);
    if (!log.ok()) return log.status();
    return std::unique_ptr<EventLog>(*std::move(log));
  }
  if (options.kind == "etcd") {
    return absl::UnimplementedError("--event_log=etcd is not built yet");
  }
  if (options.kind == "eventhorizon") {
    return absl::UnimplementedError("--event_log=eventhorizon is not built yet");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--event_log=", options.kind, ": want file, etcd or eventhorizon"));
}

}  // namespace edgerouter::controlplane
