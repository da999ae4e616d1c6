#include "dataplane/pipeline/registry.h"

#include "absl/strings/str_cat.h"

namespace edgerouter::pipeline {

CompileContext CompileContext::Inner(absl::string_view subfield) const {
  return CompileContext{registry, app_id, absl::StrCat(field, ".", subfield)};
}

absl::Status CompileContext::Error(absl::string_view subfield, absl::string_view what) const {
  return absl::InvalidArgumentError(
      absl::StrCat("app ", app_id, ": ", field, subfield.empty() ? "" : ".", subfield, ": ", what));
}

absl::Status CompileContext::Required(absl::string_view subfield) const { return Error(subfield, "required"); }

bool BackendRegistry::Register(std::string kind, BackendFactory factory) {
  return factories_.emplace(std::move(kind), std::move(factory)).second;
}

absl::Status BackendRegistry::Compile(const CompileContext& context, const config::v1::Backend& backend,
                                      ChainBuilder* chain) const {
  auto it = factories_.find(backend.kind());
  const BackendFactory& factory = it != factories_.end() ? it->second : fallback_;
  return factory(context, backend, chain);
}

absl::StatusOr<Chain> BackendRegistry::CompileChain(const std::string& app_id, const config::v1::Backend& backend,
                                                    ChainBuilder builder) const {
  const CompileContext context{this, app_id, "backend"};
  absl::Status s = Compile(context, backend, &builder);
  absl::StatusOr<Chain> chain = s.ok() ? builder.Build() : s;
  // Factories word their config errors with the app already; the builder's own do not.
  if (!chain.ok() && !absl::IsInvalidArgument(chain.status())) {
    return absl::Status(chain.status().code(), absl::StrCat("app ", app_id, ": ", chain.status().message()));
  }
  return chain;
}

}  // namespace edgerouter::pipeline
