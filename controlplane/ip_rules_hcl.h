// edgerouter's IP rules file (/etc/edgerouter/ip-rules.hcl), HCL1 with two block types:
//
//   allow_all { prefix = "192.168.1.0/24" }
//   allow_specified {
//     prefix = "100.56.80.66/32"
//     apps = ["test"]
//   }
//
// Parsed into the snapshot's IpRules in edgerouter's evaluation order (every allow_all in file
// order, then every allow_specified in file order). Errors name the line and column.
#ifndef EDGEROUTER_CONTROLPLANE_IP_RULES_HCL_H_
#define EDGEROUTER_CONTROLPLANE_IP_RULES_HCL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/config.pb.h"

namespace edgerouter::controlplane {

// InvalidArgument "<line>:<column>: <what>" for a syntax error, an unknown block or key, a bad
// CIDR, allow_specified without apps, or a file without rules (as edgerouter, which refuses to
// start on those). `origin` is not set.
absl::StatusOr<config::v1::IpRules> ParseIpRulesHcl(absl::string_view text);

// The rules as ip-rules.hcl text that parses back to them (`edgerouterctl iprules cat`).
std::string FormatIpRulesHcl(const config::v1::IpRules& rules);

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_IP_RULES_HCL_H_
