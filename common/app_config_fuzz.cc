// The edgerouter JSON codec and app validation on untrusted text (AppUpdated payloads, the
// admin API, applications.json): never crash, and normalisation is a fixed point — an accepted
// app, written back as edgerouter JSON, parses to an app that writes the same JSON.
#include <cstdint>
#include <cstdlib>

#include "common/app_config.h"
#include "common/json_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using edgerouter::config::InputMode;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  // Parsed once for all three readings: ParseApplication and ParseApplicationsFile are
  // ParseJsonText followed by DecodeApplication / DecodeApplicationsFile.
  absl::StatusOr<edgerouter::OrderedJson> json = edgerouter::ParseJsonText(text);
  if (!json.ok()) return 0;
  for (InputMode mode : {InputMode::kStrict, InputMode::kTolerant}) {
    edgerouter::config::v1::Application app;
    const edgerouter::config::AppProblems problems =
        edgerouter::config::DecodeApplication(*json, mode, "(no id)", &app);
    if (!problems.details.empty()) {
      if (problems.ToStatus().ok()) abort();  // what ParseApplication returns for it
      continue;
    }
    edgerouter::config::ValidateApplication(app);
    edgerouter::config::DescribeApplication(app);
    const std::string written = edgerouter::config::ToEdgerouterJson(app);
    absl::StatusOr<edgerouter::config::v1::Application> again =
        edgerouter::config::ParseApplication(written, InputMode::kStrict);
    if (!again.ok() || edgerouter::config::ToEdgerouterJson(*again) != written) abort();
  }
  edgerouter::config::DecodeApplicationsFile(*json, InputMode::kStrict).ok();
  return 0;
}
