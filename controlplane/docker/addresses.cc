#include "controlplane/docker/addresses.h"

#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace edgerouter::controlplane::docker {
namespace {

using Json = nlohmann::json;

constexpr absl::string_view kHostIp = "127.0.0.1";

std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

const Json& Obj(const Json& j, const char* key) {
  static const Json kEmpty = Json::object();
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : kEmpty;
}

// Field of an object, or `fallback` when absent or of another type (json::value throws then).
Json Field(const Json& j, const char* key, Json fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->type() == fallback.type() ? *it : fallback;
}

Labels ToLabels(const Json& j) {
  Labels out;
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it->is_string()) out[it.key()] = it->get<std::string>();
  }
  return out;
}

absl::StatusOr<Json> ParseArray(absl::string_view text, absl::string_view what) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": expected a JSON array"));
  }
  return j;
}

std::string StripCidr(absl::string_view addr) {
  return std::string(addr.substr(0, addr.find('/')));
}

std::string NetworkNames(const Json& networks) {
  std::vector<std::string> names;
  for (auto it = networks.begin(); it != networks.end(); ++it) names.push_back(it.key());
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

// One container's address, or an error saying why there is none.
absl::StatusOr<std::string> ContainerAddress(const Json& c, const Labels& labels,
                                             absl::string_view option_network) {
  const Json& networks = Obj(Obj(c, "NetworkSettings"), "Networks");
  if (Str(Obj(c, "HostConfig"), "NetworkMode") == "host" || networks.contains("host")) {
    return std::string(kHostIp);
  }
  const std::string label_network = NetworkLabel(labels);
  const std::string network = label_network.empty() ? std::string(option_network) : label_network;
  auto ip_on = [&](const std::string& name) -> std::string {
    auto it = networks.find(name);
    return it != networks.end() && it->is_object() ? Str(*it, "IPAddress") : "";
  };
  std::string ip;
  if (network == kAutoNetwork) {
    if (networks.size() == 1) ip = Str(networks.begin().value(), "IPAddress");
  } else {
    ip = ip_on(network);
  }
  const std::string project = labels.count("com.docker.compose.project")
                                  ? labels.at("com.docker.compose.project")
                                  : "";
  if (ip.empty() && !label_network.empty() && !project.empty()) {
    ip = ip_on(absl::StrCat(project, "_", label_network));
  }
  if (ip.empty() && label_network.empty()) ip = ip_on(std::string(kDefaultNetwork));
  if (ip.empty()) {
    return absl::NotFoundError(absl::StrCat("no usable address on network '", network,
                                            "' (container networks: ", NetworkNames(networks),
                                            ")"));
  }
  return ip;
}

struct Replica {
  std::string id, address;
  Labels labels;
  int64_t created = 0;
};

struct Group {
  std::string project, service;  // empty for plain containers
  std::string name;              // plain container name
  std::vector<Replica> replicas;
};

}  // namespace

