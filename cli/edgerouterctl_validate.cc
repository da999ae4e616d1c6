#include "cli/edgerouterctl_validate.h"

#include <ostream>

#include "absl/strings/match.h"
#include "common/app_config.h"
#include "common/json_codec.h"

namespace edgerouter::ctl {

int ValidateAppsText(const std::string& text, std::ostream& out, std::ostream& err) {
  absl::StatusOr<OrderedJson> json = ParseJsonText(text);
  if (!json.ok()) {
    err << json.status().message() << "\n";
    return 1;
  }
  bool is_file = false;
  if (json->is_object()) {
    for (const auto& [key, value] : json->items()) {
      if (absl::EqualsIgnoreCase(key, "apps")) is_file = true;
    }
  }
  if (!is_file) {
    absl::StatusOr<config::v1::Application> app =
        config::ParseApplication(text, config::InputMode::kStrict);
    if (!app.ok()) {
      err << app.status().message() << "\n";
      return 1;
    }
    out << config::ToEdgerouterJson(*app) << "\n";
    return 0;
  }
  absl::StatusOr<config::ParsedApplications> parsed =
      config::ParseApplicationsFile(text, config::InputMode::kStrict);
  if (!parsed.ok()) {
    err << parsed.status().message() << "\n";
    return 1;
  }
  if (!parsed->problems.empty()) {
    for (const config::AppProblems& problems : parsed->problems) {
      for (const std::string& line : problems.Lines()) err << line << "\n";
    }
    return 1;
  }
  config::v1::ApplicationsFile file;
  for (config::v1::Application& app : parsed->apps) *file.add_apps() = std::move(app);
  out << ToIndentedJson(file) << "\n";
  return 0;
}

}  // namespace edgerouter::ctl
