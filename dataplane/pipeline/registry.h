// Backend kinds by name: each kind's factory turns the snapshot's Backend proto into chain
// parts (its terminal handler, and for wrappers such as auth_v0 an access stage plus the inner
// backend's parts). Compiling looks the factory up by `Backend.kind`; kinds nobody registered
// get the fallback factory (the data plane's answers 502 "not supported"). The data plane's
// registrations are the list in dataplane/backends/builtin.cc.
#ifndef EDGEROUTER_DATAPLANE_PIPELINE_REGISTRY_H_
#define EDGEROUTER_DATAPLANE_PIPELINE_REGISTRY_H_

#include <functional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "dataplane/pipeline/chain.h"
#include "proto/config.pb.h"

namespace edgerouter::pipeline {

class BackendRegistry;

// What a factory knows besides its Backend: whose it is and where in the app it sits.
struct CompileContext {
  const BackendRegistry* registry;  // wrappers compile their inner backend through it
  std::string app_id;
  std::string field;  // "backend", "backend.auth_v0_opts.authorized_backend", ...

  // The same app, one backend deeper (`field` extended by `subfield`).
  CompileContext Inner(absl::string_view subfield) const;
  // InvalidArgument "app <id>: <field>.<subfield>: <what>" (as the app validator words it).
  absl::Status Error(absl::string_view subfield, absl::string_view what) const;
  // The field is missing or empty.
  absl::Status Required(absl::string_view subfield) const;
};

using BackendFactory =
    std::function<absl::Status(const CompileContext& context, const config::v1::Backend& backend, ChainBuilder* chain)>;

class BackendRegistry {
 public:
  explicit BackendRegistry(BackendFactory fallback) : fallback_(std::move(fallback)) {}

  // False (and nothing changes) when `kind` is registered already.
  bool Register(std::string kind, BackendFactory factory);
  bool Has(absl::string_view kind) const { return factories_.contains(kind); }

  // Adds `backend`'s parts to `chain` (context.field names it in errors).
  absl::Status Compile(const CompileContext& context, const config::v1::Backend& backend, ChainBuilder* chain) const;
  // An app's whole chain from its top-level backend.
  // `builder` may hold stages that come before the backend's (the data plane's IP rules).
  absl::StatusOr<Chain> CompileChain(const std::string& app_id, const config::v1::Backend& backend,
                                     ChainBuilder builder = {}) const;

 private:
  absl::flat_hash_map<std::string, BackendFactory> factories_;
  BackendFactory fallback_;
};

}  // namespace edgerouter::pipeline

#endif  // EDGEROUTER_DATAPLANE_PIPELINE_REGISTRY_H_
