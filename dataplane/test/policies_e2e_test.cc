// Traffic policies end to end (headers, security preset, CORS, rate limits) with real clients
// (curl, nghttp, raw sockets) against a real data plane (2 workers), control plane and origins:
// proxied responses over HTTP/1.1 and HTTP/2, local answers (auth_v0's 401, the preflight,
// 429s), HSTS only over HTTPS, and the limiter's accuracy under concurrent clients.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/test_util.h"
#include "dataplane/test/e2e_fixture.h"
#include "dataplane/test/tls_test_util.h"

namespace edgerouter::testing {
namespace {

constexpr char kHeaders[] =
    R"({"headers":{"custom_request_headers":{"X-Set":"ours","X-Drop":""},"add_request_headers":{"X-Extra":"1"},)"
    R"("custom_response_headers":{"X-Origin":""},"add_response_headers":{"X-Added":"yes"},)"
    R"("sts_seconds":31536000,"sts_include_subdomains":true,"content_type_nosniff":true,"frame_deny":true,)"
    R"("referrer_policy":"no-referrer","access_control_allow_origin_list":["https://app.example"],)"
    R"("access_control_allow_methods":["GET","PUT"],"access_control_allow_headers":["X-Token"],)"
    R"("access_control_allow_credentials":true,"access_control_max_age":600}})";

class Policies : public DataplaneE2E {
 protected:
  void StartOrigins() override {
    DataplaneE2E::StartOrigins();
    const std::string out = Shell(absl::StrCat("set -e; cd ", dir_, "; ", MakeCaScript("ca"),
                                               MakeLeafScript("default", "default.test", "ca",
                                                              "subjectAltName=DNS:hdr.test,DNS:auth.test")));
    ASSERT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
  }
  std::vector<std::string> DataplaneFlags() override { return {"--default_cert=" + dir_ + "/default.pem"}; }

  std::string AppsJson() override {
    const std::string a = absl::StrCat("http://127.0.0.1:", origin_a_);
    const std::string proxy = absl::StrCat(R"({"kind":"reverse_proxy","reverse_proxy_opts":{"origins":[")", a, R"("]}})");
    auto app = [&](const std::string& id, const std::string& backend, const std::string& policies) {
      return absl::StrCat(R"({"id":")", id, R"(","frontends":[{"kind":"hostname","hostname":")", id,
                          R"(.test","path_prefix":"/","allow_insecure_http":true}],"backend":)", backend,
                          R"(,"policies":)", policies, "}");
    };
    return absl::StrCat(
        R"({"apps":[)", app("hdr", proxy, kHeaders), ",",
        app("auth",
            absl::StrCat(R"({"kind":"auth_v0","auth_v0_opts":{"bearer_token":"s3cret","authorized_backend":)", proxy, "}}"),
            kHeaders),
        ",", app("limited", proxy, R"({"rate_limit":{"average":100,"burst":10,"period":"1s","per":"app"}})"), ",",
        app("perip", proxy, R"({"rate_limit":{"average":1,"burst":1,"period":"1m"}})"), ",",
        app("plain", proxy, "{}"), "]}");
  }

  std::string Curl(const std::string& args) { return Shell("curl -sS -i " + args); }
  std::string Plain(const std::string& host, const std::string& path, const std::string& args = "") {
    return Curl(absl::StrCat(args, " -H 'Host: ", host, "' http://127.0.0.1:", http_port_, path));
  }
  std::string Tls(const std::string& host, const std::string& path, const std::string& args = "") {
    return Curl(absl::StrCat(args, " --cacert ", dir_, "/ca.pem --resolve ", host, ":", https_port_, ":127.0.0.1 https://",
                             host, ":", https_port_, path));
  }

};

// The response head (up to the blank line) of curl -i output, and whether it has a line.
std::string HeadOf(const std::string& out) { return out.substr(0, out.find("\r\n\r\n")); }
bool HasLine(const std::string& out, const std::string& line) {
  return absl::StrContains(absl::AsciiStrToLower(HeadOf(out) + "\r\n"), absl::AsciiStrToLower("\n" + line + "\r\n"));
}

