// auth_sso: function61/id single sign-on in front of an inner backend (docs/sso.md). An access
// stage checks the Ed25519 JWT from `Authorization: Bearer` or the `auth` cookie (audience,
// expiry, allowed users) and serves /_auth/redirect and /_auth/logout itself.
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_AUTH_SSO_AUTH_SSO_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_AUTH_SSO_AUTH_SSO_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "dataplane/backends/auth_sso/jwks_source.h"
#include "dataplane/pipeline/chain.h"
#include "dataplane/pipeline/registry.h"
#include "proto/config.pb.h"

namespace edgerouter::backends {

absl::Status CompileAuthSso(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                            pipeline::ChainBuilder* chain);

// The stage with a given key source (tests use a fixed key set instead of an ID server).
struct SsoOptions {
  std::string id_server_url;  // without a trailing '/'
  std::string audience;
  std::vector<std::string> allowed_user_ids;
};
std::unique_ptr<const pipeline::AccessStage> MakeAuthSso(SsoOptions options,
                                                         std::function<std::shared_ptr<const sso::KeySet>()> keys,
                                                         std::function<void()> request_refresh);

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_AUTH_SSO_AUTH_SSO_H_
