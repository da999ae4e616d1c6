// HTTPS listener end to end, with real OpenSSL tools against a real data plane (2 workers) and
// control plane: certificate selection (default, dev, none), protocol versions, ciphers, ALPN,
// an HTTPS request proxied to an origin, session resumption across workers and snapshot swaps,
// handshakes that never fail while snapshots are applied, ticket key rotation and sharing; and
// CertBus certificates end to end (`edgerouterctl cert import` → control plane → snapshot with
// the encrypted key → data plane decrypts with its KEK): exact and wildcard SNI selection,
// certificates for another KEK or with a tampered ciphertext skipped and counted, a certificate
// replaced under a handshake loop with zero failures. Certificates are made with the openssl CLI.

#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/test_util.h"
#include "dataplane/test/e2e_fixture.h"
#include "dataplane/test/http_test_client.h"
#include "dataplane/test/tls_test_util.h"

namespace edgerouter::testing {
namespace {

int CountSubstr(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class Https : public DataplaneE2E {
 protected:
  void StartOrigins() override {
    DataplaneE2E::StartOrigins();
    // A test CA; default.pem (CN default.test, also valid for secure.test) signed by it;
    // dev.pem self-signed. Each .pem holds the chain and the key, as --default_cert wants.
    const std::string out = Shell(absl::StrCat(
        "set -e; cd ", dir_, "; ", MakeCaScript("ca"),
        MakeLeafScript("default", "default.test", "ca", "subjectAltName=DNS:default.test,DNS:secure.test"),
        MakeCaScript("devca"), MakeLeafScript("dev", "dev.test", "devca", "subjectAltName=DNS:dev.test")));
    ASSERT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
  }

  std::vector<std::string> DataplaneFlags() override { return {"--default_cert=" + dir_ + "/default.pem"}; }

  // `openssl s_client` against the HTTPS port; `request` (if any) is sent and the reply read.
  std::string SClient(const std::string& args, const std::string& request = "") {
    const std::string connect = absl::StrCat("openssl s_client -connect 127.0.0.1:", https_port_, " ", args);
    if (request.empty()) return Shell(connect + " </dev/null");
    return Shell(absl::StrCat("printf '", request, "' | ", connect, " -ign_eof"));
  }

  static constexpr char kRequest[] = "GET /echo HTTP/1.1\\r\\nHost: secure.test\\r\\nConnection: close\\r\\n\\r\\n";

};

TEST_F(Https, DefaultCertificateVersionsCiphersAndAlpn) {
  WaitForApplied(1);
  // No certificate for the name, or no SNI at all: the --default_cert.
  EXPECT_TRUE(absl::StrContains(SClient("-servername unknown.test"), "subject=CN = default.test"));
  EXPECT_TRUE(absl::StrContains(SClient("-noservername"), "subject=CN = default.test"));
  // TLS 1.0 and 1.1 are refused by the server (the client is allowed to offer them).
  for (const char* old : {"-tls1", "-tls1_1"}) {
    const std::string out = SClient(absl::StrCat(old, " -cipher DEFAULT@SECLEVEL=0 -servername secure.test"));
    EXPECT_TRUE(absl::StrContains(out, "alert protocol version")) << out;
  }
  std::string out = SClient("-tls1_2 -servername secure.test");
  EXPECT_TRUE(absl::StrContains(out, "New, TLSv1.2, Cipher is ECDHE-ECDSA-AES")) << out;
  out = SClient("-tls1_3 -servername secure.test");
  EXPECT_TRUE(absl::StrContains(out, "New, TLSv1.3, Cipher is TLS_AES_")) << out;
  // CBC suites are not in the intermediate list.
  out = SClient("-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA -servername secure.test");
  EXPECT_TRUE(absl::StrContains(out, "handshake failure")) << out;
  // ALPN: h2 preferred, http/1.1 for clients without it; no overlap = no ALPN, still connects.
  out = SClient("-alpn h2,http/1.1 -servername secure.test");
  EXPECT_TRUE(absl::StrContains(out, "ALPN protocol: h2")) << out;
  out = SClient("-alpn http/1.1 -servername secure.test");
  EXPECT_TRUE(absl::StrContains(out, "ALPN protocol: http/1.1")) << out;
  out = SClient("-alpn spdy/3 -servername secure.test");
  EXPECT_TRUE(absl::StrContains(out, "No ALPN negotiated")) << out;
  EXPECT_TRUE(absl::StrContains(out, "EXIT=0")) << out;

  EXPECT_GE(MetricValue("edgerouter_tls_handshake_errors_total{reason=\"protocol_version\"}"), 2u);
  EXPECT_GE(MetricValue("edgerouter_tls_handshake_errors_total{reason=\"no_shared_cipher\"}"), 1u);
  EXPECT_TRUE(dp_->WaitForLine("msg=\"tls handshake failed\" reason=protocol_version", absl::Seconds(5)).ok())
      << dp_->Output();
}

TEST_F(Https, StalledHandshakesTimeOutAndPlainHttpIsCounted) {
  WaitForApplied(1);
  // A client that connects and says nothing is cut off after the header timeout (2 s here).
  TestConnection silent(https_port_, 8000);
  ASSERT_TRUE(silent.ok());
  const absl::Time start = absl::Now();
  EXPECT_TRUE(silent.PeerClosed());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(1500));
  // Plain HTTP on the TLS port.
  TestConnection plain(https_port_);
  plain.Send("GET / HTTP/1.1\r\nHost: secure.test\r\n\r\n");
  plain.ReadRaw(4096);  // until the data plane closes
  EXPECT_EQ(MetricValue("edgerouter_tls_handshake_errors_total{reason=\"timeout\"}"), 1u);
  EXPECT_EQ(MetricValue("edgerouter_tls_handshake_errors_total{reason=\"http_request\"}"), 1u);
}

TEST_F(Https, WithoutDefaultCertificateUnknownNamesFail) {
  dp_.reset();
  StartDataplane({});
  WaitForApplied(1);
  for (const char* args : {"-servername unknown.test", "-noservername"}) {
    const std::string out = SClient(args);
    EXPECT_TRUE(absl::StrContains(out, "unrecognized name")) << out;
    EXPECT_FALSE(absl::StrContains(out, "EXIT=0")) << out;
  }
  EXPECT_EQ(MetricValue("edgerouter_tls_handshake_errors_total{reason=\"no_certificate\"}"), 2u);
  auto line = dp_->WaitForLine("reason=no_certificate", absl::Seconds(5));
  ASSERT_TRUE(line.ok()) << dp_->Output();
  // logfmt: the value is quoted only when it needs to be (common/log/log.h).
  EXPECT_TRUE(absl::StrContains(*line, " sni=unknown.test ")) << *line;
}

TEST_F(Https, DevCertificateAnswersEveryName) {
  dp_.reset();
  StartDataplane({"--dev_cert=" + dir_ + "/dev.pem", "--default_cert=" + dir_ + "/default.pem"});
  WaitForApplied(1);
  EXPECT_TRUE(absl::StrContains(SClient("-servername secure.test"), "subject=CN = dev.test"));
  EXPECT_TRUE(absl::StrContains(SClient("-noservername"), "subject=CN = dev.test"));
}

TEST_F(Https, RequestsAreProxiedAsHttps) {
  WaitForApplied(1);
  // curl verifies the chain and the name against the test CA.
  const std::string out = Shell(absl::StrCat("curl -sS --cacert ", dir_, "/ca.pem --resolve secure.test:", https_port_,
                                             ":127.0.0.1 https://secure.test:", https_port_, "/echo"));
  EXPECT_TRUE(absl::StrContains(out, "GET /echo HTTP/1.1")) << out;
  EXPECT_TRUE(absl::StrContains(out, "X-Forwarded-Proto: https")) << out;
  EXPECT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
  // The same mount over plain HTTP is redirected (no allow_insecure_http).
  HttpResponse r = Get(http_port_, "secure.test", "/echo");
  EXPECT_EQ(r.status, 307);
  // Keep-alive: several requests on one TLS connection, then the origin's reply streamed back.
  const std::string many = SClient("-servername secure.test -quiet",
                                   "GET /bytes/100000 HTTP/1.1\\r\\nHost: secure.test\\r\\n\\r\\n"
                                   "GET /chunked/5000 HTTP/1.1\\r\\nHost: secure.test\\r\\n\\r\\n"
                                   "GET /echo HTTP/1.1\\r\\nHost: secure.test\\r\\nConnection: close\\r\\n\\r\\n");
  EXPECT_EQ(std::count(many.begin(), many.end(), 'x'), 100000) << many.substr(0, 500);
  EXPECT_TRUE(absl::StrContains(many, "X-Forwarded-Proto: https")) << many.substr(many.size() - 1000);
}

// A keep-alive TLS connection keeps OpenSSL's record buffers while requests come, and gives
// them back after a second without one (counted); the next request on it still works, and so
// do requests on a connection that is not idle.
TEST_F(Https, IdleKeepAliveConnectionsGiveRecordBuffersBackAndCarryOn) {
  TestConnection idle(https_port_);
  ASSERT_TRUE(idle.StartTls("secure.test"));
  ASSERT_TRUE(idle.Send("GET /echo/first HTTP/1.1\r\nHost: secure.test\r\n\r\n"));
  HttpResponse r = idle.Read();
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(absl::StartsWith(r.body, "GET /echo/first ")) << r.body;
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  uint64_t released = 0;
  while ((released = MetricValue("er_dp_tls_idle_buffer_releases_total")) == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));  // polling interval: the release is a timer's
  }
  ASSERT_GE(released, 1u) << Metrics();
  ASSERT_TRUE(idle.Send("GET /echo/second HTTP/1.1\r\nHost: secure.test\r\n\r\n"));
  r = idle.Read();
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(absl::StartsWith(r.body, "GET /echo/second ")) << r.body;
  // A large response and upload right after a release: the buffers come back at full size.
  ASSERT_TRUE(idle.Send("GET /bytes/300000 HTTP/1.1\r\nHost: secure.test\r\n\r\n"));
  r = idle.Read();
  EXPECT_EQ(std::count(r.body.begin(), r.body.end(), 'x'), 300000);
}

