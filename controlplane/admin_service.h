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
  std::function<std::vector<admin::v1::LeaseStatus>()> leases;
};

class AdminService final : public admin::v1::Admin::Service {
 public:
  AdminService(EventLog* log, ConfigHub* hub, DiscoveryServer* discovery)
      : log_(log), hub_(hub), discovery_(discovery) {}

  grpc::Status PutApp(grpc::ServerContext*, const admin::v1::PutAppRequest*, admin::v1::PutAppResponse*) override;
  grpc::Status DeleteApp(grpc::ServerContext*, const admin::v1::DeleteAppRequest*,
                         admin::v1::DeleteAppResponse*) override;
  grpc::Status GetApp(grpc::ServerContext*, const admin::v1::GetAppRequest*, admin::v1::GetAppResponse*) override;
  grpc::Status ListApps(grpc::ServerContext*, const admin::v1::ListAppsRequest*,
                        admin::v1::ListAppsResponse*) override;
  grpc::Status GetSnapshot(grpc::ServerContext*, const admin::v1::GetSnapshotRequest*,
                           admin::v1::GetSnapshotResponse*) override;
  grpc::Status ListNodes(grpc::ServerContext*, const admin::v1::ListNodesRequest*,
                         admin::v1::ListNodesResponse*) override;
  grpc::Status ReadStream(grpc::ServerContext*, const admin::v1::ReadStreamRequest*,
                          admin::v1::ReadStreamResponse*) override;
  grpc::Status AppendStream(grpc::ServerContext*, const admin::v1::AppendStreamRequest*,
                            admin::v1::AppendStreamResponse*) override;
  grpc::Status PutCertificate(grpc::ServerContext*, const admin::v1::PutCertificateRequest*,
                              admin::v1::PutCertificateResponse*) override;
  grpc::Status GetReplicaStatus(grpc::ServerContext*, const admin::v1::GetReplicaStatusRequest*,
                                admin::v1::ReplicaStatus*) override;

  grpc::Status ListAcmeNames(grpc::ServerContext*, const admin::v1::ListAcmeNamesRequest*,
                             admin::v1::ListAcmeNamesResponse* response) override {
    if (acme_status_) *response = acme_status_();  // else enabled = false
    return grpc::Status::OK;
  }

  void set_replica_info(ReplicaInfo info) { replica_ = std::move(info); }
  // The ACME issuer's status (controlplane/acme); unset: ACME is off.
  void set_acme_status(std::function<admin::v1::ListAcmeNamesResponse()> f) { acme_status_ = std::move(f); }

 private:
  // Appends one event to the loadbalancer stream after `check` accepts the current state,
  // retrying on a concurrent writer (optimistic concurrency), then waits until a snapshot
  // includes it so a following read sees the change.
  grpc::Status AppendChecked(events::v1::Event event,
                             const std::function<grpc::Status(bool exists)>& check,
                             const std::string& app_id, uint64_t* version);

  EventLog* log_;
  ConfigHub* hub_;
  DiscoveryServer* discovery_;
  ReplicaInfo replica_;
  std::function<admin::v1::ListAcmeNamesResponse()> acme_status_;
};

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_ADMIN_SERVICE_H_
