#include "common/http_admin_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace edgerouter::admin {
namespace {

struct ClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Blocking client: connects, sends `raw`, reads until the server closes. The socket timeouts
// only keep a broken server from hanging the test; synchronisation is the server's close.
std::string Exchange(int port, const std::string& raw, bool ipv6 = false) {
  const int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0) << std::strerror(errno);
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  int rc;
  if (ipv6) {
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(port);
    addr.sin6_addr = in6addr_loopback;
    rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  } else {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  }
  std::string received;
  if (rc != 0) {
    ADD_FAILURE() << "connect: " << std::strerror(errno);
  } else {
    for (size_t sent = 0; sent < raw.size();) {
      const ssize_t n = send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // the server may answer and close before reading everything
      sent += static_cast<size_t>(n);
    }
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) received.append(buf, static_cast<size_t>(n));
    EXPECT_EQ(n, 0) << "recv: " << std::strerror(errno);
  }
  close(fd);
  return received;
}

ClientResponse Parse(const std::string& raw) {
  ClientResponse response;
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) {
    ADD_FAILURE() << "no complete response head in: " << raw;
    return response;
  }
  std::vector<std::string> lines = absl::StrSplit(raw.substr(0, end), "\r\n");
  std::vector<std::string> status_line = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  EXPECT_EQ(status_line[0], "HTTP/1.1");
  EXPECT_TRUE(absl::SimpleAtoi(status_line.at(1), &response.status)) << lines[0];
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(": ");
    response.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        lines[i].substr(colon + 2);
  }
  response.body = raw.substr(end + 4);
  return response;
}

ClientResponse Request(int port, const std::string& method, const std::string& target) {
  return Parse(Exchange(
      port, absl::StrCat(method, " ", target, " HTTP/1.1\r\nHost: localhost\r\n\r\n")));
}

class HttpAdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Handle("/healthz", [](const HttpAdminRequest&) {
      HttpAdminResponse response;
      response.body = "ok\n";
      return response;
    });
    server_.Handle("/echo", [](const HttpAdminRequest& request) {
      HttpAdminResponse response;
      response.content_type = "application/json";
      response.body = absl::StrCat(request.method, " ", request.path, " ", request.query);
      return response;
    });
    ASSERT_TRUE(server_.Start("127.0.0.1:0").ok());
    ASSERT_GT(server_.port(), 0);
  }

  HttpAdminServer server_;
};

TEST_F(HttpAdminServerTest, GetHealthz) {
  const ClientResponse response = Request(server_.port(), "GET", "/healthz");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "ok\n");
  EXPECT_EQ(response.headers.at("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(response.headers.at("content-length"), "3");
  EXPECT_EQ(response.headers.at("connection"), "close");
}

TEST_F(HttpAdminServerTest, ExactResponseBytes) {
  EXPECT_EQ(Exchange(server_.port(), "GET /healthz HTTP/1.0\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 3\r\nConnection: close\r\n\r\nok\n");
}

TEST_F(HttpAdminServerTest, HeadHasHeadersButNoBody) {
  const ClientResponse response = Request(server_.port(), "HEAD", "/healthz");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.at("content-length"), "3");
  EXPECT_EQ(response.body, "");
}

TEST_F(HttpAdminServerTest, PassesMethodPathAndQuery) {
  ClientResponse response = Request(server_.port(), "GET", "/echo?format=json&x=%20");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.at("content-type"), "application/json");
  EXPECT_EQ(response.body, "GET /echo format=json&x=%20");
  // Absolute-form targets are accepted too; bare LF line ends are not (the proxy's parser).
  response = Parse(Exchange(server_.port(), "GET http://x/echo?a HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(response.body, "GET /echo a");
  response = Parse(Exchange(server_.port(), "GET /echo?a HTTP/1.1\nHost: x\n\n"));
  EXPECT_EQ(response.status, 400);
}

TEST_F(HttpAdminServerTest, UnknownPathIs404) {
  ClientResponse response = Request(server_.port(), "GET", "/nope");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.body, "not found\n");
  response = Request(server_.port(), "POST", "/nope");
  EXPECT_EQ(response.status, 404);
}

TEST_F(HttpAdminServerTest, PostIs405) {
  // The body is never read; the server must still deliver its answer rather than a reset.
  const ClientResponse response = Parse(Exchange(
      server_.port(),
      "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n" +
          std::string(20000, 'x')));
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.headers.at("allow"), "GET, HEAD");
  EXPECT_EQ(response.body, "method not allowed\n");
}

