// `edgerouterctl eventhorizon …`: EventHorizon's own admin commands, with edgerouter's names,
// talking to DynamoDB directly (config from $EVENTHORIZON, endpoint from AWS_ENDPOINT_URL*):
//   bootstrap                 create the table if needed (idempotent), then "/" and "/_sub"
//   stream-create PATH        create PATH under its existing parent
//   read STREAM VERSION       print the entries after VERSION
//   append STREAM LINE        append one event line (EventHorizon's line format)
#ifndef EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_EVENTHORIZON_CLI_H_
#define EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_EVENTHORIZON_CLI_H_

#include <iosfwd>
#include <string>
#include <vector>

namespace edgerouter::eventhorizon {

// `args` are the words after "eventhorizon". Exit code: 0 ok, 1 failure, 2 usage error.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace edgerouter::eventhorizon

#endif  // EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_EVENTHORIZON_CLI_H_
