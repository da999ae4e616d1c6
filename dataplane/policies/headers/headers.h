// policies.headers (Traefik's headers middleware): request and response field rewrites, the
// security preset (HSTS on HTTPS responses, nosniff, frame options, Referrer-Policy) and CORS
// (preflights from allowed origins answered here; allowed origins' responses get the allow
// fields). Only the parts a config uses become chain stages: an app without the policy, or
// without CORS, pays nothing for them.
#ifndef EDGEROUTER_DATAPLANE_POLICIES_HEADERS_HEADERS_H_
#define EDGEROUTER_DATAPLANE_POLICIES_HEADERS_HEADERS_H_

#include <string>

#include "absl/status/status.h"
#include "dataplane/pipeline/chain.h"
#include "proto/config.pb.h"

namespace edgerouter::policies {

// Adds the policy's stages: the CORS preflight as an access stage (before any auth stage the
// backend adds: browsers send preflights without credentials), the request rewrite as a request
// stage, the response rewrite as a response stage. The config was validated (app_config.cc).
void AddHeadersAccess(const config::v1::HeadersPolicy& policy, pipeline::ChainBuilder* chain);
void AddHeadersStages(const config::v1::HeadersPolicy& policy, pipeline::ChainBuilder* chain);

}  // namespace edgerouter::policies

#endif  // EDGEROUTER_DATAPLANE_POLICIES_HEADERS_HEADERS_H_
