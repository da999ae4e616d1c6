// Docker discovery reads the Engine API's JSON and labels anyone who can start a container
// controls. Input: the first byte picks containers (standalone) or services/tasks (Swarm), the
// rest is split on a NUL into the JSON documents. Invariant (labels.h): every app built is
// valid, and a bad container or label only becomes a problem of its own.
#include <cstdint>
#include <cstdlib>

#include "absl/strings/str_split.h"
#include "common/app_config.h"
#include "controlplane/docker/addresses.h"
#include "controlplane/docker/labels.h"

using namespace edgerouter::controlplane::docker;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<absl::string_view> parts = absl::StrSplit(input, absl::MaxSplits('\0', 3));
  parts.resize(4, "[]");
  absl::StatusOr<Discovered> discovered =
      data[0] % 2 == 0 ? DiscoverContainers(parts[0], "bridge") : DiscoverSwarm(parts[0], parts[1], "_auto_", parts[2]);
  if (discovered.ok()) {
    Built built = BuildApplications(*discovered);
    for (const auto& app : built.apps) {
      if (!edgerouter::config::ValidateApplication(app).empty()) abort();
    }
  }
  ParseV1Rule(input).ok();
  ParseV2Rule(input).ok();
  return 0;
}
