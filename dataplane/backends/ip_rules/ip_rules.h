// IP allow rules (docs/ip-rules.md): the snapshot's IpRules compiled once per config, and the
// access stage every app's chain starts with. The stage reads the rules of the config the
// request was routed with (Exchange::ip_rules), so a rules change recompiles no app.
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_IP_RULES_IP_RULES_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_IP_RULES_IP_RULES_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "common/net/ip_prefix.h"
#include "dataplane/pipeline/stage.h"
#include "proto/config.pb.h"

namespace edgerouter::backends {

class IpRuleSet {
 public:
  // Fails on a prefix that does not parse (the control plane checked it already).
  static absl::StatusOr<std::shared_ptr<const IpRuleSet>> Compile(const config::v1::IpRules& rules);

  // nullopt: `client_ip` may reach `app_id`. Otherwise the 403 body, as edgerouter words it:
  // the first rule (in order) whose prefix holds the address decides; none → implicit deny.
  std::optional<std::string> Deny(absl::string_view app_id, absl::string_view client_ip) const;
  size_t size() const { return rules_.size(); }

 private:
  struct Rule {
    net::IpPrefix prefix;
    absl::flat_hash_set<std::string> apps;  // empty: every app
  };
  std::vector<Rule> rules_;
};

// The first access stage of every app (added by CompileAppChain in builtin.cc).
std::unique_ptr<const pipeline::AccessStage> MakeIpRulesAccess(std::string app_id);

// The app's own allow list (`policies.ip_allow_list`, e.g. from Traefik's ipallowlist label),
// checked after the global rules: a client must pass both. nullptr for an empty list, so an app
// without one pays nothing. Fails on an entry that is not a prefix or address.
absl::StatusOr<std::unique_ptr<const pipeline::AccessStage>> MakeIpAllowListAccess(
    const google::protobuf::RepeatedPtrField<std::string>& allow_list);

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_IP_RULES_IP_RULES_H_
