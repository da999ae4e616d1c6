// HTTP/2 end to end with real clients (nghttp, h2load) against a real data plane (2 workers),
// control plane and origins: ALPN h2 over TLS and prior-knowledge h2c; proxied requests, local
// responses (redirect, auth_v0), request and response bodies of megabytes in both directions
// (flow control), many multiplexed streams per connection, and the per-protocol metrics.
#include <signal.h>
#include <sys/wait.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/test_util.h"
#include "dataplane/test/e2e_fixture.h"
#include "dataplane/test/http_test_client.h"
#include "dataplane/test/tls_test_util.h"

namespace edgerouter::testing {
namespace {

class Http2 : public DataplaneE2E {
 protected:
  void StartOrigins() override {
    DataplaneE2E::StartOrigins();
    const std::string out = Shell(absl::StrCat("set -e; cd ", dir_, "; ", MakeCaScript("ca"),
                                               MakeLeafScript("default", "default.test", "ca",
                                                              "subjectAltName=DNS:secure.test,DNS:site.test")));
    ASSERT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
  }
  std::vector<std::string> DataplaneFlags() override {
    return {"--default_cert=" + dir_ + "/default.pem", "--h2c", "--max_request_body_bytes=6000000"};
  }

  std::string Https(const std::string& path) { return absl::StrCat("https://127.0.0.1:", https_port_, path); }

