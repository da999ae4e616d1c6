// The immutable runtime config a snapshot compiles into: route table, per-app request chains
// (dataplane/pipeline; each backend kind's parts from dataplane/backends), and the admin page. Built on the xDS thread (blocking work such as name
// resolution happens there), published to workers with one atomic pointer swap. A delta is
// compiled against the previous config: unchanged apps (same resource version) are the same
// objects, so an apply costs O(change), not O(apps).
#ifndef EDGEROUTER_DATAPLANE_PROXY_RUNTIME_CONFIG_H_
#define EDGEROUTER_DATAPLANE_PROXY_RUNTIME_CONFIG_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dataplane/backends/ip_rules/ip_rules.h"
#include "dataplane/pipeline/chain.h"
#include "dataplane/acme/challenge_responder.h"
#include "dataplane/routing/route_table.h"
#include "dataplane/tls/cert_store.h"
#include "dataplane/util/sharded_map.h"
#include "dataplane/xds/resource_map.h"
#include "proto/snapshot.pb.h"

namespace edgerouter::proxy {

// One compiled app, immutable and shared by every config while its resource is unchanged; the
// route table's mounts point at it.
struct AppRuntime : routing::RouteTarget {
  std::string id;
  std::string version;  // the resource's version (content hash): same version, same object
  std::shared_ptr<const snapshot::v1::Resource> source;  // frontends (to unroute it), admin page
  pipeline::Chain chain;  // what a request routed to the app goes through
  bool serves_metrics = false;  // the terminal needs the metrics text (prom_metrics)
  bool serves_admin = false;    // the terminal needs the admin page (edgerouter_admin)

  explicit AppRuntime(pipeline::Chain c) : chain(std::move(c)) {}
};

struct RuntimeConfig {
  std::string version;
  util::ShardedMap<std::shared_ptr<const AppRuntime>> apps;  // by resource name
  std::unique_ptr<routing::RouteTable> routes;
  xds::ResourceMap resources;  // what was compiled: /config_dump renders it on request
  // edgerouter_admin HTML, rendered at compile time only while some app serves it (workers
  // serve it and must not render 100k apps per request).
  std::string admin_page;
  absl::Time applied_at;
  size_t resource_count = 0;
  size_t metrics_apps = 0;
  size_t admin_apps = 0;
  bool has_prom_metrics = false;  // some app serves metrics (directly or behind auth_v0)
  std::shared_ptr<const tls::CertStore> certs;  // SNI → certificate context
  std::shared_ptr<const std::vector<std::string>> cert_names;  // certificate resources, sorted
  std::shared_ptr<const dpacme::ChallengeTokens> acme_challenges;  // ACME HTTP-01 tokens (null: none)
  // The "iprules" resource compiled (null: no filtering). Every app's chain starts with the
  // ip_rules access stage, which reads this through the Exchange.
  std::shared_ptr<const backends::IpRuleSet> ip_rules;
  std::string ip_rules_version;
};

struct CompileOptions {
  // Key unwrapper, --default_cert / --dev_cert, and the previous store (unchanged certificates
  // keep their contexts: no second decryption).
  tls::CertStoreOptions certs;
  int workers = 1;  // threads that route requests (each gets its own compiled regexps)
};

// Compiles a state. Fails (-> NACK) only when the snapshot is unusable as a whole (e.g. a
// regexp that does not compile); an origin that does not resolve makes only that origin fail,
// and a certificate that cannot be used only that certificate. With a `previous` config, apps
// whose resource version is unchanged are reused as they are (validation, origin parsing and
// resolution only for changed apps); for a delta only its changed/removed names are looked at.
absl::StatusOr<std::shared_ptr<const RuntimeConfig>> CompileUpdate(const xds::SnapshotView& update,
                                                                   const RuntimeConfig* previous,
                                                                   const CompileOptions& options = {});
// From scratch (tests and tools).
absl::StatusOr<std::shared_ptr<const RuntimeConfig>> CompileSnapshot(const snapshot::v1::Snapshot& snapshot,
                                                                     const CompileOptions& options = {});

// /config_dump: the compiled snapshot as indented JSON (rendered on request, off the workers).
std::string RenderConfigDump(const RuntimeConfig& config);

}  // namespace edgerouter::proxy

#endif  // EDGEROUTER_DATAPLANE_PROXY_RUNTIME_CONFIG_H_
