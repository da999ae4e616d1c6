// The Admin gRPC service: app put/get/list/delete over the loadbalancer stream, snapshot and
// node status, raw stream read/append in EventHorizon's line format.
#ifndef EDGEROUTER_CONTROLPLANE_ADMIN_SERVICE_H_
#define EDGEROUTER_CONTROLPLANE_ADMIN_SERVICE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "controlplane/config_hub.h"
#include "controlplane/discovery_server.h"
#include "controlplane/event_log.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter::controlplane {

// Who this replica is, for GetReplicaStatus.
struct ReplicaInfo {
  std::string replica_id;
  std::string event_log = "file";
  absl::Time started = absl::Now();
  // Leases this replica takes part in; null = none.
  std::function<std::vector<admin::LeaseStatus>()> leases;
};

class AdminService final : public admin::Admin::Service {
 public:
  AdminService(EventLog* log, ConfigHub* hub, DiscoveryServer* discovery)
      : log_(log), hub_(hub), discovery_(discovery) {}

  grpc::Status PutApp(grpc::ServerContext*, const admin::PutAppRequest*, admin::PutAppResponse*) override;
  grpc::Status DeleteApp(grpc::ServerContext*, const admin::DeleteAppRequest*,
                         admin::DeleteAppResponse*) override;
  grpc::Status ImportApps(grpc::ServerContext*, const admin::ImportAppsRequest*,
                          admin::ImportAppsResponse*) override;
  grpc::Status GetApp(grpc::ServerContext*, const admin::GetAppRequest*, admin::GetAppResponse*) override;
  grpc::Status ListApps(grpc::ServerContext*, const admin::ListAppsRequest*,
                        admin::ListAppsResponse*) override;
  grpc::Status GetSnapshot(grpc::ServerContext*, const admin::GetSnapshotRequest*,
                           admin::GetSnapshotResponse*) override;
  grpc::Status ListNodes(grpc::ServerContext*, const admin::ListNodesRequest*,
                         admin::ListNodesResponse*) override;
  grpc::Status ReadStream(grpc::ServerContext*, const admin::ReadStreamRequest*,
                          admin::ReadStreamResponse*) override;
  grpc::Status AppendStream(grpc::ServerContext*, const admin::AppendStreamRequest*,
                            admin::AppendStreamResponse*) override;
  grpc::Status PutCertificate(grpc::ServerContext*, const admin::PutCertificateRequest*,
                              admin::PutCertificateResponse*) override;
  grpc::Status GetReplicaStatus(grpc::ServerContext*, const admin::GetReplicaStatusRequest*,
                                admin::ReplicaStatus*) override;

  grpc::Status ListAcmeNames(grpc::ServerContext*, const admin::ListAcmeNamesRequest*,
                             admin::ListAcmeNamesResponse* response) override {
    if (acme_status_) *response = acme_status_();  // else enabled = false
    return grpc::Status::OK;
  }

  void set_replica_info(ReplicaInfo info) { replica_ = std::move(info); }
  // The ACME issuer's status (controlplane/acme); unset: ACME is off.
  void set_acme_status(std::function<admin::ListAcmeNamesResponse()> f) { acme_status_ = std::move(f); }

 private:
  // Appends one event to the loadbalancer stream after `check` accepts the current state,
  // retrying on a concurrent writer (optimistic concurrency), then waits until a snapshot
  // includes it so a following read sees the change.
  grpc::Status AppendChecked(events::Event event,
                             const std::function<grpc::Status(bool exists)>& check,
                             const std::string& app_id, uint64_t* version);

  EventLog* log_;
  ConfigHub* hub_;
  DiscoveryServer* discovery_;
  ReplicaInfo replica_;
  std::function<admin::ListAcmeNamesResponse()> acme_status_;
};

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_ADMIN_SERVICE_H_
