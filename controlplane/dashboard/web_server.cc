#include "controlplane/dashboard/web_server.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <exception>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/net/host_port.h"

namespace edgerouter::controlplane::dashboard {

namespace {

// A client certificate was presented and chains to the configured CA (GnuTLS verified it
// against MHD_OPTION_HTTPS_MEM_TRUST: signature, validity period).
bool ClientVerified(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (info == nullptr || info->tls_session == nullptr) return false;
  auto session = static_cast<gnutls_session_t>(info->tls_session);
  unsigned int peers = 0;
  if (gnutls_certificate_get_peers(session, &peers) == nullptr || peers == 0) return false;
  unsigned int status = 0;
  return gnutls_certificate_verify_peers2(session, &status) == GNUTLS_E_SUCCESS && status == 0;
}

MHD_Result OnRequest(void* self, MHD_Connection* connection, const char* url, const char* method,
                         const char* /*version*/, const char* /*upload_data*/, size_t* upload_data_size,
                         void** state) {
  // Other methods are answered on the first call, so their body is never read; a GET's body
  // is consumed unread (the handler answers once it has ended).
  static int announced;
  const std::string m = method;
  const bool served = m == "GET" || m == "HEAD";
  if (*state == nullptr && served) {
    *state = &announced;
    return MHD_YES;
  }
  if (*upload_data_size != 0) {
    *upload_data_size = 0;
    return MHD_YES;
  }
  WebResponse response;
  if (!served) {
    response.status = 405;
    response.body = "only GET and HEAD\n";
    response.headers.emplace_back("Allow", "GET, HEAD");
  } else {
    WebRequest request;
    request.method = m;
    request.path = url;
    if (const char* auth = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Authorization")) {
      request.authorization = auth;
    }
    request.client_verified = static_cast<WebServer*>(self)->client_certs() && ClientVerified(connection);
    try {
      response = static_cast<WebServer*>(self)->Dispatch(request);
    } catch (const std::exception& e) {
      response = WebResponse();
      response.status = 500;
      response.body = "internal error\n";
      log::Error("http handler failed").Kv("path", request.path).Kv("error", e.what());
    }
  }
  MHD_Response* r = MHD_create_response_from_buffer(response.body.size(), response.body.data(),
                                                    MHD_RESPMEM_MUST_COPY);
  if (r == nullptr) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", response.content_type.c_str());
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  for (const auto& [name, value] : response.headers) MHD_add_response_header(r, name.c_str(), value.c_str());
  const MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(response.status), r);
  MHD_destroy_response(r);
  return queued == MHD_YES ? MHD_YES : MHD_NO;
}

}  // namespace

WebResponse WebServer::Dispatch(const WebRequest& request) const {
  auto it = handlers_.find(request.path);
  if (it == handlers_.end()) {
    WebResponse r;
    r.status = 404;
    r.body = "not found\n";
    return r;
  }
  return it->second(request);
}

absl::Status WebServer::Start(absl::string_view listen, const WebTls* tls) {
  if (daemon_ != nullptr) return absl::FailedPreconditionError("http listener already running");
  absl::StatusOr<net::HostPort> hp = net::SplitHostPort(listen);
  if (!hp.ok()) return absl::InvalidArgumentError(absl::StrCat("listen ", listen, ": ", hp.status().message()));
  sockaddr_storage addr{};
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
  sockaddr_in* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  sockaddr_in6* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, hp->host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(hp->port);
    loopback_ = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  } else if (inet_pton(AF_INET6, hp->host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(hp->port);
    flags |= MHD_USE_IPv6;
    loopback_ = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("listen ", listen, ": not an IP literal"));
  }
  std::vector<MHD_OptionItem> options = {
      {MHD_OPTION_SOCK_ADDR, 0, &addr},
      {MHD_OPTION_CONNECTION_LIMIT, 256, nullptr},
      {MHD_OPTION_PER_IP_CONNECTION_LIMIT, 64, nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, 30, nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 << 10, nullptr},
  };
  client_certs_ = false;
  if (tls != nullptr) {
    flags |= MHD_USE_TLS;
    options.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(tls->key_pem.c_str())});
    options.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(tls->cert_pem.c_str())});
    if (!tls->client_ca_pem.empty()) {
      options.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0, const_cast<char*>(tls->client_ca_pem.c_str())});
      client_certs_ = true;
    }
  }
  options.push_back({MHD_OPTION_END, 0, nullptr});
  daemon_ = MHD_start_daemon(flags, hp->port, nullptr, nullptr, &OnRequest, this, MHD_OPTION_ARRAY, options.data(),
                             MHD_OPTION_END);
  if (daemon_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("listen ", listen, ": ", std::strerror(errno)));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
  port_ = info != nullptr ? info->port : hp->port;
  return absl::OkStatus();
}

void WebServer::Stop() {
  if (daemon_ == nullptr) return;
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
  port_ = 0;
}

}  // namespace edgerouter::controlplane::dashboard
