// EventHorizon's configuration as edgerouter reads it: env EVENTHORIZON =
// "<prod|dev>:<tenant>:<accessKeyId>:<secret>:<region>". Both key parts empty means the
// standard AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN); exactly one
// empty is an error. The DynamoDB endpoint comes from AWS_ENDPOINT_URL_DYNAMODB, else
// AWS_ENDPOINT_URL, else the region's public endpoint.
#ifndef EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_CONFIG_H_
#define EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/aws/aws_request.h"

namespace edgerouter::eventhorizon {

inline constexpr char kConfigEnv[] = "EVENTHORIZON";

struct Config {
  std::string env;     // "prod" | "dev"
  std::string tenant;  // "1": tenant streams are /t-1/...
  std::string region;
  aws::Credentials credentials;
  aws::Endpoints endpoints;  // only .dynamodb is used

  std::string events_table() const { return env + "_eh_events"; }
  // "/t-<tenant>"
  std::string tenant_root() const { return "/t-" + tenant; }
  // For logs: everything but the secret.
  std::string Describe() const;
};

// Parses `value` (the EVENTHORIZON string). Errors name the part that is wrong and never
// echo the secret.
absl::StatusOr<Config> ParseConfig(absl::string_view value);
// ParseConfig($EVENTHORIZON); NotFound when the variable is unset or empty.
absl::StatusOr<Config> ConfigFromEnvironment();

}  // namespace edgerouter::eventhorizon

#endif  // EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_CONFIG_H_