// The worker loop's batched reads and sends (--io_uring) carry TLS records too: many
// keep-alive clients at once, half of them pipelining; and a response that fills the client's
// socket, so that the rest of a batched send leaves later, before the response behind it; and
// a large upload. In every I/O mode: by default the origin sockets receive through the ring,
// with --io_uring_receive=false through epoll's batched reads, with --io_uring=false by read().
TEST_F(Https, ConcurrentClientsGetTheirOwnResponsesInEveryIoMode) {
  for (const char* mode : {"", "--io_uring_receive=false", "--io_uring=false"}) {
    SCOPED_TRACE(*mode ? mode : "default");
    if (*mode) {
      dp_->Signal(SIGTERM);
      StartDataplane({"--default_cert=" + dir_ + "/default.pem", mode});
    }
    WaitForApplied(1);
    TestConnection big(https_port_);
    ASSERT_TRUE(big.StartTls("secure.test"));
    constexpr size_t kBig = 8 << 20;  // more than loopback socket buffers take unread
    ASSERT_TRUE(big.Send(absl::StrCat("GET /bytes/", kBig, " HTTP/1.1\r\nHost: secure.test\r\n\r\n",
                                      "GET /echo/after HTTP/1.1\r\nHost: secure.test\r\n\r\n")));
    constexpr int kClients = 32;
    std::vector<std::unique_ptr<TestConnection>> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.push_back(std::make_unique<TestConnection>(https_port_));
      ASSERT_TRUE(clients.back()->StartTls("secure.test")) << i;
    }
    ExpectOwnResponses(clients, "secure.test");
    HttpResponse r = big.Read();
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body.size(), kBig);
    EXPECT_EQ(std::count(r.body.begin(), r.body.end(), 'x'), static_cast<ptrdiff_t>(kBig));
    r = big.Read();
    EXPECT_TRUE(absl::StartsWith(r.body, "GET /echo/after ")) << r.body;
    // A large upload: the request body comes through the read-ahead, 16 KB of records a turn.
    const std::string upload(4 << 20, 'u');
    ASSERT_TRUE(big.Send(absl::StrCat("POST /upload HTTP/1.1\r\nHost: secure.test\r\nContent-Length: ", upload.size(),
                                      "\r\n\r\n", upload)));
    r = big.Read();
    EXPECT_EQ(r.body, absl::StrCat("bytes=", upload.size(), " sum=", upload.size() * 'u', "\n"));
  }
}

