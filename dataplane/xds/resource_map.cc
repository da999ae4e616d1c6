#include "dataplane/xds/resource_map.h"

namespace edgerouter::xds {

snapshot::Snapshot ToSnapshot(const std::string& version, const ResourceMap& resources) {
  snapshot::Snapshot snap;
  snap.set_version(version);
  snap.mutable_resources()->Reserve(static_cast<int>(resources.size()));
  for (const auto& [name, resource] : resources.Sorted()) *snap.add_resources() = **resource;
  return snap;
}

}  // namespace edgerouter::xds
