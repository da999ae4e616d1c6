// The edgerouter application config: parse (strict for user input, tolerant for stream
// events), normalise legacy forms, validate every rule with the app id and JSON path in each
// error, serialise back to edgerouter JSON, and produce edgerouter's Describe strings.
#ifndef EDGEROUTER_COMMON_APP_CONFIG_H_
#define EDGEROUTER_COMMON_APP_CONFIG_H_

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/json_codec.h"
#include "proto/config.pb.h"

namespace edgerouter::config {

enum class InputMode {
  kStrict,    // user input (files, CLI, admin API): unknown fields are errors
  kTolerant,  // events read from a stream: unknown fields are ignored (forward compatibility)
};

// Every problem of one app. `label` is the app id, or where it sits when it has none
// (e.g. "apps[3]").
struct AppProblems {
  std::string label;
  std::vector<std::string> details;  // e.g. "backend.redirect_opts.to is required"
  // "app <label>: <detail>" per detail.
  std::vector<std::string> Lines() const;
  // All lines joined by "\n", as an InvalidArgument status (Ok when there are none).
  absl::Status ToStatus() const;
};

// Accepts the pre-2021 `peer_set` kind / `peer_set_opts` object (recursively inside auth
// wrappers) and rewrites them to `reverse_proxy` / `reverse_proxy_opts`; `addrs` is an
// input alias of `origins` in the schema itself.
void NormaliseLegacyBackend(OrderedJson* backend);

// Decodes one app object (already parsed JSON) and validates it.
AppProblems DecodeApplication(const OrderedJson& json, InputMode mode, absl::string_view label,
                              v1::Application* app);

// Parses and validates one app from JSON text. The error lists every problem.
absl::StatusOr<v1::Application> ParseApplication(absl::string_view json_text, InputMode mode);

struct ParsedApplications {
  std::vector<v1::Application> apps;       // the valid ones, in file order
  std::vector<AppProblems> problems;   // one entry per invalid app
};

// Parses `{"apps":[…]}`. A syntax error or a wrong top-level shape fails the whole file;
// otherwise each app is judged on its own.
absl::StatusOr<ParsedApplications> ParseApplicationsFile(absl::string_view json_text, InputMode mode);
// The same for already-parsed JSON.
absl::StatusOr<ParsedApplications> DecodeApplicationsFile(const OrderedJson& json, InputMode mode);

// Validation alone (reference §1.2–1.4 plus the checks the data plane relies on). Returns the
// details, empty when the app is valid.
std::vector<std::string> ValidateApplication(const v1::Application& app);

// 2-space indented edgerouter JSON (like `edgerouter discovery cat`).
std::string ToEdgerouterJson(const v1::Application& app);

// Describe strings of edgerouter (admin UI and `discovery ls`).
std::string DescribeFrontend(const v1::Frontend& frontend);
std::string DescribeBackend(const v1::Backend& backend);
std::string DescribeApplication(const v1::Application& app);

// Traefik-v1 host pattern (`hellohttp.{[^.]+}.fn61.net`) to an anchored RE2 pattern
// (`^hellohttp\.[^.]+\.fn61\.net$`), exactly as edgerouter converts it.
std::string HostnameRegexpToRe2(absl::string_view pattern);

// Decodes an event payload (e.g. AppUpdated) from JSON text; problems joined in the status.
absl::Status DecodeEventPayload(absl::string_view json_text, InputMode mode,
                                google::protobuf::Message* payload);

}  // namespace edgerouter::config

#endif  // EDGEROUTER_COMMON_APP_CONFIG_H_