TEST_F(Https, SessionsResumeAcrossWorkersAndSnapshotSwaps) {
  WaitForApplied(1);
  for (const char* version : {"-tls1_2", "-tls1_3"}) {
    const std::string sess = absl::StrCat(dir_, "/sess", version);
    const std::string first = SClient(absl::StrCat(version, " -servername secure.test -sess_out ", sess), kRequest);
    ASSERT_TRUE(absl::StrContains(first, "\nNew, TLSv1.")) << first;
    // Two workers share the port through SO_REUSEPORT: new connections spread over both.
    auto reconnect_all_reused = [&](int n) {
      for (int i = 0; i < n; ++i) {
        const std::string out = SClient(absl::StrCat(version, " -servername secure.test -sess_in ", sess), kRequest);
        ASSERT_TRUE(absl::StrContains(out, "\nReused, TLSv1.")) << version << " #" << i << "\n" << out;
        ASSERT_TRUE(absl::StrContains(out, "HTTP/1.1 200")) << out;
      }
    };
    reconnect_all_reused(12);
    // A new snapshot (new runtime config, new certificate contexts) keeps old sessions valid.
    static int applied = 1;
    ASSERT_TRUE(AppendApp(absl::StrCat(R"({"id":"extra)", applied, R"(","frontends":[{"kind":"hostname","hostname":"x)",
                                       applied, R"(.test","path_prefix":"/"}],"backend":{"kind":"redirect","redirect_opts":{"to":"https://example.com/"}}})"))
                    .ok());
    WaitForApplied(++applied);
    reconnect_all_reused(12);
  }
  EXPECT_GE(MetricValue("edgerouter_tls_handshakes_total{resumed=\"true\"}"), 48u);
  // Every request above came over TLS, and both workers served some of them (a ticket issued
  // by one worker was accepted by the other).
  const std::string log = ReadFileOrDie(dir_ + "/access.log");
  EXPECT_GE(CountSubstr(log, "\"path\":\"/echo\""), 48) << log;
  EXPECT_GE(CountSubstr(log, "\"tls\":true,\"worker\":0}"), 1) << log;
  EXPECT_GE(CountSubstr(log, "\"tls\":true,\"worker\":1}"), 1) << log;
}