TEST_F(HttpAdminServerTest, MalformedIs400) {
  for (const char* raw : {"GARBAGE\r\n\r\n", "GET /healthz\r\n\r\n", "GET healthz HTTP/1.1\r\n\r\n",
                          "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n",
                          "GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n",
                          "GET /healthz HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"}) {
    SCOPED_TRACE(raw);
    EXPECT_EQ(Parse(Exchange(server_.port(), raw)).status, 400);
  }
  EXPECT_EQ(Parse(Exchange(server_.port(), "GET /healthz HTTP/2.0\r\n\r\n")).status, 505);
}

TEST_F(HttpAdminServerTest, OversizedHeadIs431) {
  const ClientResponse response = Parse(Exchange(
      server_.port(), "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n"));
  EXPECT_EQ(response.status, 431);
}

TEST_F(HttpAdminServerTest, HandlerExceptionIs500) {
  server_.Handle("/boom", [](const HttpAdminRequest&) -> HttpAdminResponse {
    throw std::runtime_error("kaput");
  });
  const ClientResponse response = Request(server_.port(), "GET", "/boom");
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body, "handler failed: kaput\n");
}

TEST_F(HttpAdminServerTest, BindConflictNamesTheAddress) {
  HttpAdminServer other;
  const std::string addr = absl::StrCat("127.0.0.1:", server_.port());
  const absl::Status status = other.Start(addr);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.message(), absl::StrCat("listen ", addr, ": Address already in use"));
  EXPECT_EQ(other.port(), 0);
}

TEST_F(HttpAdminServerTest, StartTwiceFails) {
  EXPECT_EQ(server_.Start("127.0.0.1:0").code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(HttpAdminServerTest, StopIsPromptEvenWithAStalledClient) {
  const int port = server_.port();
  // A client that sends half a request and then nothing: the server would wait 5 s for it.
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(send(fd, "GET /hea", 8, MSG_NOSIGNAL), 8);

  const auto start = std::chrono::steady_clock::now();
  server_.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(server_.port(), 0);
  server_.Stop();  // idempotent
  close(fd);

  // The port is closed now, and the server can be started again.
  const int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_NE(connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(probe);
  ASSERT_TRUE(server_.Start("127.0.0.1:0").ok());
  EXPECT_EQ(Request(server_.port(), "GET", "/healthz").status, 200);
}

TEST(HttpAdminServer, StopWithoutStartAndIpv6) {
  HttpAdminServer server;
  server.Stop();
  server.Handle("/healthz", [](const HttpAdminRequest&) { return HttpAdminResponse{200, "x", "ok"}; });
  const absl::Status status = server.Start("[::1]:0");
  if (!status.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << status;
  EXPECT_EQ(Parse(Exchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", true)).body,
            "ok");
}

TEST(ParseRequestHead, SplitsTargetAndRejectsBadSyntax) {
  ParsedRequestHead parsed = ParseRequestHead("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_FALSE(parsed.incomplete);
  EXPECT_EQ(parsed.error_status, 0);
  EXPECT_EQ(parsed.request.method, "GET");
  EXPECT_EQ(parsed.request.path, "/metrics");
  EXPECT_EQ(parsed.request.query, "x=1");
  EXPECT_TRUE(ParseRequestHead("GET /metrics HTTP/1.1\r\nHost: a\r\n").incomplete);
  parsed = ParseRequestHead("GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(parsed.error_status, 400);  // absolute-form with a query but no path
  parsed = ParseRequestHead("GET http://h HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(parsed.request.path, "/");
  EXPECT_EQ(ParseRequestHead("DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n").error_status, 0);  // 405 later
  for (const char* bad : {"\r\n\r\n", "GET  /x HTTP/1.1\r\nHost: a\r\n\r\n",
                          "GET /x HTTP/1.10\r\nHost: a\r\n\r\n", "GET ?x HTTP/1.1\r\nHost: a\r\n\r\n",
                          "G(T /x HTTP/1.1\r\nHost: a\r\n\r\n", "GET /x HTTP/1.1\r\n\r\n",
                          "GET /x HTTP/1.1\nHost: a\n\n"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(ParseRequestHead(bad).error_status, 400);
  }
  EXPECT_EQ(ParseRequestHead("GET /x HTTP/3.0\r\nHost: a\r\n\r\n").error_status, 505);
  EXPECT_EQ(ParseRequestHead("GET /" + std::string(9000, 'x') + " HTTP/1.1\r\n").error_status, 431);
}

}  // namespace
}  // namespace edgerouter::admin
