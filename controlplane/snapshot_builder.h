// Merges every source into one immutable snapshot. Deterministic: the same inputs give a
// byte-identical snapshot (resources sorted by name, versions are content hashes). Each app is
// validated on its own; a bad app or a duplicate id is left out and reported, never blocking
// the others.
#ifndef EDGEROUTER_CONTROLPLANE_SNAPSHOT_BUILDER_H_
#define EDGEROUTER_CONTROLPLANE_SNAPSHOT_BUILDER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "proto/config.pb.h"
#include "proto/events.pb.h"
#include "proto/snapshot.pb.h"

namespace edgerouter::controlplane {

struct SourcedApp {
  config::Application app;
  std::string origin;  // e.g. "/t-1/loadbalancer@17", "file:applications.json"
};

// One source's apps. Sources are passed in precedence order: for a duplicate id the earlier
// source wins (loadbalancer stream, then file, then Docker) and the later copy is reported.
struct AppSource {
  std::string name;
  std::vector<SourcedApp> apps;
  std::vector<snapshot::RejectedItem> rejected;  // problems the source found itself
};

struct BuiltSnapshot {
  snapshot::Snapshot snapshot;
  std::vector<snapshot::RejectedItem> rejected;  // sorted by (source, id)
  std::map<std::string, std::string> app_origins;  // served app id -> origin
  absl::Time built_at;
};

std::shared_ptr<const BuiltSnapshot> BuildSnapshot(
    const std::vector<AppSource>& sources,
    const std::map<std::string, events::CertificateObtained>& certs);

// Hex SHA-256 (first 16 bytes) of the deterministic serialisation.
std::string ContentVersion(const google::protobuf::Message& message);

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_SNAPSHOT_BUILDER_H_
