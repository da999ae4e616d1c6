// The Discovery service: one bidirectional stream per data-plane node (gRPC callback API, so a
// stream costs no thread). The first response is the full state (or a delta against the
// resource versions a reconnecting node reports), later ones are deltas. At most one response
// is outstanding per node: the next is computed when the ACK/NACK arrives, against what the
// node has applied, so a burst of snapshots costs a node one push. A NACKed snapshot version is
// parked — never resent — until the snapshot changes (go-control-plane's resend loop).
//
// The nonce is the snapshot version (a stream never gets the same version twice), so responses
// do not differ per node: a full state, or the delta between two snapshots, is built and
// serialised once (gRPC's own protobuf serialisation, so the bytes are what a typed stream
// would send) and every stream writes the same refcounted bytes. The method is therefore
// registered raw (ByteBuffer in and out); requests are parsed here.
#ifndef EDGEROUTER_CONTROLPLANE_DISCOVERY_SERVER_H_
#define EDGEROUTER_CONTROLPLANE_DISCOVERY_SERVER_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/byte_buffer.h"
#include "controlplane/snapshot_builder.h"
#include "proto/admin.pb.h"
#include "proto/discovery.grpc.pb.h"

namespace edgerouter::controlplane {

// Counters the server reports; wired to Prometheus by the binary.
struct DiscoveryStats {
  virtual ~DiscoveryStats() = default;
  virtual void OnPush(size_t bytes, bool full_state) {}
  virtual void OnAck(double convergence_seconds) {}
  virtual void OnNack() {}
};

// Initial metadata of every discovery stream: the replica's id, sent at once, so a node knows
// the stream is served (and by whom) before any snapshot is due.
constexpr char kReplicaMetadataKey[] = "x-edgerouter-replica";

class DiscoveryServer final : public discovery::v1::Discovery::WithRawCallbackMethod_StreamSnapshots<
                                  discovery::v1::Discovery::Service> {
 public:
  explicit DiscoveryServer(DiscoveryStats* stats, std::string replica_id = "")
      : stats_(stats), replica_id_(std::move(replica_id)) {}
  ~DiscoveryServer() override;

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* StreamSnapshots(
      grpc::CallbackServerContext* context) override;

  // Publishes a new snapshot to every connected node (called by the snapshot hub).
  void OnSnapshot(std::shared_ptr<const BuiltSnapshot> snapshot);

  // Ends every open stream with UNAVAILABLE so data planes reconnect elsewhere at once
  // instead of waiting for the server's shutdown deadline.
  void CloseAllStreams();

  // Every node seen, with its latest report. A node that left stays listed (disconnected) for
  // `node_expiry`, then is forgotten, so memory follows the live fleet.
  std::vector<admin::v1::NodeStatus> Nodes();
  void set_node_expiry(absl::Duration expiry) {
    absl::MutexLock lock(&status_mu_);
    node_expiry_ = expiry;
  }
  // A larger report is dropped (nodes bound theirs well below this).
  static constexpr size_t kMaxReportBytes = 256 << 10;
  size_t connected_nodes();

 private:
  class NodeStream;
  friend class NodeStream;
  const std::string replica_id_;

  std::shared_ptr<const BuiltSnapshot> current() {
    absl::MutexLock lock(&current_mu_);
    return current_;
  }
  void Register(NodeStream* stream);
  void Unregister(NodeStream* stream);
  void UpdateStatus(const std::string& node_id, const std::function<void(admin::v1::NodeStatus*)>& f);

  // A response serialised once; streams write `wire` (a copy only takes slice references).
  struct SharedResponse {
    grpc::ByteBuffer wire;
    size_t bytes = 0;
    bool full_state = false;
  };
  static std::shared_ptr<const SharedResponse> Serialize(const discovery::v1::DiscoveryResponse& message);
  // The full state of `to`, the same bytes without a DiscoveryResponse copy of every resource.
  static std::shared_ptr<const SharedResponse> SerializeFullState(const BuiltSnapshot& to);
  // Full state (`from` null) or delta `from` -> `to`, built once per pair.
  std::shared_ptr<const SharedResponse> ResponseFor(const std::shared_ptr<const BuiltSnapshot>& from,
                                                    const std::shared_ptr<const BuiltSnapshot>& to);

  DiscoveryStats* stats_;
  // Lock order: streams_mu_ -> a stream's mu -> status_mu_ / current_mu_ (leaves).
  absl::Mutex streams_mu_;
  std::set<NodeStream*> streams_ ABSL_GUARDED_BY(streams_mu_);
  absl::Mutex current_mu_;
  std::shared_ptr<const BuiltSnapshot> current_ ABSL_GUARDED_BY(current_mu_);
  absl::Mutex status_mu_;
  std::map<std::string, admin::v1::NodeStatus> status_ ABSL_GUARDED_BY(status_mu_);
  absl::Duration node_expiry_ ABSL_GUARDED_BY(status_mu_) = absl::Minutes(10);
  absl::Time last_prune_ ABSL_GUARDED_BY(status_mu_) = absl::InfinitePast();
  void PruneLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(status_mu_);
  absl::Mutex cache_mu_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const SharedResponse>> cache_
      ABSL_GUARDED_BY(cache_mu_);
};

// (name, version) pairs sorted by name.
using ResourceVersions = std::vector<std::pair<absl::string_view, absl::string_view>>;
ResourceVersions VersionsOf(const BuiltSnapshot& snapshot);

// Delta from `known` (what the node holds) to `target`: changed/added resources and removed
// names, appended to `response`.
void ComputeDelta(const ResourceVersions& known, const BuiltSnapshot& target,
                  discovery::v1::DiscoveryResponse* response);
// The same from snapshot `from`: resource chunks both share are skipped by pointer, so a delta
// between two builds a few changes apart costs O(chunks + changed), not O(resources).
void ComputeDelta(const BuiltSnapshot& from, const BuiltSnapshot& target,
                  discovery::v1::DiscoveryResponse* response);

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_DISCOVERY_SERVER_H_
