// The data plane's resources by name, and what the xDS client hands to the apply step: the
// whole state after a response plus the names it changed, so a delta costs O(change).
#ifndef EDGEROUTER_DATAPLANE_XDS_RESOURCE_MAP_H_
#define EDGEROUTER_DATAPLANE_XDS_RESOURCE_MAP_H_

#include <memory>
#include <string>
#include <vector>

#include "dataplane/util/sharded_map.h"
#include "proto/snapshot.pb.h"

namespace edgerouter::xds {

// Resources by name. Copies share all but the shards written after the copy.
using ResourceMap = util::ShardedMap<std::shared_ptr<const snapshot::v1::Resource>>;

// The map as a snapshot::v1::Snapshot, resources sorted by name (O(n): files, dumps, tests).
snapshot::v1::Snapshot ToSnapshot(const std::string& version, const ResourceMap& resources);

struct SnapshotView {
  std::string version;
  const ResourceMap* resources = nullptr;  // every resource, by name
  // true: anything may have changed (first response, full state, persisted state at start);
  // changed/removed are then empty.
  bool full_state = false;
  std::vector<std::string> changed;  // names added or replaced by this delta
  std::vector<std::string> removed;  // names this delta removed (they are not in `resources`)

  snapshot::v1::Snapshot ToSnapshot() const { return xds::ToSnapshot(version, *resources); }
};

}  // namespace edgerouter::xds

#endif  // EDGEROUTER_DATAPLANE_XDS_RESOURCE_MAP_H_