TEST_F(Https, NoFailedHandshakesWhileSnapshotsAreApplied) {
  WaitForApplied(1);
  std::atomic<bool> stop{false};
  absl::Mutex mu;
  int ok = 0, failed = 0;  // guarded by mu
  std::string first_error;
  std::thread loop([&] {
    while (!stop) {
      absl::StatusOr<std::string> cn = HandshakeCn(https_port_, "secure.test");
      absl::MutexLock lock(&mu);
      if (cn.ok() && *cn == "default.test") {
        ok++;
      } else if (failed++ == 0) {
        first_error = cn.ok() ? *cn : std::string(cn.status().message());
      }
    }
  });
  for (int i = 0; i < 10; ++i) {
    int before;
    {
      absl::MutexLock lock(&mu);
      before = ok;
    }
    ASSERT_TRUE(AppendApp(absl::StrCat(R"({"id":"swap)", i, R"(","frontends":[{"kind":"hostname","hostname":"swap)", i,
                                       R"(.test","path_prefix":"/"}],"backend":{"kind":"redirect","redirect_opts":{"to":"https://example.com/"}}})"))
                    .ok());
    WaitForApplied(2 + i);
    // At least one handshake completes after each swap, however slow the machine is.
    std::pair<int*, int> progress(&ok, before);
    mu.LockWhenWithTimeout(
        absl::Condition(+[](std::pair<int*, int>* p) { return *p->first > p->second; }, &progress),
        absl::Seconds(20));
    mu.Unlock();
  }
  stop = true;
  loop.join();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(failed, 0) << first_error;
  EXPECT_GE(ok, 10);
}

