// Request dispatch and the responses the data plane writes itself: errors, the HTTPS
// redirect, the redirect backend, auth_v0, the admin page and the metrics endpoint.
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "dataplane/http/escaping.h"
#include "dataplane/proxy/http_session.h"
#include "dataplane/proxy/worker.h"
#include "dataplane/routing/route_table.h"

namespace edgerouter::proxy {
namespace {

const char* Reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 416: return "Range Not Satisfiable";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

// Constant-time token comparison: hashing first hides the length as well.
bool TokenEquals(absl::string_view a, absl::string_view b) {
  unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof(da)) == 0;
}

}  // namespace

const char* StatusReason(int status) { return Reason(status); }

std::string JsonEscape(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (unsigned char c : in) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppend(&out, "\\u00", absl::Hex(c, absl::kZeroPad2));
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

void DownstreamConnection::SendLocal(int status, absl::string_view content_type, absl::string_view body,
                                     absl::string_view extra_headers) {
  state_ = State::kLocalResponse;
  req_.status = status;
  // An unread request body cannot be skipped safely on a keep-alive connection.
  if (!req_.body_done) closing_after_response_ = true;
  if (!req_.keep_alive || draining_) closing_after_response_ = true;
  std::string head = absl::StrCat("HTTP/1.1 ", status, " ", Reason(status), "\r\nContent-Type: ", content_type,
                                  "\r\nContent-Length: ", body.size(), "\r\n", extra_headers);
  if (closing_after_response_) {
    head += "Connection: close\r\n";
  } else if (req_.http10) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
  out_.Append(head);
  if (!req_.head_request) {
    out_.Append(body);
    req_.response_bytes = body.size();
  }
}

void DownstreamConnection::SendHttpsRedirect(absl::string_view host) {
  // Keeps the raw (still-encoded) target, so %2F and friends keep their meaning; the port of a
  // plain-HTTP Host header does not belong in an https:// URL.
  SendRedirect(307, absl::StrCat("https://", host, req_.raw_target));
}

void DownstreamConnection::SendRedirect(int status, absl::string_view target) {
  // As Go's http.Redirect, with the target made a valid URI reference first: bytes a URI
  // cannot hold are percent-encoded, and the body's link is HTML-escaped (it is text/html).
  const std::string location = http::PercentEncodeUriReference(target);
  std::string body;
  if (req_.method == "GET" || req_.method == "HEAD") {
    body = absl::StrCat("<a href=\"", http::HtmlEscape(location), "\">", Reason(status), "</a>.\n\n");
  }
  SendLocal(status, "text/html; charset=utf-8", body, absl::StrCat("Location: ", location, "\r\n"));
}

// Both codecs end here: head_ is the decoded request (from HTTP/1.1 bytes or an HTTP/2
// stream's HEADERS) and req_ was just Reset.
void DownstreamConnection::HandleRequest() {
  const http::RequestHead& h = head_;
  req_.method.assign(h.method.data(), h.method.size());
  req_.raw_target.assign(h.target.data(), h.target.size());
  req_.http10 = h.http10();
  req_.keep_alive = h.keep_alive;
  // The head's views stay valid until something is appended to in_, which cannot happen while
  // the request is dispatched; consuming now keeps body bytes (only) in in_ for the pump.
  in_.Consume(h.head_size);
  req_.head_request = h.method == "HEAD";
  req_.expect_continue = h.expect_continue;
  req_.upgrade = h.upgrade;
  req_.body_framing = h.framing;
  req_.body_remaining = h.content_length;
  req_.body_done = h.framing == http::BodyFraming::kNone ||
                   (h.framing == http::BodyFraming::kContentLength && h.content_length == 0);
  http::ResolveClientAddress(peer_ip_, peer_trusted_, worker_->options().trusted_proxies, h, &req_.client);

  if (h.method == "TRACE") {
    // As nginx: TRACE echoes the request (cookies, credentials) back to whoever can script it.
    req_.host.assign(h.host.data(), h.host.size());
    SendLocal(405, "text/plain; charset=utf-8", "method TRACE is not allowed\n");
    return;
  }
  req_.config = worker_->current_config();
  if (req_.config == nullptr) {
    req_.host.assign(h.host.data(), h.host.size());
    SendLocal(503, "text/plain; charset=utf-8", "no configuration loaded yet\n");
    return;
  }
  worker_->RefConfig(req_.config);
  if (!routing::NormalizeHost(h.host, &req_.host)) {
    const std::string value(h.host);
    req_.host = value;
    SendLocal(400, "text/plain; charset=utf-8", absl::StrCat("failed to parse hostname header: ", value, "\n"));
    return;
  }
  absl::StatusOr<std::string> path = routing::NormalizePath(h.path);
  if (!path.ok()) {
    SendLocal(400, "text/plain; charset=utf-8", absl::StrCat("invalid request path: ", path.status().message(), "\n"));
    return;
  }
  const routing::Mount* mount = req_.config->routes->Match(req_.host, *path, static_cast<size_t>(worker_->index()));
  if (mount == nullptr) {
    SendLocal(404, "text/plain; charset=utf-8", absl::StrCat("no website for hostname: ", req_.host, "\n"));
    return;
  }
  req_.app_id = mount->app_id;
  const uint64_t max_body = worker_->options().max_request_body_bytes;
  if (max_body > 0 && h.framing == http::BodyFraming::kContentLength && h.content_length > max_body) {
    SendLocal(413, "text/plain; charset=utf-8", "request body too large\n");  // body unread: closes
    return;
  }
  if (!mount->allow_insecure_http && !secure_) {
    SendHttpsRedirect(req_.host);
    return;
  }
  const std::string backend_path =
      mount->strip_path_prefix ? routing::StripPrefix(mount->prefix, *path) : *path;
  HandleBackend(static_cast<const AppRuntime&>(*mount->target).backend, backend_path);
  if (state_ == State::kProxying && upstream_ != nullptr && upstream_->connected) {
    PumpRequestBody();
    if (FlushToUpstream()) UpdateUpstreamInterest();
  }
}

bool DownstreamConnection::CheckAuthV0(const BackendConfig& backend) {
  const http::Header* auth = head_.Find("Authorization");
  bool ok = false;
  if (auth != nullptr) {
    absl::string_view value = auth->value;
    if (absl::ConsumePrefix(&value, "Bearer ")) {
      ok = TokenEquals(value, backend.bearer_token);
    } else if (absl::ConsumePrefix(&value, "Basic ")) {
      std::string decoded;
      if (absl::Base64Unescape(value, &decoded)) {
        const size_t colon = decoded.find(':');
        if (colon != std::string::npos) {
          absl::string_view user = absl::string_view(decoded).substr(0, colon);
          absl::string_view password = absl::string_view(decoded).substr(colon + 1);
          ok = (user.empty() || user == "x") && TokenEquals(password, backend.bearer_token);
        }
      }
    }
  }
  if (!ok) {
    SendLocal(401, "text/plain; charset=utf-8", "Unauthorized\n",
              "WWW-Authenticate: Basic realm=\"Use Authorization: Bearer or provide it as password\"\r\n");
  }
  return ok;
}

void DownstreamConnection::SendRedirectBackend(const BackendConfig& backend) {
  std::string location = backend.redirect_to;
  // As Go's http.Redirect: a relative target is resolved against the request path.
  if (!absl::StrContains(location, "://") && !absl::StartsWith(location, "/")) {
    absl::string_view path = head_.path;
    location = absl::StrCat(path.substr(0, path.rfind('/') + 1), location);
  }
  SendRedirect(302, location);
}

bool DownstreamConnection::HandleBackend(const BackendConfig& backend, const std::string& path) {
  switch (backend.kind) {
    case BackendKind::kAuthV0:
      if (!CheckAuthV0(backend)) return false;
      req_.strip_authorization = true;  // the token is ours, not the origin's
      return HandleBackend(*backend.inner, path);
    case BackendKind::kReverseProxy:
      StartProxy(backend, path);
      return true;
    case BackendKind::kRedirect:
      SendRedirectBackend(backend);
      return true;
    case BackendKind::kPromMetrics: {
      std::shared_ptr<const std::string> text = worker_->metrics_text();
      SendLocal(200, "text/plain; version=0.0.4; charset=utf-8", text ? *text : std::string());
      return true;
    }
    case BackendKind::kS3StaticWebsite:
      StartS3(backend, path);
      return true;
    case BackendKind::kAwsLambda:
      StartLambda(backend, path);
      return true;
    case BackendKind::kEdgerouterAdmin:
      if (path == "/") {
        SendLocal(200, "text/html; charset=utf-8", req_.config->admin_page);
      } else {
        SendLocal(404, "text/plain; charset=utf-8", "404 page not found\n");
      }
      return true;
    case BackendKind::kUnsupported:
      SendLocal(502, "text/plain; charset=utf-8",
                absl::StrCat("backend kind ", backend.kind_name, " is not supported by this data plane yet\n"));
      return true;
  }
  return false;
}

}  // namespace edgerouter::proxy
