// The data plane's side of the discovery protocol (see docs/controlplane.md): one gRPC stream
// to the control plane on its own thread, applying each response to a local resource map and
// handing the resulting state (the full resource map plus what changed) to `apply`; ACK on
// success, NACK with the error text otherwise (the previous config keeps serving). The last
// accepted state is persisted in --state_dir (snapshot_store.h: a base plus a journal of
// deltas) so a restart with the control plane away serves at once.
#ifndef EDGEROUTER_DATAPLANE_XDS_XDS_CLIENT_H_
#define EDGEROUTER_DATAPLANE_XDS_XDS_CLIENT_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "dataplane/xds/resource_map.h"
#include "dataplane/xds/snapshot_store.h"
#include "dataplane/xds/snapshot_writer.h"
#include "proto/discovery.grpc.pb.h"
#include "proto/snapshot.pb.h"

namespace edgerouter::xds {

struct XdsClientOptions {
  // "h:p[,h:p…]": control-plane replicas. A name resolving to several addresses counts as one
  // replica per address. The client stays on a replica while its stream works and moves to the
  // next one at once when it fails; a full round of failures backs off.
  std::string controlplane = "127.0.0.1:18000";
  std::string node_id;
  std::string state_dir;  // "" = no persistence
  // TLS (and client certificate) for the channel; null = plaintext.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // Bound on one connection attempt, so a black-holed replica costs this long, not gRPC's 20 s.
  absl::Duration connect_timeout = absl::Seconds(2);
  // The journal of deltas is folded into a new base once it is larger than the base and this.
  uint64_t journal_min_compact_bytes = 1 << 20;
  // Periodic node report sent on the stream (first one as soon as it opens); unset or a zero
  // interval = none. Called on a reporter thread of its own, never on the stream's thread.
  std::function<discovery::v1::NodeReport()> report;
  absl::Duration report_interval = absl::Seconds(5);
};

struct XdsStatus {
  bool connected = false;
  std::string applied_version;   // "" before the first apply
  absl::Time last_apply = absl::InfinitePast();
  std::string last_nack;         // error text of the last rejected response ("" if none)
  uint64_t applies = 0;          // accepted snapshots, the persisted one included
  uint64_t nacks = 0;
  uint64_t reconnects = 0;       // streams that ended and were retried
  uint64_t responses = 0;        // responses received (applied or rejected)
  uint64_t reports = 0;          // node reports written
  bool last_full_state = false;  // full_state flag of the last response (tests, diagnostics)
  uint64_t full_states = 0;      // responses that carried the full state
  std::string controlplane;      // replica of the current (or last) stream, as dialled
  std::string replica_id;        // that replica's own name (its x-edgerouter-replica metadata)
  uint64_t failovers = 0;        // streams opened on a different replica than the one before
};

class XdsClient {
 public:
  // Compiles and publishes the new state; an error rejects it (NACK) and must leave the
  // previously published config in place. Called on the client's thread only; the view's
  // resource map may be copied (copies share it), not kept by reference.
  using ApplyFn = std::function<absl::Status(const SnapshotView& view)>;

  XdsClient(XdsClientOptions options, ApplyFn apply);
  ~XdsClient();  // Stop()

  // Loads <state_dir>/snapshot.pb (plus its journal) if present and applies it (no network).
  // Returns NotFound if there is none; a corrupt or rejected base is an error and nothing is
  // applied.
  // Call before Start().
  absl::Status LoadPersisted();

  // Starts the stream thread: connect, send node id + applied version + resource versions,
  // process responses, reconnect with jittered exponential backoff. Never blocks the caller.
  void Start();
  // Interrupts a blocking read or a backoff wait and joins the thread. Not from inside `apply`.
  void Stop();

  XdsStatus status();
  // Blocks until `pred(status)` holds (re-checked on every status change) or `timeout` passes;
  // returns whether it held. For readiness checks and tests.
  bool AwaitStatus(const std::function<bool(const XdsStatus&)>& pred, absl::Duration timeout);

  // Path of the persisted snapshot file ("" without a state_dir).
  std::string persisted_path() const;

 private:
  // One dialable replica: a gRPC target and, for an address a name resolved to, that name (so
  // TLS still verifies the name).
  struct Target {
    std::string address;
    std::string tls_name;
  };

  void Run();
  // The replicas of options_.controlplane, names resolved now (on this thread).
  std::vector<Target> ResolveTargets();
  // One stream from connect to end; sets *served if a replica answered it (its initial
  // metadata or a response arrived), i.e. the replica was up.
  grpc::Status RunStream(const Target& target, bool* served);
  // Sends options_.report() every report_interval until *done; `write` serialises writes.
  void ReportLoop(const std::function<bool(const discovery::v1::DiscoveryRequest&)>& write,
                  absl::Mutex* done_mu, const bool* done);
  // Applies one response to the resource map: OK = ACK, an error = NACK with its text.
  absl::Status Handle(const discovery::v1::DiscoveryResponse& response);

  const XdsClientOptions options_;
  const ApplyFn apply_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  absl::Mutex mu_;
  grpc::ClientContext* active_context_ ABSL_GUARDED_BY(mu_) = nullptr;  // for Stop()
  XdsStatus status_ ABSL_GUARDED_BY(mu_);
  absl::CondVar stop_cv_;

  // Only the client thread (or LoadPersisted, before Start) touches these.
  ResourceMap resources_;  // what is applied, by name
  std::string applied_version_;
  std::unique_ptr<SnapshotStore> store_;  // null without a state_dir
  std::unique_ptr<SnapshotWriter> writer_;  // writes store_ (declared after it: destroyed first)
};

}  // namespace edgerouter::xds

#endif  // EDGEROUTER_DATAPLANE_XDS_XDS_CLIENT_H_
