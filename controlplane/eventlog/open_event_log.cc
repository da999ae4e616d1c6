#include "controlplane/eventlog/open_event_log.h"

#include "absl/strings/str_cat.h"
#include "controlplane/eventlog/etcd/etcd_event_log.h"
#include "controlplane/eventlog/etcd/etcd_lease.h"
#include "controlplane/eventlog/eventhorizon/config.h"
#include "controlplane/eventlog/eventhorizon/eventhorizon_event_log.h"
#include "controlplane/eventlog/eventhorizon/lease.h"
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
    absl::StatusOr<std::vector<std::string>> endpoints = etcd::ParseEtcdEndpoints(options.etcd_endpoints);
    if (!endpoints.ok()) return endpoints.status();
    etcd::EtcdEventLogOptions etcd_options;
    etcd_options.client.endpoints = *endpoints;
    etcd_options.client.tls = options.etcd_tls;
    etcd_options.prefix = options.etcd_prefix;
    auto log = etcd::EtcdEventLog::Open(std::move(etcd_options));
    if (!log.ok()) return log.status();
    return std::unique_ptr<EventLog>(*std::move(log));
  }
  if (options.kind == "eventhorizon") {
    absl::StatusOr<eventhorizon::Config> config = eventhorizon::ConfigFromEnvironment();
    if (!config.ok()) return config.status();
    eventhorizon::EventLogOptions eh_options;
    eh_options.poll_interval = options.eventhorizon_poll;
    return std::unique_ptr<EventLog>(eventhorizon::EventHorizonEventLog::Create(*config, eh_options));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--event_log=", options.kind, ": want file, etcd or eventhorizon"));
}

namespace {

// The DynamoDB lock item (eventhorizon/lease) behind the Lease interface; given up on destruction.
class DynamoLeaseAdapter : public Lease {
 public:
  DynamoLeaseAdapter(eventhorizon::Store* store, const std::string& name, const std::string& holder)
      : lease_(store->client(), store->table(), name, holder, absl::Seconds(10)) {}
  ~DynamoLeaseAdapter() override { lease_.Release().IgnoreError(); }
  absl::StatusOr<bool> TryAcquire() override { return lease_.TryAcquire(); }
  bool IsHeld() override { return lease_.IsHeld(); }
  absl::StatusOr<std::string> Holder() override { return lease_.Holder(); }

 private:
  eventhorizon::DynamoLease lease_;
};

}  // namespace

std::unique_ptr<Lease> OpenLease(EventLog* log, const std::string& name, const std::string& holder) {
  if (auto* etcd_log = dynamic_cast<etcd::EtcdEventLog*>(log)) {
    return std::make_unique<etcd::EtcdLease>(etcd_log->client(), etcd_log->prefix(), name, holder);
  }
  if (auto* eh_log = dynamic_cast<eventhorizon::EventHorizonEventLog*>(log)) {
    return std::make_unique<DynamoLeaseAdapter>(eh_log->store(), name, holder);
  }
  return std::make_unique<AlwaysHeldLease>(holder);
}

}  // namespace edgerouter::controlplane
