// Active health checks of reverse_proxy origins (reverse_proxy_opts.health_check), off the
// request path: one checker thread per data plane per (origin, check settings), whatever the
// number of workers, apps or snapshots naming it. The verdict is one atomic per origin that
// workers read when picking (OriginSet::Pick); the checker stops by itself once no compiled
// config refers to it any more (the app or the origin left the snapshot).
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_REVERSE_PROXY_HEALTH_CHECK_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_REVERSE_PROXY_HEALTH_CHECK_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "dataplane/backends/reverse_proxy/proxy_target.h"
#include "proto/config.pb.h"

namespace edgerouter::backends {

struct HealthCheckConfig {
  std::string path;
  int64_t interval_ms = 10000;
  int64_t timeout_ms = 5000;
  int healthy_threshold = 2;    // consecutive passes that make an unhealthy origin healthy
  int unhealthy_threshold = 3;  // consecutive failures that make a healthy origin unhealthy
  int expected_status = 0;      // 0: any 2xx or 3xx
  std::string hostname;         // Host of the probe; "" = the origin's authority
  std::string tls_server_name;  // https: the backend's tls_config.server_name ("" = the origin's host)
};

absl::StatusOr<HealthCheckConfig> CompileHealthCheck(const config::v1::HealthCheck& check);

// The shared health of `origin` under `check`, starting its checker when none runs. `tls`: the
// client context for https origins (null: https probes fail).
std::shared_ptr<OriginHealth> WatchOrigin(const Origin& origin, const HealthCheckConfig& check, SSL_CTX* tls);

// Checkers running now (tests: they stop once their origins leave every config).
int RunningHealthCheckers();

// One probe, blocking up to check.timeout_ms: OK when the origin answered the expected status.
absl::Status ProbeOrigin(const Origin& origin, const HealthCheckConfig& check, SSL_CTX* tls);

// A request off the request path (health checks, turbocharger re-validation): blocking, on a
// connection of its own (Connection: close), bounded by timeout_ms as a whole.
struct OriginProbe {
  std::string method = "GET";
  std::string path;             // after the origin's path prefix
  std::string host;             // "" = the origin's authority
  std::string tls_server_name;  // https: "" = the origin's host
  std::string user_agent = "edgerouter-health-check";
  std::string want_header;      // a response field to return (case-insensitive), "" = none
  int64_t timeout_ms = 5000;
};
struct OriginProbeResult {
  int status = 0;
  std::optional<std::string> header;  // want_header's value when the response had it
};
// Error: no response head (connect, TLS, timeout, not HTTP), naming the origin and path.
absl::StatusOr<OriginProbeResult> SendOriginProbe(const Origin& origin, const OriginProbe& probe, SSL_CTX* tls);

// The verdict after one probe result, given the consecutive pass/fail counts (updated here).
bool NextHealth(bool healthy, bool passed, const HealthCheckConfig& check, int* passes, int* failures);

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_REVERSE_PROXY_HEALTH_CHECK_H_