  // One request over prior-knowledge h2c with exactly `fields` ("name=value", "--data=BODY"),
  // which nghttp would normalise or refuse (h2_request.py).
  std::string H2c(const std::string& method, const std::string& authority, const std::string& path,
                  const std::vector<std::string>& fields = {}) {
    std::string cmd = absl::StrCat("/usr/bin/python3 ", RunfilePath("dataplane/test/h2_request.py"), " ",
                                   http_port_, " ", method, " ", authority, " '", path, "'");
    for (const std::string& f : fields) absl::StrAppend(&cmd, " '", f, "'");
    return Shell(cmd);
  }
  // The response body h2_request.py printed.
  static std::string H2cBody(const std::string& out) {
    const size_t start = out.find("body: ");
    const size_t end = out.rfind("\nEXIT=");
    if (start == std::string::npos || end == std::string::npos || end < start) return "";
    return out.substr(start + 6, end - start - 6);
  }

};

// An HTTP/2 connection over TLS gives its record buffers back a second after its last stream
// (h2load's timing script: one request, three seconds of nothing on the same connection, then
// another); the connection carries on with the next stream.
TEST_F(Http2, IdleConnectionsGiveRecordBuffersBackAndCarryOn) {
  const uint64_t before = MetricValue("er_dp_tls_idle_buffer_releases_total");
  std::ofstream(dir_ + "/timing") << "0\t" << Https("/echo/a") << "\n3000\t" << Https("/echo/b") << "\n";
  const std::string out =
      Shell(absl::StrCat("h2load -c1 --timing-script-file=", dir_, "/timing -H ':authority: secure.test'"));
  EXPECT_TRUE(absl::StrContains(out, "2 succeeded")) << out;
  EXPECT_TRUE(absl::StrContains(out, "TLS Protocol: TLSv1.3")) << out;
  EXPECT_GE(MetricValue("er_dp_tls_idle_buffer_releases_total"), before + 1) << Metrics();
}

TEST_F(Http2, AlpnPrefersH2AndKeepsHttp11ForOthers) {
  WaitForApplied(1);
  const std::string base = absl::StrCat("openssl s_client -connect 127.0.0.1:", https_port_, " -servername secure.test ");
  EXPECT_TRUE(absl::StrContains(Shell(base + "-alpn http/1.1,h2 </dev/null"), "ALPN protocol: h2"));
  EXPECT_TRUE(absl::StrContains(Shell(base + "-alpn http/1.1 </dev/null"), "ALPN protocol: http/1.1"));
}

TEST_F(Http2, ProxiedRequestSeenByTheOriginAsHttp11) {
  WaitForApplied(1);
  const std::string out =
      Shell(absl::StrCat("nghttp -v -H ':authority: secure.test' -H 'x-test: 1' ", Https("/echo?q=1")));
  EXPECT_TRUE(absl::StrContains(out, ":status: 200")) << out;
  // The origin's echo of what it received: an ordinary HTTP/1.1 request.
  EXPECT_TRUE(absl::StrContains(out, "GET /echo?q=1 HTTP/1.1\r\n")) << out;
  EXPECT_TRUE(absl::StrContains(out, "x-test: 1\r\n")) << out;
  EXPECT_TRUE(absl::StrContains(out, "X-Forwarded-Proto: https")) << out;
  EXPECT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
}

TEST_F(Http2, LocalResponsesRedirectAndAuth) {
  WaitForApplied(1);
  std::string out = Shell(absl::StrCat("nghttp -v -H ':authority: redir.test' ", Https("/x")));
  EXPECT_TRUE(absl::StrContains(out, "location: https://example.com/landing")) << out;
  out = Shell(absl::StrCat("nghttp -v -H ':authority: token.test' ", Https("/echo")));
  EXPECT_TRUE(absl::StrContains(out, ":status: 401")) << out;
  out = Shell(absl::StrCat("nghttp -v -H ':authority: token.test' -H 'authorization: Bearer s3cret' ", Https("/echo")));
  EXPECT_TRUE(absl::StrContains(out, ":status: 200")) << out;
  EXPECT_FALSE(absl::StrContains(out, "s3cret\r\n")) << "authorization forwarded: " << out;
}

TEST_F(Http2, MegabyteBodiesBothWays) {
  WaitForApplied(1);
  // 8 MB down: many times the 64 KB stream window, so flow control must keep resuming.
  std::string out = Shell(absl::StrCat("nghttp -H ':authority: secure.test' ", Https("/bytes/8000000"), " | wc -c"));
  EXPECT_TRUE(absl::StrContains(out, "8000000\n")) << out;
  out = Shell(absl::StrCat("nghttp -H ':authority: secure.test' ", Https("/chunked/3000000"), " | wc -c"));
  EXPECT_TRUE(absl::StrContains(out, "3000000\n")) << out;
  // 5 MB up (no content-length from nghttp -d: the body ends with the stream; the origin gets it chunked).
  out = Shell(absl::StrCat("cd ", dir_, " && head -c 5000000 /dev/zero | tr '\\0' 'z' > up.bin && ",
                           "nghttp -H ':authority: secure.test' -d up.bin ", Https("/upload")));
  EXPECT_TRUE(absl::StrContains(out, "bytes=5000000 ")) << out;
}

// The origin's response head goes to HTTP/2 already parsed (no HTTP/1.1 round trip): every
// body framing, bodiless statuses and HEAD, and the fields that must not cross.
TEST_F(Http2, EveryOriginResponseFramingArrivesWhole) {
  WaitForApplied(1);
  auto get = [&](const std::string& path, const std::string& extra = "") {
    return Shell(absl::StrCat("nghttp -v ", extra, " -H ':authority: secure.test' ", Https(path)));
  };
  std::string out = get("/chunked/2500");  // chunked: de-chunked into DATA, no transfer-encoding
  EXPECT_TRUE(absl::StrContains(out, std::string(1000, 'y'))) << out;
  EXPECT_FALSE(absl::StrContains(out, "transfer-encoding")) << out;
  EXPECT_TRUE(absl::StrContains(out, "x-origin: ")) << out;  // names lower-cased for HTTP/2
  EXPECT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
  out = Shell(absl::StrCat("nghttp -H ':authority: secure.test' ", Https("/chunked/2500"), " | wc -c"));
  EXPECT_TRUE(absl::StrContains(out, "2500\n")) << out;
  out = Shell(absl::StrCat("nghttp -H ':authority: secure.test' ", Https("/close/3000"), " | wc -c"));
  EXPECT_TRUE(absl::StrContains(out, "3000\n")) << out;  // delimited by the origin closing
  out = get("/status/204");
  EXPECT_TRUE(absl::StrContains(out, ":status: 204")) << out;
  EXPECT_TRUE(absl::StrContains(out, "END_STREAM")) << out;
  EXPECT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
  out = get("/status/304");
  EXPECT_TRUE(absl::StrContains(out, ":status: 304")) << out;
  EXPECT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
  out = get("/bytes/700", "-H ':method: HEAD'");
  EXPECT_TRUE(absl::StrContains(out, "content-length: 700")) << out;  // the length a GET would get
  EXPECT_FALSE(absl::StrContains(out, "recv DATA")) << out;
  EXPECT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
  out = get("/hop");
  // nghttp -v prints each received field as "recv (stream_id=N) name: value".
  EXPECT_TRUE(absl::StrContains(out, ") x-kept: yes")) << out;
  for (const char* field : {"x-hop-secret", "keep-alive", "connection", "proxy-authenticate", "upgrade"}) {
    EXPECT_FALSE(absl::StrContains(out, absl::StrCat(") ", field, ": "))) << field << " crossed: " << out;
  }
  EXPECT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
}

// TLS reads ahead: one read() may bring many records. Both protocols must serve everything
// OpenSSL already holds, although epoll will never announce those bytes again.
TEST_F(Http2, ManyRequestsInSeparateTlsRecordsAtOnceAreAllServed) {
  WaitForApplied(1);
  const std::string client = absl::StrCat("/usr/bin/python3 ", RunfilePath("dataplane/test/tls_records_client.py"), " ",
                                          https_port_, " secure.test ");
  std::string out = Shell(client + "h2 60 /bytes/100", absl::Seconds(30));
  EXPECT_TRUE(absl::StrContains(out, "ANSWERED 60")) << out;
  out = Shell(client + "http1 60 /bytes/100", absl::Seconds(30));
  EXPECT_TRUE(absl::StrContains(out, "ANSWERED 60")) << out;
  // ~200 KB at once: more than one turn's read budget (64 KB), so the rest must be read without
  // any epoll event (Worker::ReadSoon); HTTP/1.1 also pauses reading while pipelined requests wait.
  out = Shell(client + "h2 100 /bytes/100 2000", absl::Seconds(30));
  EXPECT_TRUE(absl::StrContains(out, "ANSWERED 100")) << out;
  out = Shell(client + "http1 100 /bytes/100 2000", absl::Seconds(30));
  EXPECT_TRUE(absl::StrContains(out, "ANSWERED 100")) << out;
}

// A one-byte read budget: each turn takes a single TLS record, so most of a burst waits inside
// OpenSSL, where no epoll event will ever point at it; only Worker::ReadSoon finds it again.
class Http2TinyReadBudget : public Http2 {
 protected:
  std::vector<std::string> DataplaneFlags() override {
    std::vector<std::string> flags = Http2::DataplaneFlags();
    flags.push_back("--read_budget_bytes=1");
    return flags;
  }
};

TEST_F(Http2TinyReadBudget, RecordsOpenSslAlreadyHoldsAreServedWithoutAnEvent) {
  WaitForApplied(1);
  const std::string client = absl::StrCat("/usr/bin/python3 ", RunfilePath("dataplane/test/tls_records_client.py"), " ",
                                          https_port_, " secure.test ");
  std::string out = Shell(client + "h2 40 /bytes/100", absl::Seconds(30));
  EXPECT_TRUE(absl::StrContains(out, "ANSWERED 40")) << out;
  out = Shell(client + "http1 40 /bytes/100", absl::Seconds(30));
  EXPECT_TRUE(absl::StrContains(out, "ANSWERED 40")) << out;
}

TEST_F(Http2, AnsweredBeforeTheUploadEndsStillCompletes) {
  WaitForApplied(1);
  // auth_v0 answers 401 at once; the 5 MB body (20× the stream window) is read and dropped,
  // so the stream ends instead of hanging on its window. Shell() times out otherwise.
  const std::string out = Shell(absl::StrCat("cd ", dir_, " && head -c 5000000 /dev/zero > up401.bin && ",
                                             "nghttp -v -H ':authority: token.test' -d up401.bin ", Https("/upload")),
                                absl::Seconds(20));
  EXPECT_TRUE(absl::StrContains(out, ":status: 401")) << out;
  EXPECT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
}

TEST_F(Http2, RequestBodyLimitOnBothProtocols) {
  WaitForApplied(1);
  const std::string make = absl::StrCat("cd ", dir_, " && head -c 7000000 /dev/zero > big.bin && ");
  // HTTP/2 with a content-length over --max_request_body_bytes: refused before any byte goes on.
  std::string out = Shell(make + absl::StrCat("nghttp -v -H ':authority: secure.test' -d big.bin ", Https("/upload")),
                          absl::Seconds(30));
  EXPECT_TRUE(absl::StrContains(out, ":status: 413")) << out;
  // HTTP/1.1, declared length and chunked (counted as it streams).
  const std::string url = absl::StrCat("http://127.0.0.1:", http_port_, "/upload");
  out = Shell(absl::StrCat("cd ", dir_, " && curl -s -o /dev/null -w '%{http_code}' -H 'Host: site.test' --data-binary @big.bin ", url));
  EXPECT_TRUE(absl::StartsWith(out, "413")) << out;
  out = Shell(absl::StrCat("cd ", dir_, " && curl -s -o /dev/null -w '%{http_code}' -H 'Host: site.test' ",
                           "-H 'Transfer-Encoding: chunked' --data-binary @big.bin ", url));
  EXPECT_TRUE(absl::StartsWith(out, "413")) << out;
  // Under the limit, chunked, still fine.
  out = Shell(absl::StrCat("cd ", dir_, " && head -c 100000 big.bin > small.bin && curl -s -H 'Host: site.test' ",
                           "-H 'Transfer-Encoding: chunked' --data-binary @small.bin ", url));
  EXPECT_TRUE(absl::StrContains(out, "bytes=100000 ")) << out;
}

TEST_F(Http2, ManyMultiplexedStreamsAndProtocolMetrics) {
  WaitForApplied(1);
  const uint64_t before = MetricValue("er_dp_requests_by_protocol_total{protocol=\"h2\"}");
  const std::string out = Shell(absl::StrCat("h2load -n 400 -c 4 -m 20 -H ':authority: secure.test' ", Https("/bytes/1000")));
  EXPECT_TRUE(absl::StrContains(out, "400 succeeded, 0 failed, 0 errored")) << out;
  EXPECT_TRUE(absl::StrContains(out, "status codes: 400 2xx")) << out;
  EXPECT_EQ(MetricValue("er_dp_requests_by_protocol_total{protocol=\"h2\"}") - before, 400u);
  EXPECT_GE(MetricValue("er_dp_h2_connections_total"), 4u);
}

TEST_F(Http2, RapidResetEndsThatConnectionOnly) {
  WaitForApplied(1);
  const std::string out = Shell(absl::StrCat("/usr/bin/python3 ", RunfilePath("dataplane/test/h2_rapid_reset_client.py"),
                                             " ", https_port_, " secure.test 1000"),
                                absl::Seconds(30));
  EXPECT_TRUE(absl::StrContains(out, "GOAWAY 11")) << out;  // ENHANCE_YOUR_CALM
  EXPECT_GE(MetricValue("er_dp_h2_abuse_total"), 1u);
  EXPECT_TRUE(absl::StrContains(dp_->Output(), "reason=\"rapid reset\"")) << dp_->Output();
  // Everyone else is served as before.
  const std::string ok = Shell(absl::StrCat("nghttp -v -H ':authority: secure.test' ", Https("/echo")));
  EXPECT_TRUE(absl::StrContains(ok, ":status: 200")) << ok;
}

TEST_F(Http2, ProvokedResetsEndThatConnectionOnly) {
  WaitForApplied(1);
  const std::string out = Shell(absl::StrCat("/usr/bin/python3 ", RunfilePath("dataplane/test/h2_rapid_reset_client.py"),
                                             " ", https_port_, " secure.test 1000 provoke"),
                                absl::Seconds(30));
  EXPECT_TRUE(absl::StrContains(out, "GOAWAY 11")) << out;  // ENHANCE_YOUR_CALM
  EXPECT_TRUE(absl::StrContains(dp_->Output(), "reason=\"provoked stream resets\"")) << dp_->Output();
  const std::string ok = Shell(absl::StrCat("nghttp -v -H ':authority: secure.test' ", Https("/echo")));
  EXPECT_TRUE(absl::StrContains(ok, ":status: 200")) << ok;
}

TEST_F(Http2, SigtermSendsGoawayAndFinishesStreamsInFlight) {
  WaitForApplied(1);
  auto client = Subprocess::Start({"/usr/bin/nghttp", "-v", "-H", ":authority: secure.test", Https("/hold")});
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(a_->WaitForLine("request GET /hold", absl::Seconds(10)).ok());
  StartDrain();
  EXPECT_EQ(Get(origin_a_, "origin", "/release").status, 200);
  absl::StatusOr<int> status = (*client)->Wait(absl::Seconds(20));
  ASSERT_TRUE(status.ok());
  const std::string out = (*client)->Output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << out;
  // GOAWAY(NO_ERROR) naming the stream in flight, which still completes.
  EXPECT_TRUE(absl::StrContains(out, "GOAWAY")) << out;
  EXPECT_TRUE(absl::StrContains(out, "error_code=NO_ERROR")) << out;
  EXPECT_TRUE(absl::StrContains(out, ":status: 200")) << out;
  EXPECT_TRUE(absl::StrContains(out, "released")) << out;
  absl::StatusOr<int> dp_status = dp_->Wait(absl::Seconds(20));
  ASSERT_TRUE(dp_status.ok());
  EXPECT_TRUE(WIFEXITED(*dp_status) && WEXITSTATUS(*dp_status) == 0) << dp_->Output();
}

TEST_F(Http2, PriorKnowledgeH2cOnThePlainPortWhenEnabled) {
  WaitForApplied(1);
  const std::string out =
      Shell(absl::StrCat("nghttp -v -H ':authority: site.test' http://127.0.0.1:", http_port_, "/echo"));
  EXPECT_TRUE(absl::StrContains(out, ":status: 200")) << out;
  EXPECT_TRUE(absl::StrContains(out, "Host: site.test")) << out;
  // HTTP/1.1 on the same port still works.
  EXPECT_EQ(Get(http_port_, "site.test", "/echo").status, 200);
}

// A stream's request is decoded from its HEADERS, not re-parsed from HTTP/1.1 text: what the
// origin receives must be the same request an HTTP/1.1 client's gets, field for field, with
// split cookie fields joined (RFC 9113 §8.2.3).
TEST_F(Http2, DecodedRequestReachesTheOriginAsTheSameRequestOverHttp11) {
  WaitForApplied(1);
  const std::string h2 =
      H2c("GET", "site.test", "/echo?q=1&r=%20", {"x-a=1", "cookie=a=1", "accept=*/*", "cookie=b=2", "cookie=c=3"});
  ASSERT_TRUE(absl::StrContains(h2, ":status: 200")) << h2;
  const std::string via_h2 = H2cBody(h2);
  EXPECT_TRUE(absl::StrContains(via_h2, "\r\ncookie: a=1; b=2; c=3\r\n")) << via_h2;
  TestConnection h1(http_port_);
  ASSERT_TRUE(h1.Send("GET /echo?q=1&r=%20 HTTP/1.1\r\nhost: site.test\r\nx-a: 1\r\n"
                      "cookie: a=1; b=2; c=3\r\naccept: */*\r\n\r\n"));
  const HttpResponse r = h1.Read();
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(via_h2, r.body);
  // A body without content-length (it ends with the stream) arrives whole, as a chunked one
  // from an HTTP/1.1 client does.
  const std::string up = H2c("POST", "site.test", "/upload", {"--data=hello, origin"});
  EXPECT_TRUE(absl::StrContains(up, ":status: 200")) << up;
  ASSERT_TRUE(h1.Send("POST /upload HTTP/1.1\r\nhost: site.test\r\ntransfer-encoding: chunked\r\n\r\n"
                      "d\r\nhello, origin\r\n0\r\n\r\n"));
  const HttpResponse chunked = h1.Read();
  EXPECT_TRUE(absl::StartsWith(chunked.body, "bytes=13 ")) << chunked.body;
  EXPECT_EQ(H2cBody(up), chunked.body);
}

// RFC 9113 §8.1.1: DATA that does not add up to the stream's content-length makes the request
// malformed: a stream error, never a request with a body of another length at the origin.
TEST_F(Http2, BodyDisagreeingWithContentLengthIsAStreamError) {
  WaitForApplied(1);
  std::string out = H2c("POST", "site.test", "/upload", {"content-length=5", "--data=0123456789"});
  EXPECT_TRUE(absl::StrContains(out, "reset: 1\n")) << out;  // PROTOCOL_ERROR
  EXPECT_FALSE(absl::StrContains(out, ":status:")) << out;
  out = H2c("POST", "site.test", "/upload", {"content-length=10", "--data=01234"});
  EXPECT_TRUE(absl::StrContains(out, "reset: 1\n")) << out;
  EXPECT_FALSE(absl::StrContains(out, "bytes=")) << out;
  out = H2c("POST", "site.test", "/upload", {"content-length=10", "--data=0123456789"});
  EXPECT_TRUE(absl::StrContains(out, ":status: 200")) << out;
  EXPECT_TRUE(absl::StrContains(out, "body: bytes=10 ")) << out;
  // Fields HTTP/2 forbids in requests, or that an HTTP/1.1 parser would refuse, never pass.
  for (const std::string& field :
       {"connection=close", "transfer-encoding=chunked", "te=gzip", "upgrade=h2c", "Content-Length=5"}) {
    out = H2c("GET", "site.test", "/echo", {field});
    EXPECT_TRUE(absl::StrContains(out, "reset: 1\n")) << field << ": " << out;
  }
  out = H2c("GET", "site.test", "/echo", {"transfer_encoding=chunked"});
  EXPECT_TRUE(absl::StrContains(out, ":status: 400")) << out;
}

}  // namespace
}  // namespace edgerouter::testing