TEST_F(Https, SnapshotCertificatesWithoutKekAreSkippedAndReported) {
  WaitForApplied(1);
  grpc::ClientContext ctx;
  admin::v1::AppendStreamRequest req;
  req.set_stream("/t-1/certbus");
  req.set_force(true);  // no PEM in it: the control plane would refuse it, the data plane must cope
  req.add_lines(
      R"(2026-03-05T10:00:00.000Z CertificateObtained    {"Id":"c1","Reason":"new","Domains":["secure.test"],"Expires":"2030-01-01T00:00:00Z","CertPemBundle":"x","PrivateKeyDekFingerprint":"SHA256:x","PrivateKeyCiphertext":"AAE=","ChallengeType":"dns-01"})");
  admin::v1::AppendStreamResponse resp;
  ASSERT_TRUE(admin_->AppendStream(&ctx, req, &resp).ok());
  WaitForApplied(2);
  auto line = dp_->WaitForLine("msg=\"certificate skipped\"", absl::Seconds(5));
  ASSERT_TRUE(line.ok()) << dp_->Output();
  EXPECT_TRUE(absl::StrContains(*line, "cert_id=c1")) << *line;
  EXPECT_TRUE(absl::StrContains(*line, "no KEK configured")) << *line;
  EXPECT_EQ(MetricValue("edgerouter_certificate_errors_total{reason=\"no_kek\"}"), 1u);
  // Everything else keeps working, on the default certificate.
  EXPECT_TRUE(absl::StrContains(SClient("-servername secure.test"), "subject=CN = default.test"));
}

TEST_F(Https, TicketKeysRotateAndOldKeysStillDecrypt) {
  dp_.reset();
  // keep 3: a ticket survives two rotations and is refused after the third.
  StartDataplane({"--default_cert=" + dir_ + "/default.pem", "--tls_ticket_rotation_s=1", "--tls_ticket_keys_kept=3"});
  const std::string sess = dir_ + "/sess-rot";
  const std::string rotated = "msg=\"ticket keys rotated\"";
  // The ticket must come from a known key: retry if a rotation happened during the handshake.
  int before = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    before = dp_->LineCount(rotated);
    ASSERT_TRUE(absl::StrContains(SClient("-servername secure.test -sess_out " + sess, kRequest), "\nNew, TLSv1.3"));
    if (dp_->LineCount(rotated) == before) break;
  }
  ASSERT_TRUE(dp_->WaitForNthLine(rotated, before + 1, absl::Seconds(5)).ok());
  const std::string after_one = SClient("-servername secure.test -sess_in " + sess, kRequest);
  EXPECT_TRUE(absl::StrContains(after_one, "\nReused, TLSv1.3")) << after_one;
  ASSERT_TRUE(dp_->WaitForNthLine(rotated, before + 3, absl::Seconds(10)).ok());
  const std::string after_three = SClient("-servername secure.test -sess_in " + sess, kRequest);
  EXPECT_TRUE(absl::StrContains(after_three, "\nNew, TLSv1.3")) << after_three;
}

TEST_F(Https, SharedTicketKeyFileResumesOnAnotherProcess) {
  ASSERT_TRUE(absl::StrContains(Shell(absl::StrCat("openssl rand 160 > ", dir_, "/ticket.key")), "EXIT=0"));
  dp_.reset();
  const std::vector<std::string> flags = {"--default_cert=" + dir_ + "/default.pem",
                                          "--tls_ticket_key_file=" + dir_ + "/ticket.key"};
  StartDataplane(flags);
  const std::string sess = dir_ + "/sess-fleet";
  for (const char* version : {"-tls1_2", "-tls1_3"}) {
    ASSERT_TRUE(absl::StrContains(SClient(absl::StrCat(version, " -servername secure.test -sess_out ", sess), kRequest),
                                  "\nNew, TLSv1."));
    // Another data plane process (another node of the fleet) with the same key file.
    std::unique_ptr<Subprocess> first = std::move(dp_);
    StartDataplane(flags);
    const std::string out = SClient(absl::StrCat(version, " -servername secure.test -sess_in ", sess), kRequest);
    EXPECT_TRUE(absl::StrContains(out, "\nReused, TLSv1.")) << out;
  }
  // A malformed key file stops the start with a clear error.
  ASSERT_TRUE(absl::StrContains(Shell(absl::StrCat("head -c 50 ", dir_, "/ticket.key > ", dir_, "/bad.key")), "EXIT=0"));
  const std::string bad = Shell(absl::StrCat(RunfilePath("dataplane/dataplane"), " --https_listen=127.0.0.1:0 ",
                                             "--http_listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --tls_ticket_key_file=",
                                             dir_, "/bad.key"));
  EXPECT_TRUE(absl::StrContains(bad, "want a multiple of 80")) << bad;
  EXPECT_TRUE(absl::StrContains(bad, "EXIT=1")) << bad;
}

