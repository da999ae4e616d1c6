// End to end through the real binaries: routing precedence, header handling, auth_v0,
// redirects, load balancing with retry, streamed large bodies, strict parsing, WebSockets,
// keep-alive and pipelining, metrics and access log.
#include <signal.h>
#include <sys/socket.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/test_util.h"
#include "dataplane/test/e2e_fixture.h"

namespace edgerouter::testing {
namespace {

using Dataplane = DataplaneE2E;

TEST_F(Dataplane, RoutesInEdgerouterOrder) {
  WaitForApplied(1);
  // A global path_prefix mount wins over host mounts, and strips its prefix.
  HttpResponse r = Get(http_port_, "site.test", "/.well-known/acme-challenge/token1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["x-origin"], "a");
  EXPECT_TRUE(absl::StartsWith(r.body, "GET /token1 HTTP/1.1\r\n")) << r.body;
  // Longest host prefix, strip, origin path prefix, query kept, forced header set.
  r = Get(http_port_, "site.test", "/api/users?q=1", "X-Api-Key: client-value\r\n");
  EXPECT_EQ(r.headers["x-origin"], "b");
  EXPECT_TRUE(absl::StartsWith(r.body, "GET /v1/users?q=1 HTTP/1.1\r\n")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "X-Api-Key: k1\r\n")) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "client-value")) << r.body;
  // Prefix boundary: /apix is not under /api.
  r = Get(http_port_, "site.test", "/apix");
  EXPECT_EQ(r.headers["x-origin"], "a");
  // The bare prefix with strip becomes "/".
  r = Get(http_port_, "site.test", "/api");
  EXPECT_TRUE(absl::StartsWith(r.body, "GET /v1/ HTTP/1.1\r\n")) << r.body;
  // Host matching ignores case, port and a trailing dot; index_document for directories.
  r = Get(http_port_, "SITE.Test.:8080", "/docs/");
  EXPECT_EQ(r.headers["x-origin"], "a");
  EXPECT_TRUE(absl::StartsWith(r.body, "GET /docs/index.html HTTP/1.1\r\n")) << r.body;
  // Host regexp.
  r = Get(http_port_, "foo.wild.test", "/x");
  EXPECT_EQ(r.headers["x-origin"], "b");
  EXPECT_EQ(Get(http_port_, "foo.bar.wild.test", "/x").status, 404);
  // Unknown host: edgerouter's 404 text.
  r = Get(http_port_, "unknown.test", "/");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "no website for hostname: unknown.test\n");
  // Plain HTTP without allow_insecure_http: 307 keeping the raw path and query.
  r = Get(http_port_, "secure.test:80", "/a%2Fb/../c?x=%20y");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(r.headers["location"], "https://secure.test/a%2Fb/../c?x=%20y");
}

TEST_F(Dataplane, AppAddedWithEdgerouterctlIsServed) {
  WaitForApplied(1);
  const std::string file = dir_ + "/new-app.json";
  std::ofstream(file) << absl::StrCat(
      R"({"id":"ctl-app","frontends":[{"kind":"hostname","hostname":"ctl.test","path_prefix":"/","allow_insecure_http":true}],)",
      R"("backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["http://127.0.0.1:)", origin_b_, R"("]}}})");
  auto ctl = Subprocess::Start({RunfilePath("cli/edgerouterctl"),
                                absl::StrCat("--controlplane=127.0.0.1:", cp_grpc_port_), "app", "put", "--new", file});
  ASSERT_TRUE(ctl.ok());
  absl::StatusOr<int> status = (*ctl)->Wait(absl::Seconds(10));
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(*status, 0) << (*ctl)->Output();
  WaitForApplied(2);
  HttpResponse r = Get(http_port_, "ctl.test", "/hello");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["x-origin"], "b");
}

TEST_F(Dataplane, ExpectContinueIsAnsweredByTheProxy) {
  WaitForApplied(1);
  TestConnection conn(http_port_);
  conn.Send("POST /upload HTTP/1.1\r\nHost: site.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  HttpResponse interim = conn.Read();
  EXPECT_EQ(interim.status, 100);
  conn.Send("hello");
  HttpResponse r = conn.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, absl::StrCat("bytes=5 sum=", 'h' + 'e' + 'l' + 'l' + 'o', "\n"));
}

