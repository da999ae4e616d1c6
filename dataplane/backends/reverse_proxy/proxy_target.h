// What a reverse_proxy backend compiles to: its origins (parsed and resolved on the compile
// thread) and forwarding options. Shared with the connection's origin side (the worker's
// OriginSet pools and health are keyed by pool_id/pool_key, so they survive snapshots that
// leave the backend unchanged).
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_REVERSE_PROXY_PROXY_TARGET_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_REVERSE_PROXY_PROXY_TARGET_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/backends/reverse_proxy/retry.h"
#include "dataplane/backends/reverse_proxy/sticky.h"
#include "dataplane/turbocharger/attachment.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace edgerouter::backends {

struct Origin {
  std::string url;        // as configured
  bool tls = false;       // https://
  std::string authority;  // host[:port] as in the URL: the Host header when not passing it
  std::string host;       // host without brackets/port (SNI, resolution)
  std::string path_prefix;  // URL path without a trailing '/' ("" for none)
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::string resolve_error;  // non-empty: unusable (502 with this reason)
};

// An origin's verdict from its active health checker (health_check.h), shared by every worker.
// Origins start healthy (a new origin takes traffic at once, as Traefik's do).
struct OriginHealth {
  std::atomic<bool> healthy{true};
  std::atomic<uint64_t> probes{0};  // probes finished (tests, debugging)
};

// Parses http(s)://authority[/path] (validated by the app validator) and resolves the host.
// Blocking (name resolution): the compile thread only.
Origin ParseOrigin(const std::string& url);

struct ProxyTarget {
  std::vector<Origin> origins;
  bool pass_host_header = false;
  std::string index_document;
  bool remove_query_string = false;
  std::vector<std::pair<std::string, std::string>> headers_to_origin;  // sorted by name
  bool tls_insecure_skip_verify = false;
  std::string tls_server_name;
  SSL_CTX* client_tls = nullptr;  // https origins: from UpstreamTlsContext (process lifetime)
  std::string client_tls_error;   // why client_tls is null (requests get 502 with it)
  // Stable identity of the backend's content: workers keep connection pools and health state
  // across snapshots while it is unchanged (edgerouter keeps backend instances the same way).
  std::string pool_key;
  uint64_t pool_id = 0;  // hash of pool_key: the per-request lookup key
  // The turbocharger middleware's state (set when the data plane has TURBOCHARGER_STORE):
  // origin responses feed it, requests under an attached prefix are served from the store.
  std::shared_ptr<turbocharger::SharedAttachment> turbocharger;

  // Origin selection policies. Each is empty when not configured, so picking without them
  // costs what it did before they existed.
  std::vector<uint32_t> weights;  // origin_weights, per origin; empty: all weigh 1
  uint64_t total_weight = 0;
  std::vector<std::shared_ptr<OriginHealth>> health;  // active checks, per origin
  std::optional<StickyConfig> sticky;
  std::vector<std::string> sticky_ids;  // OriginStickyId per origin (with `sticky`)
  std::optional<RetryConfig> retry;     // the app's policies.retry
};

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_REVERSE_PROXY_PROXY_TARGET_H_
