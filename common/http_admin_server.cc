#include "common/http_admin_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/http/http1_parser.h"
#include "common/net/socket_address.h"

namespace edgerouter::admin {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHeadBytes = 8 * 1024;
constexpr auto kRequestTimeout = std::chrono::seconds(5);
constexpr auto kWriteTimeout = std::chrono::seconds(5);
// After answering we read (and drop) what the client still sends, so that closing with unread
// data does not reset the connection before the client has read the response.
constexpr auto kLingerTimeout = std::chrono::milliseconds(500);
constexpr size_t kMaxLingerBytes = 64 * 1024;

absl::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "";  // the reason phrase may be empty
  }
}

HttpAdminResponse TextResponse(int status, std::string body) {
  HttpAdminResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

enum class Ready { kYes, kTimeout, kStopped, kError };

// Waits for `events` on `fd` until `deadline`, returning early when Stop() signals `wake_fd`.
Ready WaitFor(int fd, short events, int wake_fd, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Ready::kTimeout;
    pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
    const int n = poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), 60'000)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Ready::kError;
    }
    if (fds[1].revents != 0) return Ready::kStopped;
    if (fds[0].revents != 0) return Ready::kYes;  // errors and hang-ups show up on recv/send
  }
}

// Sends all of `data` on the non-blocking `fd`; false when the client or Stop() cut it short.
bool SendAll(int fd, absl::string_view data, int wake_fd) {
  const Clock::time_point deadline = Clock::now() + kWriteTimeout;
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (WaitFor(fd, POLLOUT, wake_fd, deadline) != Ready::kYes) return false;
    } else if (errno != EINTR) {
      return false;
    }
  }
  return true;
}

std::string SerializeResponse(const HttpAdminResponse& response, bool head_only) {
  // A handler's content type must not be able to inject header lines.
  std::string content_type = response.content_type;
  content_type.erase(std::remove_if(content_type.begin(), content_type.end(),
                                    [](char c) { return c == '\r' || c == '\n'; }),
                     content_type.end());
  std::string out = absl::StrCat("HTTP/1.1 ", response.status, " ",
                                 ReasonPhrase(response.status), "\r\nContent-Type: ",
                                 content_type, "\r\nContent-Length: ", response.body.size(),
                                 "\r\nConnection: close\r\n");
  if (response.status == 405) out += "Allow: GET, HEAD\r\n";
  out += "\r\n";
  if (!head_only) out += response.body;
  return out;
}

}  // namespace

ParsedRequestHead ParseRequestHead(absl::string_view buffer) {
  ParsedRequestHead parsed;
  http::ParserLimits limits;
  limits.max_request_line = kMaxHeadBytes;
  limits.max_header_bytes = kMaxHeadBytes;
  http::RequestHead head;
  http::ParseError error;
  switch (http::ParseRequestHead(buffer, limits, &head, &error)) {
    case http::ParseStatus::kIncomplete:
      parsed.incomplete = true;
      return parsed;
    case http::ParseStatus::kError:
      parsed.error_status = error.status;
      parsed.error_body = absl::StrCat(error.reason, "\n");
      return parsed;
    case http::ParseStatus::kDone:
      break;
  }
  parsed.request.method = std::string(head.method);
  parsed.request.path = std::string(head.path);
  parsed.request.query = std::string(head.query);
  return parsed;
}

void HttpAdminServer::Handle(std::string path, Handler handler) {
  absl::MutexLock lock(&mu_);
  handlers_[std::move(path)] = std::move(handler);
}