TEST_F(Policies, ProxiedResponsesGetTheHeadersOverHttp11AndHstsOnlyOverHttps) {
  WaitForApplied(1);
  const std::string plain = Plain("hdr.test", "/echo", "-H 'X-Set: theirs' -H 'X-Drop: 1' -H 'X-Keep: 2'");
  ASSERT_TRUE(absl::StartsWith(plain, "HTTP/1.1 200")) << plain;
  EXPECT_TRUE(HasLine(plain, "X-Frame-Options: DENY")) << plain;
  EXPECT_TRUE(HasLine(plain, "X-Content-Type-Options: nosniff")) << plain;
  EXPECT_TRUE(HasLine(plain, "Referrer-Policy: no-referrer")) << plain;
  EXPECT_TRUE(HasLine(plain, "X-Added: yes")) << plain;
  EXPECT_TRUE(HasLine(plain, "Vary: Origin")) << plain;
  EXPECT_FALSE(absl::StrContains(HeadOf(plain), "X-Origin")) << plain;  // removed
  EXPECT_FALSE(absl::StrContains(HeadOf(plain), "Strict-Transport-Security")) << plain;
  // What the origin received (its echo is the body).
  const std::string body = plain.substr(plain.find("\r\n\r\n") + 4);
  EXPECT_TRUE(absl::StrContains(body, "X-Set: ours\r\n")) << body;
  EXPECT_FALSE(absl::StrContains(body, "theirs")) << body;
  EXPECT_FALSE(absl::StrContains(body, "X-Drop")) << body;
  EXPECT_TRUE(absl::StrContains(body, "X-Extra: 1\r\n")) << body;
  EXPECT_TRUE(absl::StrContains(body, "X-Keep: 2\r\n")) << body;

  const std::string https = Tls("hdr.test", "/echo", "--http1.1");
  ASSERT_TRUE(absl::StartsWith(https, "HTTP/1.1 200")) << https;
  EXPECT_TRUE(HasLine(https, "Strict-Transport-Security: max-age=31536000; includeSubDomains")) << https;
  EXPECT_TRUE(HasLine(https, "X-Frame-Options: DENY")) << https;

  // An app without policies is untouched.
  const std::string untouched = Plain("plain.test", "/echo");
  EXPECT_TRUE(absl::StrContains(HeadOf(untouched), "X-Origin: a")) << untouched;
  EXPECT_FALSE(absl::StrContains(HeadOf(untouched), "X-Frame-Options")) << untouched;
}

TEST_F(Policies, Http2ProxiedAndLocalResponsesGetTheHeaders) {
  WaitForApplied(1);
  const std::string proxied = Tls("hdr.test", "/echo", "--http2");
  ASSERT_TRUE(absl::StartsWith(proxied, "HTTP/2 200")) << proxied;
  EXPECT_TRUE(HasLine(proxied, "strict-transport-security: max-age=31536000; includeSubDomains")) << proxied;
  EXPECT_TRUE(HasLine(proxied, "x-frame-options: DENY")) << proxied;
  EXPECT_TRUE(HasLine(proxied, "x-added: yes")) << proxied;
  EXPECT_FALSE(absl::StrContains(absl::AsciiStrToLower(HeadOf(proxied)), "x-origin")) << proxied;
  // auth_v0's 401 is written by the data plane itself.
  const std::string local = Tls("auth.test", "/echo", "--http2 -H 'Origin: https://app.example'");
  ASSERT_TRUE(absl::StartsWith(local, "HTTP/2 401")) << local;
  EXPECT_TRUE(HasLine(local, "x-content-type-options: nosniff")) << local;
  EXPECT_TRUE(HasLine(local, "strict-transport-security: max-age=31536000; includeSubDomains")) << local;
  EXPECT_TRUE(HasLine(local, "access-control-allow-origin: https://app.example")) << local;
  // HTTP/1.1 local answer too.
  const std::string local11 = Plain("auth.test", "/echo");
  ASSERT_TRUE(absl::StartsWith(local11, "HTTP/1.1 401")) << local11;
  EXPECT_TRUE(HasLine(local11, "X-Frame-Options: DENY")) << local11;
}

TEST_F(Policies, CorsPreflightIsAnsweredAtTheEdgeBeforeAuth) {
  WaitForApplied(1);
  const std::string pre = Plain("auth.test", "/echo",
                                "-X OPTIONS -H 'Origin: https://app.example' -H 'Access-Control-Request-Method: PUT'");
  ASSERT_TRUE(absl::StartsWith(pre, "HTTP/1.1 204")) << pre;
  EXPECT_TRUE(HasLine(pre, "Access-Control-Allow-Origin: https://app.example")) << pre;
  EXPECT_TRUE(HasLine(pre, "Access-Control-Allow-Methods: GET, PUT")) << pre;
  EXPECT_TRUE(HasLine(pre, "Access-Control-Allow-Headers: X-Token")) << pre;
  EXPECT_TRUE(HasLine(pre, "Access-Control-Max-Age: 600")) << pre;
  EXPECT_TRUE(HasLine(pre, "Access-Control-Allow-Credentials: true")) << pre;
  EXPECT_FALSE(absl::StrContains(HeadOf(pre), "Content-Length")) << pre;
  // Over HTTP/2 as well.
  const std::string pre2 = Tls("hdr.test", "/echo",
                               "--http2 -X OPTIONS -H 'Origin: https://app.example' -H 'Access-Control-Request-Method: GET'");
  ASSERT_TRUE(absl::StartsWith(pre2, "HTTP/2 204")) << pre2;
  EXPECT_TRUE(HasLine(pre2, "access-control-allow-origin: https://app.example")) << pre2;
  // Another origin's preflight is not ours to answer: auth_v0 refuses it, with no allow fields.
  const std::string evil = Plain("auth.test", "/echo",
                                 "-X OPTIONS -H 'Origin: https://evil.example' -H 'Access-Control-Request-Method: PUT'");
  ASSERT_TRUE(absl::StartsWith(evil, "HTTP/1.1 401")) << evil;
  EXPECT_FALSE(absl::StrContains(HeadOf(evil), "Access-Control-Allow")) << evil;
  EXPECT_FALSE(absl::StrContains(evil, "evil.example")) << evil;  // never reflected
  // A simple request from the allowed origin gets the allow fields on the origin's response.
  const std::string simple = Plain("hdr.test", "/echo", "-H 'Origin: https://app.example'");
  EXPECT_TRUE(HasLine(simple, "Access-Control-Allow-Origin: https://app.example")) << simple;
}

