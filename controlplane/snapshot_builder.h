// Merges every source into one immutable snapshot. Deterministic: the same inputs give the same
// snapshot (resources sorted by name, versions are content hashes). Each app is validated on its
// own; a bad app or a duplicate id is left out and reported, never blocking the others.
//
// Apps and certificates are "prepared" once, when their source changes (validated, turned into
// a Resource, hashed), so a rebuild after one change costs pointer copies, not 10k re-hashes.
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

using ResourcePtr = std::shared_ptr<const snapshot::v1::Resource>;

// An app as a source offers it, validated and hashed.
struct PreparedApp {
  std::string id;
  std::string origin;                 // e.g. "/t-1/loadbalancer@17", "file:applications.json"
  ResourcePtr resource;               // null when `problems` is non-empty
  std::vector<std::string> problems;  // validation details
  // Hosts a Docker router asks a certificate for (Traefik `tls.certresolver`): for the ACME issuer.
  struct CertResolver {
    std::string host;
    std::string resolver;
    bool regexp = false;
  };
  std::vector<CertResolver> cert_resolvers;
};

PreparedApp PrepareApp(config::v1::Application app, std::string origin);
ResourcePtr PrepareCertificate(const events::v1::CertificateObtained& cert);
// The "iprules" resource (rules already parsed and checked).
ResourcePtr PrepareIpRules(config::v1::IpRules rules, std::string origin);

// One source's apps. Sources are passed in precedence order: for a duplicate id the earlier
// source wins (loadbalancer stream, then file, then Docker) and the later copy is reported.
struct AppSource {
  std::string name;
  std::vector<std::shared_ptr<const PreparedApp>> apps;
  std::vector<snapshot::v1::RejectedItem> rejected;  // problems the source found itself
};

struct BuiltSnapshot {
  std::string version;  // hash over the sorted (name, version) pairs
  std::vector<ResourcePtr> resources;                    // sorted by name
  std::vector<snapshot::v1::RejectedItem> rejected;          // sorted by (source, id)
  std::vector<std::shared_ptr<const PreparedApp>> apps;  // served apps, sorted by id
  absl::Time built_at;

  snapshot::v1::Snapshot ToProto() const;
  const snapshot::v1::Resource* Find(const std::string& name) const;
  // Where a served app came from ("" if it is not served).
  std::string OriginOf(const std::string& app_id) const;
};

// `ip_rules`: the "iprules" resource, or null for no filtering.
std::shared_ptr<const BuiltSnapshot> BuildSnapshot(const std::vector<const AppSource*>& sources,
                                                   const std::vector<ResourcePtr>& certificates,
                                                   ResourcePtr ip_rules = nullptr);

// Hex SHA-256 (first 16 bytes) of the deterministic serialisation.
std::string ContentVersion(const google::protobuf::Message& message);

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_SNAPSHOT_BUILDER_H_
