// Request dispatch and the responses the data plane writes itself: errors and the HTTPS
// redirect; a routed request goes through its app's chain (dataplane/pipeline), which sees
// this connection as a pipeline::Exchange (the glue is at the end of this file).
#include "absl/strings/str_cat.h"
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

}  // namespace

const char* StatusReason(int status) { return Reason(status); }

void DownstreamConnection::SendLocal(int status, absl::string_view content_type, absl::string_view body,
                                     absl::string_view extra_headers) {
  state_ = State::kLocalResponse;
  req_.status = status;
  // An unread request body cannot be skipped safely on a keep-alive connection.
  if (!req_.body_done) closing_after_response_ = true;
  if (!req_.keep_alive || draining_) closing_after_response_ = true;
  std::string head;
  // 204 and 304 carry no body and no Content-Length (RFC 9110 §8.6); content_type "" is none.
  const bool bodyless = status == 204 || status == 304;
  if (HasResponseStages() || bodyless || content_type.empty()) {
    head = absl::StrCat("HTTP/1.1 ", status, " ", Reason(status), "\r\n");
    std::string fields;
    if (!content_type.empty()) absl::StrAppend(&fields, "Content-Type: ", content_type, "\r\n");
    if (!bodyless) absl::StrAppend(&fields, "Content-Length: ", body.size(), "\r\n");
    absl::StrAppend(&fields, extra_headers);
    AppendResponseLines(status, fields, &head);  // the response stages' hook for local answers
  } else {
    head = absl::StrCat("HTTP/1.1 ", status, " ", Reason(status), "\r\nContent-Type: ", content_type,
                        "\r\nContent-Length: ", body.size(), "\r\n", extra_headers);
  }
  absl::StrAppend(&head, ConnectionField(), "\r\n");
  out_.Append(head);
  if (!req_.head_request && !bodyless) {
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
  // ACME HTTP-01 tokens are answered before routing, only for held tokens (dataplane/acme).
  if (const std::string* answer = dpacme::FindChallengeAnswer(req_.config->acme_challenges.get(), h.method, h.path)) {
    req_.host.assign(h.host.data(), h.host.size());
    SendLocal(200, "application/octet-stream", *answer);
    return;
  }
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
      mount->strip_path_prefix ? routing::StripPrefix(mount->prefix, *path) : *std::move(path);
  const AppRuntime& app = static_cast<const AppRuntime&>(*mount->target);
  req_.chain = &app.chain;  // its response stages see every head from here on
  if (app.compress != nullptr) NegotiateCompression(*app.compress);
  app.chain.Run(*this, backend_path);
  if (state_ == State::kProxying && upstream_ != nullptr && upstream_->connected) {
    PumpRequestBody();
    if (FlushToUpstream()) UpdateUpstreamInterest();
  }
}

absl::string_view DownstreamConnection::raw_path() const { return head_.path; }

std::optional<absl::string_view> DownstreamConnection::request_header(absl::string_view name) const {
  const http::Header* header = head_.Find(name);
  if (header == nullptr) return std::nullopt;
  return header->value;
}

absl::string_view DownstreamConnection::client_ip() const { return req_.client.ip; }

absl::string_view DownstreamConnection::raw_query() const { return head_.query; }

const backends::IpRuleSet* DownstreamConnection::ip_rules() const {
  return req_.config != nullptr ? req_.config->ip_rules.get() : nullptr;
}

void DownstreamConnection::StripAuthorization() { req_.strip_authorization = true; }

int DownstreamConnection::worker_index() const { return worker_->index(); }

int64_t DownstreamConnection::now_ms() const { return worker_->loop().now_ms(); }

void DownstreamConnection::NoteRateLimited() { worker_->stats().CountRateLimited(req_.app_id); }

std::shared_ptr<const std::string> DownstreamConnection::MetricsText() { return worker_->metrics_text(); }

const std::string& DownstreamConnection::AdminPage() { return req_.config->admin_page; }

}  // namespace edgerouter::proxy
