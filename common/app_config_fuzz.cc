// The edgerouter JSON codec and app validation on untrusted text (AppUpdated payloads, the
// admin API, applications.json): never crash, and normalisation is a fixed point — an accepted
// app, written back as edgerouter JSON, parses to an app that writes the same JSON.
#include <cstdint>
#include <cstdlib>

#include "common/app_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using edgerouter::config::InputMode;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  for (InputMode mode : {InputMode::kStrict, InputMode::kTolerant}) {
    absl::StatusOr<edgerouter::config::v1::Application> app = edgerouter::config::ParseApplication(text, mode);
    if (!app.ok()) continue;
    edgerouter::config::ValidateApplication(*app);
    edgerouter::config::DescribeApplication(*app);
    const std::string json = edgerouter::config::ToEdgerouterJson(*app);
    absl::StatusOr<edgerouter::config::v1::Application> again =
        edgerouter::config::ParseApplication(json, InputMode::kStrict);
    if (!again.ok() || edgerouter::config::ToEdgerouterJson(*again) != json) abort();
  }
  edgerouter::config::ParseApplicationsFile(text, InputMode::kStrict).ok();
  return 0;
}
