// edgerouterctl: operator CLI. `app validate` works offline; the other commands talk to the
// control plane's Admin service (--controlplane, $EDGEROUTER_CONTROLPLANE, 127.0.0.1:18000).
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli/ctl_args.h"
#include "cli/ctl_commands.h"
#include "common/version.h"
#include "controlplane/eventlog/eventhorizon/eventhorizon_cli.h"

int main(int argc, char** argv) {
  using edgerouter::ctl::Invocation;
  std::vector<std::string> args(argv + 1, argv + argc);
  // EventHorizon's own commands talk to DynamoDB directly, not to the control plane.
  if (!args.empty() && args[0] == "eventhorizon") return edgerouter::eventhorizon::RunCli({args.begin() + 1, args.end()}, std::cout, std::cerr);
  Invocation inv;
  std::string error;
  if (!edgerouter::ctl::ParseArgs(args, std::getenv(edgerouter::ctl::kControlPlaneEnv), &inv,
                                  &error)) {
    std::cerr << "edgerouterctl: " << error << "\n" << edgerouter::ctl::UsageText();
    return 2;
  }
  if (inv.version) {
    std::cout << edgerouter::VersionLine("edgerouterctl");
    return 0;
  }
  if (inv.help) {
    std::cout << edgerouter::ctl::UsageText();
    return 0;
  }
  return edgerouter::ctl::RunInvocation(inv, std::cin, std::cout, std::cerr);
}
