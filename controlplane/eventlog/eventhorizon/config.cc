#include "controlplane/eventlog/eventhorizon/config.h"

#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace edgerouter::eventhorizon {

std::string Config::Describe() const {
  return absl::StrCat("env=", env, " tenant=", tenant, " region=", region, " table=", events_table(),
                      " endpoint=",
                      endpoints.dynamodb.empty() ? absl::StrCat("https://dynamodb.", region, ".amazonaws.com")
                                                 : endpoints.dynamodb,
                      " access_key_id=", credentials.access_key_id);
}

absl::StatusOr<Config> ParseConfig(absl::string_view value) {
  const std::vector<std::string> parts = absl::StrSplit(value, ':');
  if (parts.size() != 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        kConfigEnv, ": want <prod|dev>:<tenant>:<accessKeyId>:<secret>:<region> (5 parts), got ",
        parts.size(), " part(s)"));
  }
  Config c;
  c.env = parts[0];
  c.tenant = parts[1];
  c.region = parts[4];
  if (c.env != "prod" && c.env != "dev") {
    return absl::InvalidArgumentError(absl::StrCat(kConfigEnv, ": environment \"", c.env, "\" is not prod or dev"));
  }
  if (c.tenant.empty()) return absl::InvalidArgumentError(absl::StrCat(kConfigEnv, ": empty tenant"));
  for (char ch : c.tenant) {
    if (!isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') {
      return absl::InvalidArgumentError(absl::StrCat(kConfigEnv, ": tenant \"", c.tenant,
                                                     "\" must be letters, digits, - or _"));
    }
  }
  if (c.region.empty()) return absl::InvalidArgumentError(absl::StrCat(kConfigEnv, ": empty region"));
  const bool key_empty = parts[2].empty();
  const bool secret_empty = parts[3].empty();
  if (key_empty != secret_empty) {
    return absl::InvalidArgumentError(absl::StrCat(
        kConfigEnv, ": ", key_empty ? "accessKeyId" : "secret",
        " is empty but the other is not (give both, or neither to use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"));
  }
  if (key_empty) {
    absl::StatusOr<aws::Credentials> env = aws::LoadCredentials("");
    if (!env.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(kConfigEnv, " has no keys and ", env.status().message()));
    }
    c.credentials = *std::move(env);
  } else {
    c.credentials.access_key_id = parts[2];
    c.credentials.secret_access_key = parts[3];
  }
  c.endpoints = aws::Endpoints::FromEnvironment();
  return c;
}

absl::StatusOr<Config> ConfigFromEnvironment() {
  const char* v = std::getenv(kConfigEnv);
  if (v == nullptr || *v == '\0') {
    return absl::NotFoundError(absl::StrCat(
        kConfigEnv, " is not set (want <prod|dev>:<tenant>:<accessKeyId>:<secret>:<region>)"));
  }
  return ParseConfig(v);
}

}  // namespace edgerouter::eventhorizon
