// A small etcd v3 client over gRPC: one channel per endpoint, the current endpoint used until it
// fails. Every unary call has a per-attempt deadline and an overall one; UNAVAILABLE and an
// attempt's DEADLINE_EXCEEDED (a dead member, a member without a leader, "request timed out")
// move on to the next endpoint until the overall deadline, so no call ever hangs. Writes that
// may be retried after an ambiguous failure must be idempotent or checked by the caller.
#ifndef EDGEROUTER_CONTROLPLANE_EVENTLOG_ETCD_ETCD_CLIENT_H_
#define EDGEROUTER_CONTROLPLANE_EVENTLOG_ETCD_ETCD_CLIENT_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/grpc_tls.h"
#include "controlplane/eventlog/etcd/rpc.grpc.pb.h"

namespace edgerouter::controlplane::etcd {

struct EtcdClientOptions {
  std::vector<std::string> endpoints;  // host:port each
  GrpcTlsFiles tls;                    // CA enables TLS; cert+key for client authentication
  absl::Duration attempt_timeout = absl::Milliseconds(500);  // one RPC on one endpoint
  absl::Duration call_timeout = absl::Seconds(5);     // one call, all attempts together
};

// "h:p,h:p" (an optional http:// or https:// is dropped) → endpoints, or INVALID_ARGUMENT
// naming the bad item.
absl::StatusOr<std::vector<std::string>> ParseEtcdEndpoints(absl::string_view list);

class EtcdClient {
 public:
  struct Endpoint {
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Watch::Stub> watch;
    std::unique_ptr<etcdserverpb::Lease::Stub> lease;
    std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance;
  };

  static absl::StatusOr<std::unique_ptr<EtcdClient>> Create(EtcdClientOptions options);

  // `what` prefixes every error ("etcd append /t-1/loadbalancer@5").
  absl::StatusOr<etcdserverpb::RangeResponse> Range(const etcdserverpb::RangeRequest& request,
                                                    absl::string_view what);
  absl::StatusOr<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& request,
                                                absl::string_view what);
  absl::StatusOr<etcdserverpb::CompactionResponse> Compact(
      const etcdserverpb::CompactionRequest& request, absl::string_view what);
  absl::StatusOr<etcdserverpb::LeaseGrantResponse> LeaseGrant(
      const etcdserverpb::LeaseGrantRequest& request, absl::string_view what);
  absl::StatusOr<etcdserverpb::LeaseRevokeResponse> LeaseRevoke(
      const etcdserverpb::LeaseRevokeRequest& request, absl::string_view what);
  // Asks one member (no failover), within one attempt's deadline.
  absl::StatusOr<etcdserverpb::StatusResponse> Status(size_t endpoint_index);

  // For long-lived streams (Watch, LeaseKeepAlive): the endpoint to use now; after the stream
  // broke, Failed() moves on to the next one.
  Endpoint& Current();
  void Failed(const Endpoint& endpoint);

  size_t endpoint_count() const { return endpoints_.size(); }
  const EtcdClientOptions& options() const { return options_; }

 private:
  using Attempt = std::function<grpc::Status(Endpoint&, grpc::ClientContext*)>;

  explicit EtcdClient(EtcdClientOptions options) : options_(std::move(options)) {}
  // Drives `endpoint` towards READY until `deadline`; returns the state it reached.
  static grpc_connectivity_state Connect(Endpoint& endpoint, absl::Time deadline);
  absl::Status Call(absl::string_view what, const Attempt& attempt);

  const EtcdClientOptions options_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::atomic<size_t> current_{0};
};

// The range_end that makes a Range or Watch cover every key starting with `prefix`.
std::string EtcdPrefixEnd(std::string prefix);

// gRPC status → absl::Status with `context` in front of etcd's message.
absl::Status FromGrpc(const grpc::Status& status, absl::string_view context);

}  // namespace edgerouter::controlplane::etcd

#endif  // EDGEROUTER_CONTROLPLANE_EVENTLOG_ETCD_ETCD_CLIENT_H_
