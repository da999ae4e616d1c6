// Docker Engine API JSON → routable services with their instance addresses (reference
// edgerouter.md §4.3–4.4, plus issue 5's rules). Pure: the caller fetches the JSON.
#ifndef EDGEROUTER_CONTROLPLANE_DOCKER_ADDRESSES_H_
#define EDGEROUTER_CONTROLPLANE_DOCKER_ADDRESSES_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controlplane/docker/labels.h"

namespace edgerouter::controlplane::docker {

// edgerouter's NETWORK_NAME: "bridge" (default), "_auto_" (the only network), or a name.
inline constexpr absl::string_view kDefaultNetwork = "bridge";
inline constexpr absl::string_view kAutoNetwork = "_auto_";

// One service to route: the app id, its labels and one address per instance.
struct DiscoveredService {
  std::string name;
  Labels labels;
  std::vector<std::string> addresses;   // IPs, discovery order
  std::vector<std::string> source_ids;  // container or task ids, parallel to `addresses`
  std::vector<std::string> ports;       // per-instance port labels, parallel; "" = service's
};

// A container/task/service that asked for routing but cannot be routed. `subject` is the
// container name, `<service>/<task id>` or the service name.
struct DiscoveryProblem {
  std::string subject;
  std::string error;
};

struct Discovered {
  std::vector<DiscoveredService> services;
  std::vector<DiscoveryProblem> problems;
};

// `/containers/json` items. Only containers that want routing (WantsRouting) and are
// running are considered; Swarm task containers are left to DiscoverSwarm. Containers whose
// id is in `stopping` (a stop signal was sent: they are draining) are left out silently.
//
// Address, first rule that applies: the container's network mode is `host` (or it has a
// `host` network) → 127.0.0.1; network `n` = `traefik.docker.network` label, else `network`;
// `_auto_` with exactly one network → its IP; Networks[n].IPAddress; for a label network
// also Networks["<compose project>_<n>"] (compose prefixes network names); only when `n`
// comes from the option (not the label), edgerouter's fallback to Networks["bridge"].
// No address → a problem, not routed. A container whose Status says `(health: starting)` or
// `(unhealthy)` is not routed yet (a problem says why).
//
// App ids: a plain container is its name without the leading "/" (edgerouter keeps the
// "/"; ids with a slash are awkward in URLs and metrics). Containers with the same
// `com.docker.compose.project` + `com.docker.compose.service` labels are replicas and become
// ONE service with N addresses, labels taken from the most recently created replica except
// the port: each replica keeps its own `traefik.port` (as Traefik's servers do). Its id is
// the project name, as in edgerouter, when that project has only one routed compose service
// (so ids, ACLs and metrics stay the same after a migration); when a project has several
// routed compose services, each gets `<project>_<service>` so that they do not collide.
absl::StatusOr<Discovered> DiscoverContainers(
    absl::string_view containers_json, absl::string_view network,
    const absl::flat_hash_set<std::string>& stopping = {});

// `/services` + `/tasks`. Only services that want routing (service spec labels) count.
// Tasks: ServiceID matches, `Status.State == "running"` and `DesiredState == "running"` (a
// task being shut down leaves before it stops: zero-error rolling updates), NodeID set. The
// address is `Addresses[0]` (CIDR stripped) of the attachment on network `n` (label or
// option; `_auto_` = the only attachment); a `host` attachment → the task's node address from
// `/nodes` (`Status.Addr`), else 127.0.0.1. `edgerouter.port_add_task_slot=true` adds the task's
// Slot to the port label, so replicas of a host-network service can share one node (each
// listens on port+slot, e.g. with `--env SLOT={{.Task.Slot}}`).
// `traefik.docker.lbswarm=true` / `traefik.swarm.lbswarm=true`: the service VIP on network
// `n` from `Endpoint.VirtualIPs` (network ids resolved to names through the tasks'
// attachments) instead; a dnsrr service has no VIP and falls back to tasks, like Traefik.
// A routed service with no usable instance is a problem.
absl::StatusOr<Discovered> DiscoverSwarm(absl::string_view services_json,
                                         absl::string_view tasks_json,
                                         absl::string_view network,
                                         absl::string_view nodes_json = "[]");

// ApplicationFromLabels for every service; label errors become problems of that service.
struct Built {
  std::vector<config::v1::Application> apps;
  std::vector<std::vector<CertResolverHost>> cert_resolvers;  // parallel to apps
  std::vector<DiscoveryProblem> problems;
};
Built BuildApplications(const Discovered& discovered);

}  // namespace edgerouter::controlplane::docker

#endif  // EDGEROUTER_CONTROLPLANE_DOCKER_ADDRESSES_H_
