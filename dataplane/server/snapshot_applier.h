// The apply step of the data plane: the xDS client hands it each accepted-for-trial state (a
// full state or a delta over its resource map); it checks the app budget, compiles the state
// against the config being served (unchanged apps and certificates reused), and publishes the
// result to the workers with one atomic swap. An error leaves the served config as it was; the
// xDS client then NACKs with the error text and does not persist the state (ACK and the
// last-good copy in --state_dir follow an OK).
#ifndef EDGEROUTER_DATAPLANE_SERVER_SNAPSHOT_APPLIER_H_
#define EDGEROUTER_DATAPLANE_SERVER_SNAPSHOT_APPLIER_H_

#include <cstddef>

#include "absl/status/status.h"
#include "dataplane/proxy/runtime_config.h"
#include "dataplane/proxy/worker.h"
#include "dataplane/tls/cert_store.h"
#include "dataplane/xds/resource_map.h"

namespace edgerouter::dataplane {

struct SnapshotApplierOptions {
  // Unwrapper and --default_cert / --dev_cert; `previous` and `now` are set per apply.
  tls::CertStoreOptions certs;
  int workers = 1;
  // States with more apps are rejected: a guard against runaway configs.
  size_t max_apps = 100000;
};

class SnapshotApplier {
 public:
  // Publishes into `configs` (which the workers read); not owned.
  SnapshotApplier(SnapshotApplierOptions options, proxy::ConfigSource* configs);

  // Compiles and publishes `update`; an error rejects it and keeps the served config. One
  // thread at a time (the xDS client's).
  absl::Status Apply(const xds::SnapshotView& update);

  size_t app_count() const { return app_count_; }

 private:
  // Apps in `update`: counted over the map for a full state, else from the served count and
  // the delta (a delta does not recount 100k apps).
  size_t CountApps(const xds::SnapshotView& update, const proxy::RuntimeConfig* previous) const;

  const SnapshotApplierOptions options_;
  proxy::ConfigSource* const configs_;
  size_t app_count_ = 0;  // apps of the published config
};

}  // namespace edgerouter::dataplane

#endif  // EDGEROUTER_DATAPLANE_SERVER_SNAPSHOT_APPLIER_H_
