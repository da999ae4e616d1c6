// The parts of an app's chain (chain.h). Every part is built once per compiled app from the
// snapshot, is immutable afterwards and is shared by all workers: per-request state lives in
// the Exchange, per-worker state (origin pools, caches) in the worker.
#ifndef EDGEROUTER_DATAPLANE_PIPELINE_STAGE_H_
#define EDGEROUTER_DATAPLANE_PIPELINE_STAGE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "dataplane/pipeline/exchange.h"

namespace edgerouter::pipeline {

enum class Verdict {
  kContinue,  // the next stage (or the terminal) takes the request
  kAnswered,  // the stage wrote the response: the chain stops here
};

// Decides whether the request may reach the app at all (auth_v0; IP rules and auth_sso next).
// May answer locally (401, 403) and may mark request state (StripAuthorization).
class AccessStage {
 public:
  virtual ~AccessStage() = default;
  virtual absl::string_view name() const = 0;
  virtual Verdict Check(Exchange& exchange) const = 0;
};

// Request policies that run after access and before the terminal (header rewrites, rate
// limits): dataplane/policies/.
class RequestStage {
 public:
  virtual ~RequestStage() = default;
  virtual absl::string_view name() const = 0;
  virtual Verdict OnRequest(Exchange& exchange) const = 0;
};

// A response head as response stages read it (the origin's, a backend's or a local answer's).
class ResponseHeadView {
 public:
  virtual ~ResponseHeadView() = default;
  virtual int status() const = 0;
  // The first field named `name` (case-insensitive).
  virtual std::optional<absl::string_view> header(absl::string_view name) const = 0;
};

// Edits a response head before it goes to the client: names in `remove` (case-insensitive)
// leave the head, then `add` is appended. Stages edit through the methods, so a later stage's
// Remove/Set also drops what an earlier stage added. The framing fields (Content-Length,
// Transfer-Encoding, Connection and the other hop-by-hop ones) belong to the connection:
// edits of them are ignored.
struct ResponseHeadEdit {
  std::vector<std::pair<std::string, std::string>> add;
  std::vector<std::string> remove;

  void Add(absl::string_view name, absl::string_view value) { add.emplace_back(name, value); }
  void Remove(absl::string_view name);
  void Set(absl::string_view name, absl::string_view value) {
    Remove(name);
    Add(name, value);
  }
  bool Removes(absl::string_view name) const;
  bool empty() const { return add.empty() && remove.empty(); }
  void Clear() {
    add.clear();
    remove.clear();
  }
};

// Response policies (headers; compression next). The connection calls them for every response
// head of a request the app's chain took (proxied, local answers, S3/Lambda/turbocharger),
// over HTTP/1.1 and HTTP/2 alike (http_session.h: RunResponseStages), and only when the chain
// has some.
class ResponseStage {
 public:
  virtual ~ResponseStage() = default;
  virtual absl::string_view name() const = 0;
  virtual void OnResponseHead(Exchange& exchange, const ResponseHeadView& head, ResponseHeadEdit* edit) const = 0;
};

// Produces the response: exactly one per app, chosen by the backend kind.
class Terminal {
 public:
  virtual ~Terminal() = default;
  virtual absl::string_view kind() const = 0;
  // `path` is the request path as the backend sees it (normalised, mount prefix stripped).
  virtual void Handle(Exchange& exchange, const std::string& path) const = 0;
  // Config-wide products that are made only while some app needs them (the metrics text is
  // rendered, the admin page built, only then).
  virtual bool needs_metrics_text() const { return false; }
  virtual bool needs_admin_page() const { return false; }
  // Origins failing their active health checks now, read by the metrics scrape (-1: the
  // backend runs no health checks).
  virtual int unhealthy_origins() const { return -1; }
};

}  // namespace edgerouter::pipeline

#endif  // EDGEROUTER_DATAPLANE_PIPELINE_STAGE_H_