TEST_F(Dataplane, ForwardsAndStripsHeaders) {
  WaitForApplied(1);
  HttpResponse r = Get(http_port_, "site.test", "/echo",
                       "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\nKeep-Alive: timeout=5\r\n"
                       "Foo-Hop: 1\r\nProxy-Authorization: secret\r\n");
  ASSERT_EQ(r.status, 200);
  const std::string& seen = r.body;
  EXPECT_TRUE(absl::StrContains(seen, "\r\nHost: site.test\r\n")) << seen;  // pass_host_header
  // No --trusted_proxies: a client's X-Forwarded-For is its own word, not forwarded.
  EXPECT_TRUE(absl::StrContains(seen, "\r\nX-Forwarded-For: 127.0.0.1\r\n")) << seen;
  EXPECT_TRUE(absl::StrContains(seen, "\r\nX-Forwarded-Proto: http\r\n")) << seen;
  EXPECT_TRUE(absl::StrContains(seen, "\r\nX-Forwarded-Host: site.test\r\n")) << seen;
  EXPECT_FALSE(absl::StrContains(seen, "Keep-Alive")) << seen;
  EXPECT_FALSE(absl::StrContains(seen, "Proxy-Authorization")) << seen;
  EXPECT_FALSE(absl::StrContains(seen, "Connection: close")) << seen;  // hop-by-hop, not forwarded
  // Without pass_host_header the origin's authority is the Host.
  r = Get(http_port_, "foo.wild.test", "/echo");
  EXPECT_TRUE(absl::StrContains(r.body, absl::StrCat("\r\nHost: 127.0.0.1:", origin_b_, "\r\n"))) << r.body;
}

TEST_F(Dataplane, AuthV0AcceptsBearerAndBasicAndHidesTheToken) {
  WaitForApplied(1);
  HttpResponse r = Get(http_port_, "token.test", "/echo");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers["www-authenticate"], "Basic realm=\"Use Authorization: Bearer or provide it as password\"");
  EXPECT_EQ(r.body, "Unauthorized\n");
  r = Get(http_port_, "token.test", "/echo", "Authorization: Bearer s3cret\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(absl::StrContains(r.body, "Authorization")) << r.body;
  EXPECT_EQ(Get(http_port_, "token.test", "/", absl::StrCat("Authorization: Basic ", absl::Base64Escape("x:s3cret"), "\r\n")).status, 200);
  EXPECT_EQ(Get(http_port_, "token.test", "/", absl::StrCat("Authorization: Basic ", absl::Base64Escape(":s3cret"), "\r\n")).status, 200);
  EXPECT_EQ(Get(http_port_, "token.test", "/", absl::StrCat("Authorization: Basic ", absl::Base64Escape("bob:s3cret"), "\r\n")).status, 401);
  EXPECT_EQ(Get(http_port_, "token.test", "/", "Authorization: Bearer s3cre\r\n").status, 401);
}

TEST_F(Dataplane, RedirectBackend) {
  WaitForApplied(1);
  HttpResponse r = Get(http_port_, "redir.test", "/anything?x=1");
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.headers["location"], "https://example.com/landing");
}

TEST_F(Dataplane, BalancesOverOriginsAndRetriesAConnectFailure) {
  WaitForApplied(1);
  std::map<std::string, int> seen;
  for (int i = 0; i < 40; ++i) seen[Get(http_port_, "both.test", "/").headers["x-origin"]]++;
  EXPECT_GT(seen["a"], 0);
  EXPECT_GT(seen["b"], 0);
  EXPECT_EQ(seen["a"] + seen["b"], 40);
  // One origin refuses connections: idempotent requests are retried on the other one.
  for (int i = 0; i < 40; ++i) {  // enough that every worker sees 3 failures in a row
    HttpResponse r = Get(http_port_, "dead.test", "/");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers["x-origin"], "a");
  }
  const std::string metrics = Metrics();
  EXPECT_TRUE(absl::StrContains(metrics, "er_dp_upstream_errors_total{origin=\"http://127.0.0.1:")) << metrics;
  // The refusing origin was ejected by passive health checks at least once.
  size_t pos = metrics.find("er_dp_origin_ejections_total{origin=");
  ASSERT_NE(pos, std::string::npos) << metrics;
  const std::string line = metrics.substr(pos, metrics.find('\n', pos) - pos);
  EXPECT_FALSE(absl::EndsWith(line, " 0")) << line;
}

