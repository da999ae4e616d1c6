// Traefik v2/v3 middleware and load-balancer labels → an app's traffic policies (docs/docker.md,
// "Traefik labels"). Label names are matched case-insensitively, as Traefik does; values are
// validated, and every label under a middleware, healthcheck or sticky that has no edgerouter
// equivalent is an error (never silently ignored). Pure: no engine access.
#ifndef EDGEROUTER_CONTROLPLANE_DOCKER_TRAEFIK_POLICIES_H_
#define EDGEROUTER_CONTROLPLANE_DOCKER_TRAEFIK_POLICIES_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "proto/config.pb.h"

namespace edgerouter::controlplane::docker {

// Defines the middlewares of `traefik.http.middlewares.<m>.*`, attaches those that
// `traefik.http.routers.<r>.middlewares=a,b@docker` names to `app->policies`, and maps
// `traefik.http.services.<s>.loadbalancer.{healthcheck,sticky}.*` onto `rp`. All problems are
// returned at once (joined by "; "), each naming its label.
absl::Status ApplyTraefikPolicies(const std::map<std::string, std::string>& labels,
                                  config::v1::Application* app, config::v1::ReverseProxyOpts* rp);

}  // namespace edgerouter::controlplane::docker

#endif  // EDGEROUTER_CONTROLPLANE_DOCKER_TRAEFIK_POLICIES_H_
