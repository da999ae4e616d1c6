// Opens the event log that --event_log names: the embedded file log (default), etcd v3, or
// EventHorizon on DynamoDB. Everything above EventLog is the same on all three.
#ifndef EDGEROUTER_CONTROLPLANE_EVENTLOG_OPEN_EVENT_LOG_H_
#define EDGEROUTER_CONTROLPLANE_EVENTLOG_OPEN_EVENT_LOG_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc_tls.h"
#include "controlplane/event_log.h"
#include "controlplane/eventlog/lease.h"

namespace edgerouter::controlplane {

struct EventLogOptions {
  std::string kind = "file";  // file | etcd | eventhorizon
  // file
  std::string data_dir;
  // etcd
  std::string etcd_endpoints;  // "host:port,host:port,…"
  GrpcTlsFiles etcd_tls;
  std::string etcd_prefix = "/edgerouter";
  // eventhorizon: configured by the EVENTHORIZON environment variable, as edgerouter
  absl::Duration eventhorizon_poll = absl::Seconds(1);
};

// `notes` receives one line per repair the log made while opening (file log: torn tails).
absl::StatusOr<std::unique_ptr<EventLog>> OpenEventLog(const EventLogOptions& options,
                                                       std::vector<std::string>* notes);

// The lease `name` on the same store as `log` (etcd: an etcd lease; file: always held).
// `holder` names this replica; `log` must outlive the lease.
std::unique_ptr<Lease> OpenLease(EventLog* log, const std::string& name, const std::string& holder);

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_EVENTLOG_OPEN_EVENT_LOG_H_