class CertbusHttps : public Https {
 protected:
  void StartOrigins() override {
    Https::StartOrigins();
    const std::string out = Shell(absl::StrCat(
        "set -e; cd ", dir_, "; ",
        "openssl genrsa -traditional -out kek.pem 2048 2>/dev/null; openssl rsa -in kek.pem -pubout -out kek.pub 2>/dev/null; ",
        "openssl genrsa -traditional -out kek2.pem 2048 2>/dev/null; openssl rsa -in kek2.pem -pubout -out kek2.pub 2>/dev/null; ",
        MakeLeafScript("www", "www.example.test", "ca", "subjectAltName=DNS:www.example.test"),
        MakeLeafScript("www2", "www.example.test v2", "ca", "subjectAltName=DNS:www.example.test"),
        MakeLeafScript("wild", "wildcard", "ca", "subjectAltName=DNS:*.b.example.test,DNS:b.example.test"),
        MakeLeafScript("other", "other.example.test", "ca", "subjectAltName=DNS:other.example.test"),
        MakeLeafScript("rsa", "rsa.example.test", "ca", "subjectAltName=DNS:rsa.example.test", "rsa:2048")));
    ASSERT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
  }

  std::vector<std::string> DataplaneFlags() override {
    return {"--default_cert=" + dir_ + "/default.pem", "--certbus_private_key=" + dir_ + "/kek.pem"};
  }

  // `edgerouterctl cert import`: returns once the control plane has a snapshot with it.
  void Import(const std::string& name, const std::string& id, const std::string& kek = "kek") {
    const std::string out = Shell(absl::StrCat(RunfilePath("cli/edgerouterctl"), " --controlplane=127.0.0.1:",
                                               cp_grpc_port_, " cert import --cert ", dir_, "/", name, ".crt --key ",
                                               dir_, "/", name, ".key --kek-public ", dir_, "/", kek, ".pub --id ", id));
    ASSERT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
  }

  std::string Subject(const std::string& sni) {
    const std::string out = SClient(sni.empty() ? "-noservername" : "-servername " + sni);
    const size_t at = out.find("subject=CN = ");
    return at == std::string::npos ? out : out.substr(at + 13, out.find('\n', at) - at - 13);
  }
};

TEST_F(CertbusHttps, SniSelectsExactThenOneLevelWildcardThenDefault) {
  WaitForApplied(1);
  EXPECT_TRUE(dp_->WaitForLine("msg=\"certbus KEK loaded\" fingerprint=SHA256:", absl::Seconds(1)).ok());
  Import("www", "www");
  Import("wild", "wild");
  Import("rsa", "rsa");
  WaitForApplied(4);
  EXPECT_EQ(Subject("www.example.test"), "www.example.test");
  // An RSA certificate, over TLS 1.2 with an ECDHE-RSA suite too.
  EXPECT_EQ(Subject("rsa.example.test"), "rsa.example.test");
  const std::string rsa12 = SClient("-tls1_2 -servername rsa.example.test");
  EXPECT_TRUE(absl::StrContains(rsa12, "New, TLSv1.2, Cipher is ECDHE-RSA-AES")) << rsa12;
  EXPECT_EQ(Subject("WWW.Example.Test."), "www.example.test");  // case and trailing dot ignored
  EXPECT_EQ(Subject("a.b.example.test"), "wildcard");
  EXPECT_EQ(Subject("b.example.test"), "wildcard");
  EXPECT_EQ(Subject("x.a.b.example.test"), "default.test");  // one level only
  EXPECT_EQ(Subject(""), "default.test");
  // And a request through it, verified by curl against the test CA.
  const std::string out = Shell(absl::StrCat("curl -sS -o /dev/null -w '%{http_code}' --cacert ", dir_,
                                             "/ca.pem --resolve www.example.test:", https_port_,
                                             ":127.0.0.1 https://www.example.test:", https_port_, "/"));
  EXPECT_TRUE(absl::StrContains(out, "404")) << out;  // no app for the name; TLS verified fine
  EXPECT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
  EXPECT_EQ(MetricValue("edgerouter_certificates{state=\"valid\"}"), 3u);
}

