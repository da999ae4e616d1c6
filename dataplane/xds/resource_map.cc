#include "dataplane/xds/resource_map.h"

namespace edgerouter::xds {

snapshot::v1::Snapshot ToSnapshot(const std::string& version, const ResourceMap& resources) {
  snapshot::v1::Snapshot snap;
  snap.set_version(version);
  snap.mutable_resources()->Reserve(static_cast<int>(resources.size()));
  for (const auto& [name, resource] : resources.Sorted()) *snap.add_resources() = **resource;
  return snap;
}

}  // namespace edgerouter::xds
