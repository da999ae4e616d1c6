// The Admin gRPC service: app put/get/list/delete over the loadbalancer stream, snapshot and
// node status, raw stream read/append in EventHorizon's line format.
#ifndef EDGEROUTER_CONTROLPLANE_ADMIN_SERVICE_H_
#define EDGEROUTER_CONTROLPLANE_ADMIN_SERVICE_H_

#include "controlplane/config_hub.h"
#include "controlplane/discovery_server.h"
#include "controlplane/event_log.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter::controlplane {

class AdminService final : public admin::Admin::Service {
 public:
  AdminService(EventLog* log, ConfigHub* hub, DiscoveryServer* discovery)
      : log_(log), hub_(hub), discovery_(discovery) {}

  grpc::Status PutApp(grpc::ServerContext*, const admin::PutAppRequest*, admin::PutAppResponse*) override;
  grpc::Status DeleteApp(grpc::ServerContext*, const admin::DeleteAppRequest*,
                         admin::DeleteAppResponse*) override;
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
};

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_ADMIN_SERVICE_H_
