// A minimal HTTP/1.1 server for admin endpoints (/metrics, /healthz) on a loopback address.
//
// One background thread accepts and serves connections one at a time: read the request head
// (at most 8 KiB, 5 s), answer with `Connection: close`, close. That is plenty for scrapes and
// probes and keeps the server trivially correct; it is not meant for untrusted or heavy traffic.
// Only GET and HEAD are served, request bodies are never read, and paths are matched exactly
// (no percent-decoding, no prefix matching).
#ifndef EDGEROUTER_COMMON_HTTP_ADMIN_SERVER_H_
#define EDGEROUTER_COMMON_HTTP_ADMIN_SERVER_H_

#include <functional>
#include <map>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace edgerouter::admin {

struct HttpAdminRequest {
  std::string method;  // "GET" or "HEAD" by the time a handler sees it
  std::string path;    // request target up to '?', e.g. "/metrics"
  std::string query;   // after '?', without it; raw (not decoded)
};

struct HttpAdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;  // not sent for HEAD, but still counted in Content-Length
};

class HttpAdminServer {
 public:
  // Runs on the server thread. An exception escaping it becomes a 500 response.
  using Handler = std::function<HttpAdminResponse(const HttpAdminRequest&)>;

  HttpAdminServer() = default;
  HttpAdminServer(const HttpAdminServer&) = delete;
  HttpAdminServer& operator=(const HttpAdminServer&) = delete;
  ~HttpAdminServer() { Stop(); }

  // Registers (or replaces) the handler of an exact path; allowed before or after Start.
  void Handle(std::string path, Handler handler);

  // Binds "host:port" (IPv4 literal) or "[v6-literal]:port"; port 0 picks a free port. Errors
  // name the address, e.g. "listen 127.0.0.1:18001: Address already in use". Fails if running.
  absl::Status Start(absl::string_view listen_addr);
  // The bound port (useful after listening on port 0); 0 when not running.
  int port() const { return port_; }
  // Wakes the server thread (also out of a connection in progress), joins it and closes the
  // socket. Idempotent; Start may be called again afterwards. Not concurrent with Start.
  void Stop();

 private:
  void Run();
  void ServeConnection(int fd);
  HttpAdminResponse Dispatch(const HttpAdminRequest& request);

  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd written by Stop()
  int port_ = 0;
  std::thread thread_;

  absl::Mutex mu_;
  std::map<std::string, Handler> handlers_ ABSL_GUARDED_BY(mu_);
};

// Parses the request head at the start of `buffer` (through its blank line) with the
// project's HTTP/1 parser (common/http/http1_parser.h: CRLF only, Host required in HTTP/1.1,
// no obs-fold, ...), heads limited to 8 KiB. Exposed for tests. `incomplete` while the blank
// line has not arrived; otherwise on failure `error_status` is the parser's (400, 414, 431,
// 501, 505) and `error_body` the plain-text reason. The method is not checked here, so the
// server can answer 404 before 405.
struct ParsedRequestHead {
  HttpAdminRequest request;
  bool incomplete = false;
  int error_status = 0;  // 0 when `request` is valid (and not incomplete)
  std::string error_body;
};
ParsedRequestHead ParseRequestHead(absl::string_view buffer);

}  // namespace edgerouter::admin

#endif  // EDGEROUTER_COMMON_HTTP_ADMIN_SERVER_H_