TEST_F(CertbusHttps, CertificatesForAnotherKekOrTamperedAreSkippedAlone) {
  WaitForApplied(1);
  Import("www", "www");
  Import("other", "foreign", "kek2");  // encrypted for a KEK this node does not have
  WaitForApplied(3);
  auto line = dp_->WaitForLine("cert_id=foreign", absl::Seconds(5));
  ASSERT_TRUE(line.ok()) << dp_->Output();
  EXPECT_TRUE(absl::StrContains(*line, "msg=\"certificate skipped\"")) << *line;
  EXPECT_TRUE(absl::StrContains(*line, "encrypted for KEK")) << *line;
  EXPECT_EQ(MetricValue("edgerouter_certificate_errors_total{reason=\"wrong_kek\"}"), 1u);

  // A copy of www's event with one ciphertext character changed, under another id and name.
  grpc::ClientContext read_ctx;
  admin::v1::ReadStreamRequest read;
  read.set_stream("/t-1/certbus");
  admin::v1::ReadStreamResponse entries;
  ASSERT_TRUE(admin_->ReadStream(&read_ctx, read, &entries).ok());
  std::string event;
  for (const auto& e : entries.entries()) {
    for (const auto& l : e.lines()) {
      if (absl::StrContains(l, "\"Id\":\"www\"")) event = l;
    }
  }
  ASSERT_FALSE(event.empty()) << entries.DebugString();
  const size_t ct = event.find("\"PrivateKeyCiphertext\":\"");
  ASSERT_NE(ct, std::string::npos) << event;
  char& c = event[ct + 24 + 400];  // inside the AES-CTR body (after the 2 + 256 + 16 byte header)
  c = c == 'A' ? 'B' : 'A';
  event = absl::StrReplaceAll(event, {{"\"Id\":\"www\"", "\"Id\":\"tampered\""},
                                      {"www.example.test", "tampered.example.test"}});
  grpc::ClientContext append_ctx;
  admin::v1::AppendStreamRequest append;
  append.set_stream("/t-1/certbus");
  append.add_lines(event);
  admin::v1::AppendStreamResponse appended;
  ASSERT_TRUE(admin_->AppendStream(&append_ctx, append, &appended).ok());
  WaitForApplied(4);
  line = dp_->WaitForLine("cert_id=tampered", absl::Seconds(5));
  ASSERT_TRUE(line.ok()) << dp_->Output();
  EXPECT_TRUE(absl::StrContains(*line, "msg=\"certificate skipped\"")) << *line;
  EXPECT_EQ(MetricValue("edgerouter_certificate_errors_total{reason=\"decrypt\"}"), 1u);
  // The good certificate is untouched; the skipped names fall back to the default.
  EXPECT_EQ(Subject("www.example.test"), "www.example.test");
  EXPECT_EQ(Subject("tampered.example.test"), "default.test");
  EXPECT_EQ(Subject("other.example.test"), "default.test");
  // Private keys never reach the log.
  EXPECT_FALSE(absl::StrContains(dp_->Output(), "PRIVATE KEY"));
}

TEST_F(CertbusHttps, ReplacedCertificateIsServedWithoutFailedHandshakes) {
  WaitForApplied(1);
  Import("www", "www");
  WaitForApplied(2);
  ASSERT_EQ(Subject("www.example.test"), "www.example.test");
  std::atomic<bool> stop{false}, saw_new{false};
  std::atomic<int> ok{0}, failed{0};
  std::string first_error;
  std::thread loop([&] {
    while (!stop) {
      absl::StatusOr<std::string> cn = HandshakeCn(https_port_, "www.example.test");
      if (cn.ok() && (*cn == "www.example.test" || *cn == "www.example.test v2")) {
        ok++;
        if (*cn == "www.example.test v2") saw_new = true;
      } else if (failed++ == 0) {
        first_error = cn.ok() ? *cn : std::string(cn.status().message());
      }
    }
  });
  Import("www2", "www");  // same id: a renewal replaces the certificate
  WaitForApplied(3);
  // The very next handshake gets the new certificate.
  absl::StatusOr<std::string> next = HandshakeCn(https_port_, "www.example.test");
  stop = true;
  loop.join();
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, "www.example.test v2");
  EXPECT_EQ(failed.load(), 0) << first_error;
  EXPECT_GT(ok.load(), 5);
  EXPECT_EQ(MetricValue("edgerouter_tls_handshake_errors_total{reason=\"other\"}"), 0u);
}

}  // namespace
}  // namespace edgerouter::testing
