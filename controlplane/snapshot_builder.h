// Merges every source into one immutable snapshot. Deterministic: the same inputs give the same
// snapshot (resources sorted by name, versions are content hashes). Each app is validated on its
// own; a bad app or a duplicate id is left out and reported, never blocking the others.
//
// Apps and certificates are "prepared" once, when their source changes (validated, turned into
// a Resource, hashed), and a SnapshotBuilder keeps the last snapshot's sets, so a build after a
// change re-resolves only the changed ids: O(changed apps), not O(apps).
#ifndef EDGEROUTER_CONTROLPLANE_SNAPSHOT_BUILDER_H_
#define EDGEROUTER_CONTROLPLANE_SNAPSHOT_BUILDER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "controlplane/chunked_set.h"
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

using PreparedAppPtr = std::shared_ptr<const PreparedApp>;

struct ResourceTraits {
  static absl::string_view Key(const ResourcePtr& r) { return r->name(); }
  // First 16 bytes of SHA-256 over the chunk's "name\nversion\n" lines.
  static std::string Digest(const std::vector<ResourcePtr>& chunk);
};
struct AppTraits {
  static absl::string_view Key(const PreparedAppPtr& a) { return a->id; }
  static std::string Digest(const std::vector<PreparedAppPtr>&) { return {}; }
};
using ResourceSet = ChunkedSet<ResourcePtr, ResourceTraits>;
using AppSet = ChunkedSet<PreparedAppPtr, AppTraits>;

struct BuiltSnapshot {
  // Hex SHA-256 (16 bytes) over the resource chunks' digests: a function of the sorted (name,
  // version) pairs alone (chunking is content-defined), so equal inputs give equal versions.
  std::string version;
  ResourceSet resources;                             // sorted by name
  std::vector<snapshot::v1::RejectedItem> rejected;  // sorted by (source, id, reason)
  AppSet apps;                                       // served apps, sorted by id
  absl::Time built_at;

  snapshot::v1::Snapshot ToProto() const;
  const snapshot::v1::Resource* Find(const std::string& name) const;
  // Where a served app came from ("" if it is not served).
  std::string OriginOf(const std::string& app_id) const;
};

// Every source's copy of one app id, in precedence order (an absent id: empty).
struct AppCandidates {
  std::string id;
  std::vector<PreparedAppPtr> apps;
};

// Builds snapshots change by change. Not thread-safe: one builder thread uses it.
class SnapshotBuilder {
 public:
  // `changed`: the ids whose candidates changed since the last build, sorted and unique, each
  // with all its current candidates. `certificates`: the "cert/<id>" resources that changed since
  // the last build (null: removed), sorted by name: a cluster may hold as many as apps.
  // `others`: every other non-app resource (ACME challenges, "iprules"); few, so they are diffed
  // against the last build by name. `source_rejections`: what the sources reported themselves
  // (unparsable files...).
  std::shared_ptr<const BuiltSnapshot> Build(const std::vector<AppCandidates>& changed,
                                             std::vector<ResourceSet::Change> certificates,
                                             const std::vector<ResourcePtr>& others,
                                             std::vector<snapshot::v1::RejectedItem> source_rejections);

 private:
  ResourceSet resources_;
  AppSet apps_;
  std::map<std::string, ResourcePtr> others_;  // by name
  std::map<std::string, std::vector<snapshot::v1::RejectedItem>> app_rejections_;  // by app id
};

// The whole build at once (tests, tools): the same result as a SnapshotBuilder fed change by
// change. `ip_rules`: the "iprules" resource, or null for no filtering.
std::shared_ptr<const BuiltSnapshot> BuildSnapshot(const std::vector<const AppSource*>& sources,
                                                   const std::vector<ResourcePtr>& certificates,
                                                   ResourcePtr ip_rules = nullptr);

// Hex SHA-256 (first 16 bytes) of the deterministic serialisation.
std::string ContentVersion(const google::protobuf::Message& message);

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_SNAPSHOT_BUILDER_H_
