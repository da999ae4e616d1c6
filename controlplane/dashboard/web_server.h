// The control plane's HTTP listener (/metrics, /healthz, the dashboard), served by GNU
// libmicrohttpd: a real HTTP/1.1 engine (keep-alive, pipelining, HEAD, timeouts, connection
// limits) on its own polling thread, instead of growing common/http_admin_server.
// Handlers match exact paths; only GET and HEAD are served, request bodies are refused.
#ifndef EDGEROUTER_CONTROLPLANE_DASHBOARD_WEB_SERVER_H_
#define EDGEROUTER_CONTROLPLANE_DASHBOARD_WEB_SERVER_H_

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

struct MHD_Daemon;
struct MHD_Connection;

namespace edgerouter::controlplane::dashboard {

struct WebRequest {
  std::string method;         // GET or HEAD
  std::string path;           // without the query
  std::string authorization;  // the Authorization header ("" if none)
  // TLS with --http_tls_client_ca: the client presented a certificate that CA signed.
  bool client_verified = false;
};

// PEM contents. client_ca_pem set: clients are asked for a certificate, verified against it.
struct WebTls {
  std::string cert_pem;
  std::string key_pem;
  std::string client_ca_pem;
};

struct WebResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class WebServer {
 public:
  using Handler = std::function<WebResponse(const WebRequest&)>;

  WebServer() = default;
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;
  ~WebServer() { Stop(); }

  // Before Start only (handlers are read without a lock).
  void Handle(std::string path, Handler handler) { handlers_[std::move(path)] = std::move(handler); }

  // "host:port" (IPv4 or [IPv6] literal); port 0 picks a free one. With `tls`, HTTPS only.
  absl::Status Start(absl::string_view listen, const WebTls* tls = nullptr);
  bool client_certs() const { return client_certs_; }
  int port() const { return port_; }
  // True when the bound address is a loopback one (127.0.0.0/8, ::1).
  bool loopback() const { return loopback_; }
  void Stop();

  // The handler's answer for `request` (404 for an unknown path). Called by the engine's thread.
  WebResponse Dispatch(const WebRequest& request) const;

 private:
  std::map<std::string, Handler> handlers_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
  bool loopback_ = true;
  bool client_certs_ = false;
};

}  // namespace edgerouter::controlplane::dashboard

#endif  // EDGEROUTER_CONTROLPLANE_DASHBOARD_WEB_SERVER_H_
