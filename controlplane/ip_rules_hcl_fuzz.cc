// edgerouter's ip-rules.hcl: any text either parses or is refused with an error (never a crash),
// and what parses formats to HCL that parses to the same rules (the control plane publishes what
// it parsed; `iprules cat` prints it back).
#include <cstdint>
#include <cstdlib>

#include "controlplane/ip_rules_hcl.h"
#include "google/protobuf/util/message_differencer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<edgerouter::config::v1::IpRules> rules = edgerouter::controlplane::ParseIpRulesHcl(text);
  if (!rules.ok()) return 0;
  absl::StatusOr<edgerouter::config::v1::IpRules> again =
      edgerouter::controlplane::ParseIpRulesHcl(edgerouter::controlplane::FormatIpRulesHcl(*rules));
  if (!again.ok() || !google::protobuf::util::MessageDifferencer::Equals(*rules, *again)) abort();
  return 0;
}
