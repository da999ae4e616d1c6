// edgerouterctl's fleet views, from the nodes' periodic reports (ListNodes): `nodes` (one row
// per data plane: connection, versions, NACK, traffic, origins, certificates) and `top` (the
// busiest apps summed over the fleet, then failing origins and soonest-expiring certificates).
#ifndef EDGEROUTER_CLI_CTL_NODE_COMMANDS_H_
#define EDGEROUTER_CLI_CTL_NODE_COMMANDS_H_

#include <cstdint>
#include <iosfwd>
#include <string>

#include "cli/ctl_args.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter::ctl {

bool IsNodeCommand(Command command);
// Exit code: 0 ok, 1 failure (with one error line on `err`).
int RunNodeCommand(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& out,
                   std::ostream& err);

// Pure formatting (tests): `now_unix_ms` dates the report ages and certificate expiries.
std::string FormatNodeReports(const admin::v1::ListNodesResponse& response, int64_t now_unix_ms);
std::string FormatTop(const admin::v1::ListNodesResponse& response, int64_t now_unix_ms);

}  // namespace edgerouter::ctl

#endif  // EDGEROUTER_CLI_CTL_NODE_COMMANDS_H_
