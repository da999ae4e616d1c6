// edgerouterctl iprules put|cat: IP allow rules as IpRulesUpdated events on the loadbalancer
// stream (docs/ip-rules.md).
#ifndef EDGEROUTER_CLI_CTL_IPRULES_COMMANDS_H_
#define EDGEROUTER_CLI_CTL_IPRULES_COMMANDS_H_

#include <iosfwd>

#include "cli/ctl_args.h"
#include "proto/admin.grpc.pb.h"
#include "proto/config.pb.h"

namespace edgerouter::ctl {

// put [FILE|-]: checks the file (line:column errors), appends IpRulesUpdated with its text to
// /t-$EDGEROUTER_TENANT/loadbalancer (tenant 1 by default); an empty file withdraws the
// stream's rules. cat: the rules the served snapshot holds, and where they came from.
int RunIpRulesCommand(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::istream& in,
                      std::ostream& out, std::ostream& err);

}  // namespace edgerouter::ctl

#endif  // EDGEROUTER_CLI_CTL_IPRULES_COMMANDS_H_
