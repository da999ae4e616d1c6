// The one request a chain works on, as stages and terminal handlers see it: a narrow view of
// the client connection (DownstreamConnection implements it for HTTP/1.1 and HTTP/2 streams).
// Handlers answer or hand the request to the connection's heavy machinery (origin proxying,
// the S3/Lambda exchanges) through it; they never see sockets, buffers or codec state.
#ifndef EDGEROUTER_DATAPLANE_PIPELINE_EXCHANGE_H_
#define EDGEROUTER_DATAPLANE_PIPELINE_EXCHANGE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace edgerouter::aws {
struct S3SiteConfig;
struct LambdaConfig;
class AwsWorkerContext;
class AwsResponder;
}  // namespace edgerouter::aws

namespace edgerouter::net {
class EventLoop;
}  // namespace edgerouter::net

namespace edgerouter::backends {
struct ProxyTarget;
class IpRuleSet;
}  // namespace edgerouter::backends

namespace edgerouter::pipeline {

// A response a handler produces later on the worker's loop (turbocharger's store downloads).
// The connection waits for it, owns it until its next request or its end, and cancels it when
// the client goes first.
class DeferredResponse {
 public:
  virtual ~DeferredResponse() = default;
  // Answers through `responder` exactly once, possibly before returning (a cache hit).
  virtual void Start(net::EventLoop& loop, aws::AwsWorkerContext& aws, aws::AwsResponder& responder) = 0;
  // The client is gone: no answer afterwards.
  virtual void Cancel() = 0;
  // The access log's upstream field.
  virtual std::string label() const = 0;
};

// Request fields a stage changes on the way to the backend (origins, Lambda events): names in
// `remove` (case-insensitive) are dropped from the client's fields, then `add` is appended.
// Belongs to the stage (immutable, compiled from the config): the exchange keeps a pointer.
struct RequestHeaderEdit {
  std::vector<std::string> remove;
  std::vector<std::pair<std::string, std::string>> add;

  bool Removes(absl::string_view name) const {
    for (const std::string& r : remove) {
      if (absl::EqualsIgnoreCase(r, name)) return true;
    }
    return false;
  }
};

class Exchange {
 public:
  virtual ~Exchange() = default;

  // --- the request (valid for the duration of the call that was given the exchange) ---
  // The path as the client sent it: still percent-encoded, without the query.
  virtual absl::string_view raw_path() const = 0;
  // The first request field named `name` (case-insensitive).
  virtual std::optional<absl::string_view> request_header(absl::string_view name) const = 0;
  // The client's address as --trusted_proxies resolve it (the peer unless a trusted proxy
  // forwarded the request).
  virtual absl::string_view client_ip() const = 0;
  // The query string without its '?' ("" when the target has none).
  virtual absl::string_view raw_query() const = 0;
  virtual absl::string_view method() const = 0;
  // The client connection is HTTPS (TLS here, or --plain_is_https behind a terminator).
  virtual bool secure() const = 0;
  // The IP allow rules of the config the request was routed with (null: no filtering).
  virtual const backends::IpRuleSet* ip_rules() const = 0;

  // --- request state for the stages after this one and the terminal ---
  // The Authorization field was ours (an access stage consumed it): no backend gets it.
  virtual void StripAuthorization() = 0;
  // The backend gets the request fields edited so (null: as the client sent them). `edit`
  // outlives the request (it belongs to the app's compiled chain).
  virtual void EditRequestHeaders(const RequestHeaderEdit* edit) = 0;

  // --- the worker serving the request (per-worker policy state, no locks) ---
  // 0 .. workers-1, stable for the worker's life.
  virtual int worker_index() const = 0;
  // The worker loop's clock (monotonic milliseconds, read once per loop turn).
  virtual int64_t now_ms() const = 0;
  // A rate limit refused the request (er_dp_rate_limited_total of the app).
  virtual void NoteRateLimited() = 0;

  // --- answers written by the data plane itself ---
  // `extra_headers`: complete "Name: value\r\n" lines.
  virtual void SendLocal(int status, absl::string_view content_type, absl::string_view body,
                         absl::string_view extra_headers = "") = 0;
  // 3xx with Location (percent-encoded) and, for GET/HEAD, an HTML-escaped link body.
  virtual void SendRedirect(int status, absl::string_view target) = 0;
  // The Prometheus text of the whole data plane (null before the first scrape is rendered).
  virtual std::shared_ptr<const std::string> MetricsText() = 0;
  // The edgerouter_admin HTML of the config this request was routed with.
  virtual const std::string& AdminPage() = 0;

  // --- hand-offs to the connection; `path` is what the backend sees (prefix stripped) ---
  // `target` outlives the request (it belongs to the app's compiled chain).
  virtual void StartProxy(const backends::ProxyTarget& target, const std::string& path) = 0;
  virtual void StartS3(const aws::S3SiteConfig& site, const std::string& path) = 0;
  virtual void StartLambda(const aws::LambdaConfig& function, const std::string& path) = 0;
  virtual void StartDeferred(std::unique_ptr<DeferredResponse> response) = 0;
};

}  // namespace edgerouter::pipeline

#endif  // EDGEROUTER_DATAPLANE_PIPELINE_EXCHANGE_H_