absl::StatusOr<Discovered> DiscoverContainers(absl::string_view containers_json,
                                              absl::string_view network,
                                              const absl::flat_hash_set<std::string>& stopping) {
  auto parsed = ParseArray(containers_json, "containers");
  if (!parsed.ok()) return parsed.status();
  Discovered out;
  std::vector<Group> groups;
  std::map<std::pair<std::string, std::string>, size_t> compose_index;
  for (const Json& c : *parsed) {
    if (!c.is_object()) continue;
    Labels labels = ToLabels(Field(c, "Labels", Json::object()));
    // Task containers carry the container spec's labels, not the service's: Swarm
    // discovery routes them.
    if (labels.count("com.docker.swarm.task.id") || !WantsRouting(labels)) continue;
    std::string name;
    if (auto names = c.find("Names"); names != c.end() && names->is_array() && !names->empty() &&
                                      (*names)[0].is_string()) {
      name = (*names)[0].get<std::string>();
      if (absl::StartsWith(name, "/")) name.erase(0, 1);
    }
    const std::string id = Str(c, "Id");
    if (stopping.contains(id)) continue;
    if (name.empty()) name = id.substr(0, 12);
    const std::string state = Str(c, "State");
    if (!state.empty() && state != "running") continue;
    const std::string status = Str(c, "Status");
    if (absl::StrContains(status, "(health: starting)") || absl::StrContains(status, "(unhealthy)")) {
      out.problems.push_back({name, absl::StrCat("not routed until healthy: ", status)});
      continue;
    }
    auto address = ContainerAddress(c, labels, network);
    if (!address.ok()) {
      out.problems.push_back({name, std::string(address.status().message())});
      continue;
    }
    // Seconds since the epoch; parsed as unsigned, so test is_number, not the exact type.
    const auto created = c.find("Created");
    Replica r{id, *address, labels,
              created != c.end() && created->is_number() ? created->get<int64_t>() : 0};
    const std::string project = labels.count("com.docker.compose.project")
                                    ? labels["com.docker.compose.project"] : "";
    const std::string service = labels.count("com.docker.compose.service")
                                    ? labels["com.docker.compose.service"] : "";
    if (!project.empty() && !service.empty()) {
      auto [it, inserted] = compose_index.try_emplace({project, service}, groups.size());
      if (inserted) groups.push_back(Group{project, service, "", {}});
      groups[it->second].replicas.push_back(std::move(r));
    } else {
      groups.push_back(Group{"", "", name, {}});
      groups.back().replicas.push_back(std::move(r));
    }
  }
  std::map<std::string, int> services_per_project;
  for (const auto& [key, index] : compose_index) ++services_per_project[key.first];
  for (Group& g : groups) {
    DiscoveredService s;
    if (g.project.empty()) {
      s.name = g.name;
    } else {
      s.name = services_per_project[g.project] == 1 ? g.project
                                                    : absl::StrCat(g.project, "_", g.service);
    }
    const Replica* newest = &g.replicas.front();
    for (const Replica& r : g.replicas) {
      if (r.created > newest->created) newest = &r;
      s.addresses.push_back(r.address);
      s.source_ids.push_back(r.id);
      s.ports.push_back(PortLabel(r.labels));
    }
    s.labels = newest->labels;
    out.services.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<Discovered> DiscoverSwarm(absl::string_view services_json,
                                         absl::string_view tasks_json,
                                         absl::string_view network,
                                         absl::string_view nodes_json) {
  auto services = ParseArray(services_json, "services");
  if (!services.ok()) return services.status();
  auto tasks = ParseArray(tasks_json, "tasks");
  if (!tasks.ok()) return tasks.status();
  auto nodes = ParseArray(nodes_json, "nodes");
  if (!nodes.ok()) return nodes.status();
  // Host-network tasks listen on their node's address.
  std::map<std::string, std::string> node_addresses;
  for (const Json& n : *nodes) {
    const std::string addr = Str(Obj(n, "Status"), "Addr");
    if (!addr.empty() && addr != "0.0.0.0") node_addresses[Str(n, "ID")] = addr;
  }

  // Network id → name, learnt from the task attachments (services only carry ids).
  std::map<std::string, std::string> network_names;
  for (const Json& t : *tasks) {
    for (const Json& a : Field(t, "NetworksAttachments", Json::array())) {
      const Json& n = Obj(a, "Network");
      network_names[Str(n, "ID")] = Str(Obj(n, "Spec"), "Name");
    }
  }

  Discovered out;
  for (const Json& svc : *services) {
    if (!svc.is_object()) continue;
    const Json& spec = Obj(svc, "Spec");
    const std::string name = Str(spec, "Name");
    const std::string service_id = Str(svc, "ID");
    Labels labels = ToLabels(Field(spec, "Labels", Json::object()));
    if (!WantsRouting(labels)) continue;
    const std::string label_network = NetworkLabel(labels);
    const std::string net = label_network.empty() ? std::string(network) : label_network;
    DiscoveredService s{name, labels, {}, {}, {}};
    auto add_slot_label = labels.find("edgerouter.port_add_task_slot");
    const bool add_slot = add_slot_label != labels.end() && add_slot_label->second == "true";
    const std::string port_label = PortLabel(labels);

    const Json& endpoint = Obj(svc, "Endpoint");
    const Json vips = Field(endpoint, "VirtualIPs", Json::array());
    if (WantsSwarmVip(labels) && vips.is_array() && !vips.empty()) {
      std::vector<std::string> candidates;
      for (const Json& v : vips) {
        const std::string addr = StripCidr(Str(v, "Addr"));
        if (addr.empty()) continue;
        if (net == kAutoNetwork || network_names[Str(v, "NetworkID")] == net) {
          candidates.push_back(addr);
        }
      }
      if (candidates.size() == 1 || (net != kAutoNetwork && !candidates.empty())) {
        s.addresses.push_back(candidates.front());
        s.source_ids.push_back(service_id);
        out.services.push_back(std::move(s));
      } else {
        out.problems.push_back({name, absl::StrCat("no service VIP on network '", net, "'")});
      }
      continue;
    }

    for (const Json& t : *tasks) {
      if (!t.is_object() || Str(t, "ServiceID") != service_id) continue;
      if (Str(Obj(t, "Status"), "State") != "running" || Str(t, "DesiredState") != "running" ||
          Str(t, "NodeID").empty()) {
        continue;
      }
      const std::string task_id = Str(t, "ID");
      const Json attachments = Field(t, "NetworksAttachments", Json::array());
      std::string ip;
      bool host = false;
      for (const Json& a : attachments) {
        const std::string a_name = Str(Obj(Obj(a, "Network"), "Spec"), "Name");
        if (a_name == "host") host = true;
        const bool chosen = net == kAutoNetwork ? attachments.size() == 1 : a_name == net;
        const Json addrs = Field(a, "Addresses", Json::array());
        if (chosen && addrs.is_array() && !addrs.empty() && addrs[0].is_string()) {
          ip = StripCidr(addrs[0].get<std::string>());
        }
      }
      if (ip.empty() && host) {
        auto node = node_addresses.find(Str(t, "NodeID"));
        ip = node != node_addresses.end() ? node->second : std::string(kHostIp);
      }
      if (ip.empty()) {
        out.problems.push_back({absl::StrCat(name, "/", task_id),
                                absl::StrCat("no usable address on network '", net, "'")});
        continue;
      }
      std::string port;
      if (add_slot) {
        int base = 0;
        const auto slot = t.find("Slot");
        if (!absl::SimpleAtoi(port_label, &base) || slot == t.end() || !slot->is_number()) {
          out.problems.push_back({absl::StrCat(name, "/", task_id),
                                  "edgerouter.port_add_task_slot needs a numeric port label and a task slot"});
          continue;
        }
        port = absl::StrCat(base + slot->get<int>());
      }
      s.addresses.push_back(ip);
      s.source_ids.push_back(task_id);
      s.ports.push_back(std::move(port));
    }
    if (s.addresses.empty()) {
      out.problems.push_back({name, "no running task with a usable address"});
    } else {
      out.services.push_back(std::move(s));
    }
  }
  return out;
}

Built BuildApplications(const Discovered& discovered) {
  Built out;
  out.problems = discovered.problems;
  for (const DiscoveredService& s : discovered.services) {
    auto app = ApplicationFromLabels(s.name, s.labels, s.addresses, s.ports);
    if (!app.ok()) {
      out.problems.push_back({s.name, std::string(app.status().message())});
    } else if (app->has_value()) {
      out.apps.push_back(**app);
      out.cert_resolvers.push_back(CertResolverHosts(s.labels));
    }
  }
  return out;
}

}  // namespace edgerouter::controlplane::docker
