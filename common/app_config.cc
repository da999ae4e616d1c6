#include "common/app_config.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "re2/re2.h"

namespace edgerouter::config {

// The schema types (proto package edgerouter.config.v1) this file parses; validation is in
// app_validation.cc.
using v1::Application;
using v1::Backend;
using v1::Frontend;

namespace {

// Case-insensitive key lookup, as Go's decoder matches keys.
OrderedJson::iterator FindKey(OrderedJson* object, absl::string_view key) {
  for (auto it = object->begin(); it != object->end(); ++it) {
    if (absl::EqualsIgnoreCase(it.key(), key)) return it;
  }
  return object->end();
}

}  // namespace

std::vector<std::string> AppProblems::Lines() const {
  std::vector<std::string> lines;
  lines.reserve(details.size());
  for (const std::string& d : details) lines.push_back(absl::StrCat("app ", label, ": ", d));
  return lines;
}

absl::Status AppProblems::ToStatus() const {
  if (details.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(Lines(), "\n"));
}

void NormaliseLegacyBackend(OrderedJson* backend) {
  if (!backend->is_object()) return;
  auto kind = FindKey(backend, "kind");
  if (kind != backend->end() && kind->is_string() && kind->get<std::string>() == "peer_set") {
    *kind = "reverse_proxy";
  }
  auto legacy = FindKey(backend, "peer_set_opts");
  if (legacy != backend->end()) {
    OrderedJson opts = std::move(*legacy);
    backend->erase(legacy);
    if (FindKey(backend, "reverse_proxy_opts") == backend->end()) {
      (*backend)["reverse_proxy_opts"] = std::move(opts);
    }
  }
  for (const char* wrapper : {"auth_v0_opts", "auth_sso_opts"}) {
    auto opts = FindKey(backend, wrapper);
    if (opts == backend->end() || !opts->is_object()) continue;
    auto inner = FindKey(&*opts, "authorized_backend");
    if (inner != opts->end()) NormaliseLegacyBackend(&*inner);
  }
}

AppProblems DecodeApplication(const OrderedJson& json, InputMode mode, absl::string_view label,
                              Application* app) {
  AppProblems problems;
  problems.label = std::string(label);
  if (!json.is_object()) {
    app->Clear();
    problems.details.push_back("expected a JSON object, got " + std::string(json.type_name()));
    return problems;
  }
  OrderedJson normalised = json;
  auto backend = FindKey(&normalised, "backend");
  if (backend != normalised.end()) NormaliseLegacyBackend(&*backend);

  std::vector<FieldError> errors;
  JsonDecodeOptions options;
  options.reject_unknown_fields = mode == InputMode::kStrict;
  DecodeJson(normalised, options, "", app, &errors);
  if (!app->id().empty()) problems.label = app->id();
  for (const FieldError& e : errors) problems.details.push_back(e.ToString());
  for (std::string& d : ValidateApplication(*app)) problems.details.push_back(std::move(d));
  return problems;
}

absl::StatusOr<Application> ParseApplication(absl::string_view json_text, InputMode mode) {
  absl::StatusOr<OrderedJson> json = ParseJsonText(json_text);
  if (!json.ok()) return json.status();
  Application app;
  AppProblems problems = DecodeApplication(*json, mode, "(no id)", &app);
  if (!problems.details.empty()) return problems.ToStatus();
  return app;
}

absl::StatusOr<ParsedApplications> ParseApplicationsFile(absl::string_view json_text,
                                                         InputMode mode) {
  absl::StatusOr<OrderedJson> json = ParseJsonText(json_text);
  if (!json.ok()) return json.status();
  return DecodeApplicationsFile(*json, mode);
}

absl::StatusOr<ParsedApplications> DecodeApplicationsFile(const OrderedJson& parsed,
                                                          InputMode mode) {
  const OrderedJson* json = &parsed;
  if (!json->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("expected {\"apps\": [...]}, got ",
                                                   json->type_name()));
  }
  ParsedApplications result;
  const OrderedJson* apps = nullptr;
  for (const auto& [key, value] : json->items()) {
    if (absl::EqualsIgnoreCase(key, "apps")) {
      apps = &value;
    } else if (mode == InputMode::kStrict) {
      return absl::InvalidArgumentError(absl::StrCat(key, ": unknown field"));
    }
  }
  if (apps == nullptr || apps->is_null()) return result;
  if (!apps->is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("apps: expected array, got ", apps->type_name()));
  }
  for (size_t i = 0; i < apps->size(); ++i) {
    Application app;
    AppProblems problems = DecodeApplication((*apps)[i], mode, IndexPath("apps", i), &app);
    if (problems.details.empty()) {
      result.apps.push_back(std::move(app));
    } else {
      result.problems.push_back(std::move(problems));
    }
  }
  return result;
}


