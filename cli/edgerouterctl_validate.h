// `edgerouterctl app validate`: works with no control plane.
#ifndef EDGEROUTER_CLI_EDGEROUTERCTL_VALIDATE_H_
#define EDGEROUTER_CLI_EDGEROUTERCTL_VALIDATE_H_

#include <iosfwd>
#include <string>

namespace edgerouter::ctl {

// Validates one app or an applications.json (`{"apps":[…]}`). Prints the normalised JSON to
// `out` and returns 0, or prints every error to `err` and returns 1.
int ValidateAppsText(const std::string& text, std::ostream& out, std::ostream& err);

}  // namespace edgerouter::ctl

#endif  // EDGEROUTER_CLI_EDGEROUTERCTL_VALIDATE_H_
