// Persists accepted snapshots on a thread of its own, in the order they were accepted, so the
// disk never sits between a response and its ACK: on a disk shared with other work an fdatasync
// can stall for seconds, and the control plane sends nothing new to a node until it ACKs.
// Losing the newest records in a crash costs only a staler cold start (the control plane sends
// the difference when the stream opens).
//
// A backlog (a disk slower than the changes) is folded into one write of the newest state: the
// pending deltas are dropped and the newest state is written as a new base.
#ifndef EDGEROUTER_DATAPLANE_XDS_SNAPSHOT_WRITER_H_
#define EDGEROUTER_DATAPLANE_XDS_SNAPSHOT_WRITER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "dataplane/xds/resource_map.h"
#include "proto/discovery.pb.h"

namespace edgerouter::xds {

class SnapshotWriter {
 public:
  // What one write does: SnapshotStore::Record's contract (`response` is a delta, or has
  // full_state set when only `resources` matters).
  using RecordFn = std::function<absl::Status(const discovery::v1::DiscoveryResponse& response,
                                              const std::string& version, const ResourceMap& resources)>;

  struct Stats {
    uint64_t written = 0;    // records written (a folded backlog counts once)
    uint64_t failed = 0;     // records whose write failed (logged)
    uint64_t folded = 0;     // deltas dropped because a newer whole state replaced them
  };

  explicit SnapshotWriter(RecordFn record, size_t max_pending = 64);
  ~SnapshotWriter();  // writes what is pending, then joins

  // Queues the state after `response`. Copies only the delta's resources (O(changed)), never a
  // full state's. `resources` is the caller's copy (a ShardedMap is copied on the thread that
  // writes it), kept until written.
  void Submit(const discovery::v1::DiscoveryResponse& response, std::string version, ResourceMap resources);

  // Blocks until everything submitted before the call is written (or failed).
  void Flush();

  Stats stats();

 private:
  struct Item {
    discovery::v1::DiscoveryResponse record;  // the delta, or empty with full_state set
    std::string version;
    ResourceMap resources;
    absl::Time submitted;
  };

  void Loop();

  const RecordFn record_;
  const size_t max_pending_;
  absl::Mutex mu_;
  std::deque<Item> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t submitted_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t done_ ABSL_GUARDED_BY(mu_) = 0;  // submissions written, failed or folded
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace edgerouter::xds

#endif  // EDGEROUTER_DATAPLANE_XDS_SNAPSHOT_WRITER_H_