absl::Status HttpAdminServer::Start(absl::string_view listen_addr) {
  if (thread_.joinable()) return absl::FailedPreconditionError("admin server already running");
  absl::StatusOr<net::SocketAddress> address = net::ParseListenAddress(listen_addr);
  if (!address.ok()) return address.status();

  const std::string what = absl::StrCat("listen ", listen_addr);
  auto fail = [&](int error) {
    if (listen_fd_ >= 0) close(listen_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
    listen_fd_ = wake_fd_ = -1;
    return absl::ErrnoToStatus(error, what);  // "listen <addr>: <strerror>"
  };
  listen_fd_ = socket(address->storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) return fail(errno);
  const int one = 1;
  if (setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    return fail(errno);
  }
  // "[::]:port" should mean IPv6 only, whatever the system default for dual-stack is.
  if (address->ipv6() && setsockopt(listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) {
    return fail(errno);
  }
  if (bind(listen_fd_, address->get(), address->len) != 0 || listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, address->get(), &address->len) != 0) {
    return fail(errno);
  }
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return fail(errno);

  port_ = address->port();
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void HttpAdminServer::Stop() {
  if (!thread_.joinable()) return;
  // The eventfd stays readable once written, so every later poll of the thread returns too.
  const uint64_t one = 1;
  while (write(wake_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
  thread_.join();
  close(listen_fd_);
  close(wake_fd_);
  listen_fd_ = wake_fd_ = -1;
  port_ = 0;
}

void HttpAdminServer::Run() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      // Unexpected (e.g. ENOMEM): back off instead of spinning, still responsive to Stop().
      if (WaitFor(wake_fd_, POLLIN, wake_fd_, Clock::now() + std::chrono::milliseconds(100)) !=
          Ready::kTimeout) {
        return;
      }
      continue;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      ServeConnection(fd);
      close(fd);
    } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      // The pending connection keeps the socket readable: pause rather than spin at 100% CPU.
      if (WaitFor(wake_fd_, POLLIN, wake_fd_, Clock::now() + std::chrono::milliseconds(100)) !=
          Ready::kTimeout) {
        return;
      }
    }
    // Other accept errors (EAGAIN, ECONNABORTED, EINTR, ...) concern one connection only.
  }
}

void HttpAdminServer::ServeConnection(int fd) {
  const Clock::time_point deadline = Clock::now() + kRequestTimeout;
  std::string buf;
  HttpAdminResponse response;
  bool head_only = false;
  for (;;) {
    // RFC 9112 2.2: ignore empty lines before the request line.
    const size_t start = buf.find_first_not_of("\r\n");
    buf.erase(0, start == std::string::npos ? buf.size() : start);
    ParsedRequestHead parsed = ParseRequestHead(buf);
    if (!parsed.incomplete) {
      if (parsed.error_status != 0) {
        response = TextResponse(parsed.error_status, std::move(parsed.error_body));
      } else {
        head_only = parsed.request.method == "HEAD";
        response = Dispatch(parsed.request);
      }
      break;
    }
    if (buf.size() >= kMaxHeadBytes) {
      response = TextResponse(431, "request head larger than 8 KiB\n");
      break;
    }
    const Ready ready = WaitFor(fd, POLLIN, wake_fd_, deadline);
    if (ready == Ready::kTimeout) {
      response = TextResponse(408, "request head not received within 5 s\n");
      break;
    }
    if (ready != Ready::kYes) return;
    char chunk[4096];
    const ssize_t n = recv(fd, chunk, std::min(sizeof(chunk), kMaxHeadBytes - buf.size()), 0);
    if (n == 0) return;  // the client went away before finishing its request
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return;
    }
    buf.append(chunk, static_cast<size_t>(n));
  }

  if (!SendAll(fd, SerializeResponse(response, head_only), wake_fd_)) return;
  shutdown(fd, SHUT_WR);
  const Clock::time_point linger_deadline = Clock::now() + kLingerTimeout;
  for (size_t drained = 0; drained < kMaxLingerBytes;) {
    if (WaitFor(fd, POLLIN, wake_fd_, linger_deadline) != Ready::kYes) return;
    char chunk[4096];
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return;
    if (n > 0) drained += static_cast<size_t>(n);
  }
}

HttpAdminResponse HttpAdminServer::Dispatch(const HttpAdminRequest& request) {
  Handler handler;
  {
    absl::MutexLock lock(&mu_);
    auto it = handlers_.find(request.path);
    if (it == handlers_.end()) return TextResponse(404, "not found\n");
    handler = it->second;  // copied so the handler runs without mu_ (it may call Handle)
  }
  if (request.method != "GET" && request.method != "HEAD") {
    return TextResponse(405, "method not allowed\n");
  }
  try {
    HttpAdminResponse response = handler(request);
    if (response.status < 100 || response.status > 999) {
      return TextResponse(500, "handler returned an invalid status\n");
    }
    return response;
  } catch (const std::exception& e) {
    return TextResponse(500, absl::StrCat("handler failed: ", e.what(), "\n"));
  } catch (...) {
    return TextResponse(500, "handler failed\n");
  }
}

}  // namespace edgerouter::admin