std::string ToEdgerouterJson(const Application& app) { return ToIndentedJson(app); }

std::string DescribeFrontend(const Frontend& f) {
  if (f.kind() == "hostname") return absl::StrCat(f.kind(), ":", f.hostname(), f.path_prefix());
  if (f.kind() == "hostname_regexp") {
    return absl::StrCat(f.kind(), ":", f.hostname_regexp(), f.path_prefix());
  }
  if (f.kind() == "path_prefix") return absl::StrCat(f.kind(), ":", f.path_prefix());
  return f.kind();
}

std::string DescribeBackend(const Backend& b) {
  const std::string& k = b.kind();
  if (k == "s3_static_website") {
    return absl::StrCat(k, ":", b.s3_static_website_opts().deployed_version());
  }
  if (k == "reverse_proxy") {
    return absl::StrCat(k, ":", absl::StrJoin(b.reverse_proxy_opts().origins(), ", "));
  }
  if (k == "aws_lambda") {
    return absl::StrCat(k, ":", b.aws_lambda_opts().function_name(), "@",
                        b.aws_lambda_opts().region_id());
  }
  if (k == "auth_v0") {
    return absl::StrCat(k, ":[bearerToken=...] -> ",
                        DescribeBackend(b.auth_v0_opts().authorized_backend()));
  }
  if (k == "auth_sso") {
    return absl::StrCat(k, ":[audience=", b.auth_sso_opts().audience(), "] -> ",
                        DescribeBackend(b.auth_sso_opts().authorized_backend()));
  }
  if (k == "redirect") return absl::StrCat(k, ":", b.redirect_opts().to());
  if (k == "turbocharger") return absl::StrCat(k, ":", b.turbocharger_opts().manifest());
  return k;
}

std::string DescribeApplication(const Application& app) {
  std::string out = absl::StrCat(app.id(), "\n  backend = ", DescribeBackend(app.backend()));
  for (const Frontend& f : app.frontends()) absl::StrAppend(&out, "\n  frontend = ", DescribeFrontend(f));
  return out;
}

std::string HostnameRegexpToRe2(absl::string_view pattern) {
  // 1. every '.' is escaped; 2. each {…} section is replaced by its content with the escaping
  // undone; 3. anchored. Other metacharacters are left alone, as in edgerouter.
  std::string escaped = absl::StrReplaceAll(pattern, {{".", "\\."}});
  std::string out = "^";
  size_t i = 0;
  while (i < escaped.size()) {
    if (escaped[i] == '{') {
      const size_t close = escaped.find('}', i + 1);
      if (close != std::string::npos && close > i + 1) {
        out += absl::StrReplaceAll(escaped.substr(i + 1, close - i - 1), {{"\\.", "."}});
        i = close + 1;
        continue;
      }
    }
    out += escaped[i++];
  }
  out += "$";
  return out;
}

absl::Status DecodeEventPayload(absl::string_view json_text, InputMode mode,
                                google::protobuf::Message* payload) {
  absl::StatusOr<OrderedJson> json = ParseJsonText(json_text);
  if (!json.ok()) return json.status();
  std::vector<FieldError> errors;
  JsonDecodeOptions options;
  options.reject_unknown_fields = mode == InputMode::kStrict;
  OrderedJson normalised = *std::move(json);
  // AppUpdated carries a whole app: normalise its legacy backend too.
  if (normalised.is_object()) {
    auto app = FindKey(&normalised, "Application");
    if (app != normalised.end() && app->is_object()) {
      auto backend = FindKey(&*app, "backend");
      if (backend != app->end()) NormaliseLegacyBackend(&*backend);
    }
  }
  DecodeJson(normalised, options, "", payload, &errors);
  if (errors.empty()) return absl::OkStatus();
  std::vector<std::string> lines;
  for (const FieldError& e : errors) lines.push_back(e.ToString());
  return absl::InvalidArgumentError(absl::StrJoin(lines, "; "));
}

}  // namespace edgerouter::config
