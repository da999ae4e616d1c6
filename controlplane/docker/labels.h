// Docker/Swarm labels → one edgerouter Application (reference edgerouter.md §4.5, plus the
// Traefik forms of issue 5). Pure: no engine access; errors are per service and never affect
// any other service.
#ifndef EDGEROUTER_CONTROLPLANE_DOCKER_LABELS_H_
#define EDGEROUTER_CONTROLPLANE_DOCKER_LABELS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/config.pb.h"

namespace edgerouter::controlplane::docker {

using Labels = std::map<std::string, std::string>;

// True when the labels ask for routing: a non-empty `traefik.frontend.rule` or any
// `traefik.http.routers.<r>.rule`, and `traefik.enable` is not "false". Address choice uses
// it so that unlabelled containers are neither routed nor reported.
bool WantsRouting(const Labels& labels);

// Network named by `traefik.docker.network` ("" when absent).
std::string NetworkLabel(const Labels& labels);

// `traefik.docker.lbswarm=true` (v2) or `traefik.swarm.lbswarm=true` (v3).
bool WantsSwarmVip(const Labels& labels);

// The port an instance's own labels ask for: `traefik.port`, else the v2/v3
// `loadbalancer.server.port`; "" when neither is set.
std::string PortLabel(const Labels& labels);

// Builds the app for one service/container. `addresses` are instance IPs (v4 or v6) in
// discovery order; the port comes from the labels, or per instance from `instance_ports`
// (parallel to `addresses`; "" = the labels' port) — compose replicas, like Traefik's servers,
// each keep their own port label. Returns nullopt when the service does not
// opt in (see WantsRouting), InvalidArgument with edgerouter's error text for bad labels, and
// FailedPrecondition when there is no instance. A returned app passes ValidateApplication.
//
// Precedence: the v1 rule (`traefik.frontend.rule`) wins over v2/v3 router rules when both
// are present, and `traefik.port` / `traefik.protocol` win over
// `traefik.http.services.<s>.loadbalancer.server.port` / `.scheme`.
absl::StatusOr<std::optional<config::v1::Application>> ApplicationFromLabels(
    absl::string_view service_name, const Labels& labels,
    const std::vector<std::string>& addresses, const std::vector<std::string>& instance_ports = {});

// Hosts whose Traefik v2/v3 router asks for a certificate
// (`traefik.http.routers.<r>.tls.certresolver=<name>`): the router's exact Host() names (host
// regexps too, kind "hostname_regexp", for the ACME issuer to report as skipped), sorted.
// Routers without a parseable rule are left out (ApplicationFromLabels reports them).
struct CertResolverHost {
  std::string host;
  std::string resolver;
  bool regexp = false;
};
std::vector<CertResolverHost> CertResolverHosts(const Labels& labels);

// Frontends of a v1 rule (`Host:a,b;PathPrefix:/p`), exposed for tests and `edgerouterctl`.
absl::StatusOr<std::vector<config::v1::Frontend>> ParseV1Rule(absl::string_view rule);

// Frontends of a v2/v3 rule (``Host(`a`) || Host(`b`) && PathPrefix(`/p`)``).
absl::StatusOr<std::vector<config::v1::Frontend>> ParseV2Rule(absl::string_view rule);

}  // namespace edgerouter::controlplane::docker

#endif  // EDGEROUTER_CONTROLPLANE_DOCKER_LABELS_H_
