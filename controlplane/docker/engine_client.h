// Docker Engine API client over libcurl: a unix socket (`unix:///var/run/docker.sock`) or
// `https://host:port` with a client certificate (edgerouter's DOCKER_URL / DOCKER_CLIENTCERT /
// DOCKER_CLIENTCERT_KEY). It only fetches JSON; turning it into apps is addresses.h's job.
//
// Every call blocks the calling thread (up to the timeout; StreamEvents until stopped or the
// engine closes), so it belongs on control-plane threads only, never on a data-plane thread.
// Thread-safe: every call uses its own curl handle (a stream on one thread and resync GETs on
// another is the expected use); only the negotiated version is shared, under a mutex.
#ifndef EDGEROUTER_CONTROLPLANE_DOCKER_ENGINE_CLIENT_H_
#define EDGEROUTER_CONTROLPLANE_DOCKER_ENGINE_CLIENT_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace edgerouter::controlplane::docker {

// The newest API version this client was written against. Engines here speak 1.41; current
// engines speak newer ones and accept any older version, so min(engine, ours) always works.
inline constexpr absl::string_view kMaxApiVersion = "1.47";

struct EngineClientOptions {
  // `unix:///path/docker.sock`, `https://host:port` (client cert below) or `http://host:port`.
  std::string url;
  // PEM text, or base64 of PEM as in edgerouter's env variables (both accepted). Only for
  // https. The server certificate is not verified, as in edgerouter.
  std::string client_cert_pem;
  std::string client_key_pem;
  // Whole-request limit for non-stream calls; the stream only uses `connect_timeout`.
  absl::Duration timeout = absl::Seconds(10);
  absl::Duration connect_timeout = absl::Seconds(3);
  std::string max_api_version = std::string(kMaxApiVersion);
};

struct EngineVersion {
  std::string version;          // engine release, e.g. "20.10.24+dfsg1"
  std::string api_version;      // what the engine speaks, e.g. "1.41"
  std::string negotiated;       // min(api_version, our max): the prefix used from now on
  nlohmann::json raw;           // the whole /version answer
};

class EngineClient {
 public:
  // Validates the URL and certificates; does not connect.
  static absl::StatusOr<std::unique_ptr<EngineClient>> Create(EngineClientOptions options);
  ~EngineClient();

  // GET /version (unversioned, as the CLI does) and (re)negotiates the API version. Call it
  // again after a reconnect: the engine may have been upgraded meanwhile.
  absl::StatusOr<EngineVersion> Version();

  // GET /v<negotiated><path> (`path` starts with "/", may carry a query). Negotiates first when
  // Version() has not succeeded yet. Non-2xx → an error naming the path, the HTTP status and
  // the engine's `message`, e.g. `GET /services: HTTP 503: This node is not a swarm manager…`
  // (503 → kUnavailable, 404 → kNotFound, other → kFailedPrecondition/kInternal).
  absl::StatusOr<std::string> GetJson(absl::string_view path);

  // Streams GET /events (NDJSON) and calls `on_event` for every object as soon as its line is
  // complete. `since`/`until` are Engine timestamps ("" = now / forever); `filters` is an
  // Engine filter object such as {"type":["container","service"]} (null/empty = none). Returns
  // OK when `stop` was set or the engine ended a stream opened with `until`; an error when the
  // connection fails or breaks, and kUnavailable when the engine closes a stream opened
  // without `until` (restart). `stop` is checked after every event and at least once a second
  // while idle. `on_open` runs once the engine has accepted the stream (headers received):
  // every event after that point is delivered. Reconnecting (and resyncing) is the caller's job.
  absl::Status StreamEvents(absl::string_view since, const nlohmann::json& filters,
                            const std::function<void(const nlohmann::json&)>& on_event,
                            const std::atomic<bool>& stop, absl::string_view until = "",
                            const std::function<void()>& on_open = nullptr);

  // The negotiated version ("" before the first successful Version()).
  std::string api_version() const;

 private:
  explicit EngineClient(EngineClientOptions options) : options_(std::move(options)) {}
  struct Response {
    long status = 0;
    std::string body;
  };
  // One non-stream GET of `full_path` (already versioned) with the whole-request timeout.
  absl::StatusOr<Response> Get(const std::string& full_path);
  // Sets the transport options shared by every request on a fresh easy handle.
  void Configure(void* curl, const std::string& full_path) const;
  absl::StatusOr<std::string> VersionPrefix();

  EngineClientOptions options_;
  std::string socket_path_;  // set for unix://
  std::string base_url_;     // "http://docker" for unix sockets, else scheme://host:port
  mutable absl::Mutex mu_;
  std::string negotiated_ ABSL_GUARDED_BY(mu_);
};

// "1.41" → {1, 41}; an error for anything else. Exposed for tests.
absl::StatusOr<std::pair<int, int>> ParseApiVersion(absl::string_view v);

// The engine's `message` from an error body, else the body itself (trimmed, capped).
std::string EngineErrorMessage(absl::string_view body);

}  // namespace edgerouter::controlplane::docker

#endif  // EDGEROUTER_CONTROLPLANE_DOCKER_ENGINE_CLIENT_H_