// One GET over its own connection; the status (0 on failure) and the head.
int OneRequest(int port, const std::string& host, std::string* head = nullptr) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  int status = 0;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = absl::StrCat("GET /echo HTTP/1.1\r\nHost: ", host, "\r\nConnection: close\r\n\r\n");
    (void)!write(fd, request.data(), request.size());
    std::string raw;
    char buf[4096];
    for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) raw.append(buf, n);
    if (raw.size() > 12) (void)absl::SimpleAtoi(raw.substr(9, 3), &status);
    if (head != nullptr) *head = raw.substr(0, raw.find("\r\n\r\n"));
  }
  close(fd);
  return status;
}

TEST_F(Policies, RateLimitAnswers429WithRetryAfterAndCountsIt) {
  WaitForApplied(1);
  // One a minute per client, and each of the 2 workers keeps its own bucket: at most one request
  // per worker passes, every other one is refused. (Which worker a connection lands on is the
  // kernel's choice, so the test does not assume which of its requests are the refused ones.)
  int ok = 0, limited = 0;
  std::string head, refused_head;
  for (int i = 0; i < 8; ++i) {
    const int status = OneRequest(http_port_, "perip.test", &head);
    if (status == 200) ++ok;
    if (status == 429) {
      ++limited;
      refused_head = head;
    }
  }
  EXPECT_LE(ok, 2);
  EXPECT_GE(limited, 6);
  ASSERT_TRUE(absl::StartsWith(refused_head, "HTTP/1.1 429")) << refused_head;
  int retry_after = 0;
  for (absl::string_view line : absl::StrSplit(refused_head, "\r\n")) {
    if (absl::ConsumePrefix(&line, "Retry-After: ")) {
      ASSERT_TRUE(absl::SimpleAtoi(line, &retry_after)) << line;
    }
  }
  EXPECT_GE(retry_after, 1) << refused_head;
  EXPECT_LE(retry_after, 120) << refused_head;
  // Counted (metrics are rendered periodically: poll).
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (MetricValue("er_dp_rate_limited_total{app=\"perip\"}") < static_cast<uint64_t>(limited) &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(MetricValue("er_dp_rate_limited_total{app=\"perip\"}"), static_cast<uint64_t>(limited));
}

TEST_F(Policies, RateLimitIsWithinTenPercentOverTenSecondsWithFourClients) {
  WaitForApplied(1);
  // 100/s for the app, burst 10; 4 clients far over it, each request on a new connection (so
  // both workers see traffic, as SO_REUSEPORT spreads connections).
  std::atomic<bool> stop{false};
  std::atomic<int> passed{0}, refused{0}, failed{0};
  std::vector<std::thread> clients;
  const absl::Time start = absl::Now();
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      while (!stop.load()) {
        const int status = OneRequest(http_port_, "limited.test");
        if (status == 200) {
          passed++;
        } else if (status == 429) {
          refused++;
        } else {
          failed++;
        }
        absl::SleepFor(absl::Milliseconds(2));  // ~4 x 400/s offered: 16x the limit
      }
    });
  }
  absl::SleepFor(absl::Seconds(10));
  stop = true;
  for (std::thread& t : clients) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double expected = 100 * seconds + 10;
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(refused.load(), passed.load());  // the clients really were over the limit
  EXPECT_NEAR(passed.load(), expected, expected * 0.10)
      << "passed " << passed << " refused " << refused << " in " << seconds << " s";
  std::cout << "rate limit accuracy: " << passed << " passed of " << expected << " allowed (" << refused
            << " refused) in " << seconds << " s\n";
}

}  // namespace
}  // namespace edgerouter::testing