TEST_F(Dataplane, SlowOriginTimesOutWith504AndBlocksNobodyElse) {
  // A short origin timeout for this test only: under load tests a busy 2-core machine can delay
  // a healthy response by more than a second.
  dp_->Signal(SIGTERM);
  StartDataplane({"--upstream_response_timeout_ms=1500"});
  WaitForApplied(1);
  TestConnection slow(http_port_);
  // The origin holds this one until the proxy gives up and closes it.
  slow.Send("GET /hold HTTP/1.1\r\nHost: site.test\r\n\r\n");
  ASSERT_TRUE(a_->WaitForLine("request GET /hold", absl::Seconds(5)).ok());
  // While that request waits on its origin, others on the same worker pool are served.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Get(http_port_, "site.test", "/fast").status, 200);
  HttpResponse r = slow.Read();
  EXPECT_EQ(r.status, 504);  // --upstream_response_timeout_ms=1500
  EXPECT_EQ(r.body, "Gateway Timeout\n");
}

TEST_F(Dataplane, RemovesQueryStringAndDumpsConfig) {
  WaitForApplied(1);
  HttpResponse r = Get(http_port_, "foo.wild.test", "/q?secret=1");
  EXPECT_TRUE(absl::StartsWith(r.body, "GET /q HTTP/1.1\r\n")) << r.body;
  TestConnection dump(admin_port_);
  dump.Send("GET /config_dump HTTP/1.1\r\nHost: x\r\n\r\n");
  HttpResponse d = dump.Read();
  EXPECT_EQ(d.status, 200);
  EXPECT_TRUE(absl::StrContains(d.body, "\"name\": \"app/site\"")) << d.body;
  EXPECT_TRUE(absl::StrContains(d.body, "\"hostname\": \"site.test\"")) << d.body;
}

TEST_F(Dataplane, StreamsLargeBodiesBothWays) {
  WaitForApplied(1);
  // Upload with Content-Length.
  const std::string body(8 << 20, 'q');
  TestConnection up(http_port_);
  up.Send(absl::StrCat("POST /upload HTTP/1.1\r\nHost: site.test\r\nContent-Length: ", body.size(), "\r\n\r\n"));
  up.Send(body);
  HttpResponse r = up.Read();
  EXPECT_EQ(r.body, absl::StrCat("bytes=", body.size(), " sum=", body.size() * 'q', "\n"));
  // Chunked upload on the same keep-alive connection.
  std::string chunked;
  for (int i = 0; i < 100; ++i) absl::StrAppend(&chunked, "1000\r\n", std::string(4096, 'r'), "\r\n");
  chunked += "0\r\n\r\n";
  up.Send("POST /upload HTTP/1.1\r\nHost: site.test\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked);
  r = up.Read();
  EXPECT_EQ(r.body, absl::StrCat("bytes=", 409600, " sum=", 409600 * 'r', "\n"));

  // A slow reader of a large response: the proxy must not buffer it.
  const long rss_before = DataplaneRssKb();
  const size_t total = 64 << 20;
  TestConnection down(http_port_, 30000);
  int small = 64 * 1024;
  setsockopt(down.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  down.Send(absl::StrCat("GET /bytes/", total, " HTTP/1.1\r\nHost: site.test\r\n\r\n"));
  std::string head = down.ReadRaw(200);
  ASSERT_TRUE(absl::StartsWith(head, "HTTP/1.1 200")) << head;
  size_t received = head.size() - (head.find("\r\n\r\n") + 4);
  long max_growth = 0;
  while (received < total) {
    // The reader waits until 32 KB are queued at its socket (SO_RCVLOWAT: the kernel wakes it
    // then), so the proxy keeps meeting a half-full window: it must hold the origin back
    // instead of buffering what this client has not taken yet. The last megabyte is read as it
    // comes (bytes already in the client's buffer could never make up a full 32 KB).
    const int lowat = total - received > (1 << 20) ? 32 * 1024 : 1;
    ASSERT_EQ(setsockopt(down.fd(), SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat)), 0);
    std::string chunk = down.ReadRaw(std::min<size_t>(256 * 1024, total - received));
    ASSERT_FALSE(chunk.empty());
    received += chunk.size();
    if (received % (4 << 20) < chunk.size()) max_growth = std::max(max_growth, DataplaneRssKb() - rss_before);
  }
  EXPECT_EQ(received, total);
  EXPECT_LT(max_growth, 16 * 1024) << "data plane RSS grew by " << max_growth << " KiB";
}

TEST_F(Dataplane, MalformedRequestsGet400AndNeverReachTheOrigin) {
  WaitForApplied(1);
  const std::vector<std::string> attacks = {
      "POST /upload HTTP/1.1\r\nHost: site.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: site.test\r\n\r\n",
      "POST /upload HTTP/1.1\r\nHost: site.test\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n",
      "POST /upload HTTP/1.1\r\nHost: site.test\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n",
      "GET /smuggled HTTP/1.1\nHost: site.test\n\n",
      "GET /smuggled HTTP/1.1\r\nHost: site.test\r\nX-Folded: a\r\n b\r\n\r\n",
      "GET /smuggled HTTP/1.1\r\nHost: site.test\r\nBad Header: x\r\n\r\n",
      "GET /smuggled HTTP/1.1\r\nHost: site.test\r\nX: a\x01b\r\n\r\n",
      "GET /smug gled HTTP/1.1\r\nHost: site.test\r\n\r\n",
  };
  for (const std::string& attack : attacks) {
    TestConnection conn(http_port_);
    conn.Send(attack);
    HttpResponse r = conn.Read();
    EXPECT_GE(r.status, 400) << attack;
    EXPECT_LT(r.status, 502) << attack;
    EXPECT_EQ(r.headers["connection"], "close") << attack;
    EXPECT_TRUE(conn.PeerClosed()) << attack;
  }
  // A request after them proves the origin is reachable; none of the smuggled ones arrived.
  EXPECT_EQ(Get(http_port_, "site.test", "/marker").status, 200);
  ASSERT_TRUE(a_->WaitForLine("request GET /marker", absl::Seconds(5)).ok());
  EXPECT_FALSE(absl::StrContains(a_->Output(), "smug")) << a_->Output();
  EXPECT_FALSE(absl::StrContains(a_->Output(), "request POST /upload")) << a_->Output();
  // Oversized request line and head.
  EXPECT_EQ(Get(http_port_, "site.test", "/" + std::string(9000, 'a')).status, 414);
  EXPECT_EQ(Get(http_port_, "site.test", "/", "X-Big: " + std::string(70000, 'b') + "\r\n").status, 431);
}

TEST_F(Dataplane, WebSocketUpgradeIsTunnelled) {
  WaitForApplied(1);
  TestConnection ws(http_port_);
  ws.Send("GET /ws HTTP/1.1\r\nHost: site.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  HttpResponse r = ws.Read(/*head_request=*/true);
  ASSERT_EQ(r.status, 101);
  EXPECT_EQ(r.headers["upgrade"], "websocket");
  for (const std::string& msg : std::vector<std::string>{"hello", "world, a bit longer", std::string(100000, 'w')}) {
    ws.Send(msg);
    EXPECT_EQ(ws.ReadRaw(msg.size()), msg);
  }
}

TEST_F(Dataplane, KeepAlivePipeliningAndTimeouts) {
  WaitForApplied(1);
  TestConnection conn(http_port_);
  conn.Send("GET /one HTTP/1.1\r\nHost: site.test\r\n\r\nGET /two HTTP/1.1\r\nHost: foo.wild.test\r\n\r\n"
            "HEAD /bytes/10 HTTP/1.1\r\nHost: site.test\r\n\r\n");
  HttpResponse one = conn.Read();
  HttpResponse two = conn.Read();
  HttpResponse three = conn.Read(/*head_request=*/true);
  EXPECT_TRUE(absl::StartsWith(one.body, "GET /one ")) << one.body;
  EXPECT_TRUE(absl::StartsWith(two.body, "GET /two ")) << two.body;
  EXPECT_EQ(three.status, 200);
  EXPECT_EQ(three.headers["content-length"], "10");
  // Still open for another request.
  conn.Send("GET /three HTTP/1.1\r\nHost: site.test\r\n\r\n");
  EXPECT_EQ(conn.Read().status, 200);
  // An origin answer with "Content-Length: 0" is complete at its head: the next request on
  // the connection is served at once (it used to wait for bytes that never come).
  conn.Send("GET /status/200 HTTP/1.1\r\nHost: site.test\r\n\r\n");
  HttpResponse empty = conn.Read();
  EXPECT_EQ(empty.status, 200);
  EXPECT_EQ(empty.headers["content-length"], "0");
  conn.Send("GET /after-empty HTTP/1.1\r\nHost: site.test\r\n\r\n");
  HttpResponse after = conn.Read();
  EXPECT_TRUE(absl::StartsWith(after.body, "GET /after-empty ")) << after.status << " " << after.body;
  // Hop-by-hop fields, also those any Connection field names, stay behind; a Connection field
  // naming Content-Length does not take the framing away (the next response would be garbage).
  conn.Send("GET /hop HTTP/1.1\r\nHost: site.test\r\n\r\nGET /after-hop HTTP/1.1\r\nHost: site.test\r\n\r\n");
  HttpResponse hop = conn.Read();
  EXPECT_EQ(hop.body, "hop\n");
  EXPECT_EQ(hop.headers["content-length"], "4");
  EXPECT_EQ(hop.headers["x-kept"], "yes");
  for (const char* dropped : {"x-hop-secret", "x-hop-second", "keep-alive", "proxy-authenticate", "upgrade"}) {
    EXPECT_EQ(hop.headers.count(dropped), 0u) << dropped;
  }
  EXPECT_TRUE(absl::StartsWith(conn.Read().body, "GET /after-hop ")) << "connection desynchronised";
  // A head that never completes gets 408 after --header_timeout_ms.
  TestConnection slow(http_port_);
  slow.Send("GET / HTTP/1.1\r\nHost: site");
  HttpResponse timeout = slow.Read();
  EXPECT_EQ(timeout.status, 408);
}

// Many keep-alive clients at once: each turn of the event loop then reads and writes many
// sockets in one batch (io_uring), and every client must get its own answers, in order, in
// each I/O mode: receives through the ring (the default where the kernel has them), epoll
// with each turn's reads in one submission (--io_uring_receive=false), and one read()/send()
// per socket (--io_uring=false).
TEST_F(Dataplane, ConcurrentClientsGetTheirOwnResponsesInEveryIoMode) {
  for (const char* mode : {"", "--io_uring_receive=false", "--io_uring=false"}) {
    SCOPED_TRACE(*mode ? mode : "default");
    if (*mode) {
      dp_->Signal(SIGTERM);
      StartDataplane({mode});
    }
    WaitForApplied(1);
    constexpr int kClients = 48;
    std::vector<std::unique_ptr<TestConnection>> clients;
    for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<TestConnection>(http_port_));
    ExpectOwnResponses(clients, "site.test");
  }
}

// HTTP/1.0 has no chunked coding (RFC 9112 §6.1): a chunked origin answer reaches an HTTP/1.0
// client de-chunked and delimited by the connection's end, keep-alive asked for or not.
TEST_F(Dataplane, Http10ClientsNeverGetChunked) {
  WaitForApplied(1);
  for (const char* extra : {"", "Connection: keep-alive\r\n"}) {
    TestConnection conn(http_port_);
    conn.Send(absl::StrCat("GET /chunked/2500 HTTP/1.0\r\nHost: site.test\r\n", extra, "\r\n"));
    const std::string raw = conn.ReadRaw(1 << 20);  // until the proxy closes
    const size_t head_end = raw.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << raw;
    const std::string head = absl::AsciiStrToLower(raw.substr(0, head_end));
    EXPECT_FALSE(absl::StrContains(head, "transfer-encoding")) << head;
    EXPECT_TRUE(absl::StrContains(head, "connection: close")) << head;
    EXPECT_EQ(raw.substr(head_end + 4), std::string(2500, 'y')) << extra;
    EXPECT_TRUE(conn.PeerClosed()) << extra;
  }
}

TEST_F(Dataplane, MetricsAndAccessLog) {
  WaitForApplied(1);
  Get(http_port_, "site.test", "/m1");
  Get(http_port_, "nowhere.test", "/");
  const std::string metrics = Metrics();
  EXPECT_TRUE(absl::StrContains(metrics, "er_requests_ok{app=\"site\",code=\"200\",method=\"GET\"} 1\n")) << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "er_requests_ok{app=\"_all\",code=\"200\",method=\"GET\"} 1\n")) << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "er_requests_fail{app=\"appNotFound\",code=\"404\",method=\"GET\"} 1\n")) << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "er_request_duration_seconds_bucket{app=\"site\",le=\"+Inf\"} 1\n")) << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "er_dp_controlplane_connected 1\n")) << metrics;
  const std::string all = WaitForAccessLog([](const std::string& log) {
    return absl::StrContains(log, "\"path\":\"/m1\"") && absl::StrContains(log, "appNotFound");
  });
  EXPECT_TRUE(absl::StrContains(all, "\"node\":\"dp-test\",\"app\":\"site\",\"method\":\"GET\",\"host\":\"site.test\",\"path\":\"/m1\",\"status\":200")) << all;
  EXPECT_TRUE(absl::StrContains(all, "\"app\":\"appNotFound\"")) << all;
}

}  // namespace
}  // namespace edgerouter::testing
