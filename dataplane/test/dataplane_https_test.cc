// HTTPS listener end to end, with real OpenSSL tools against a real data plane (2 workers) and
// control plane: certificate selection (default, dev, none), protocol versions, ciphers, ALPN,
// an HTTPS request proxied to an origin, session resumption across workers and snapshot swaps,
// handshakes that never fail while snapshots are applied, and snapshot certificates skipped
// without a KEK. Certificates are made with the openssl CLI.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/test_util.h"
#include "dataplane/test/e2e_fixture.h"

namespace edgerouter::testing {
namespace {

// Runs `script` with /bin/sh; returns its combined output (the exit code as "EXIT=n" last).
std::string Shell(const std::string& script, absl::Duration timeout = absl::Seconds(30)) {
  auto p = Subprocess::Start({"/bin/sh", "-c", absl::StrCat("(", script, ") 2>&1; echo \"EXIT=$?\"")});
  if (!p.ok()) return "cannot start sh";
  auto done = (*p)->WaitForLine("EXIT=", timeout);
  return (*p)->Output() + (done.ok() ? "" : "\n(timeout)");
}

// A full TLS handshake with the library (no session reuse); returns the leaf's CN.
absl::StatusOr<std::string> HandshakeCn(int port, const std::string& sni) {
  static SSL_CTX* ctx = [] {
    SSL_CTX* c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    return c;
  }();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError("connect");
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (!sni.empty()) SSL_set_tlsext_host_name(ssl, sni.c_str());
  absl::StatusOr<std::string> result = absl::InternalError("handshake failed");
  if (SSL_connect(ssl) == 1) {
    X509* leaf = SSL_get1_peer_certificate(ssl);
    char cn[256] = "";
    if (leaf != nullptr) X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof(cn));
    X509_free(leaf);
    result = std::string(cn);
    SSL_shutdown(ssl);
  } else {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    result = absl::InternalError(buf);
  }
  ERR_clear_error();
  SSL_free(ssl);
  close(fd);
  return result;
}

class Https : public DataplaneE2E {
 protected:
  void StartOrigins() override {
    DataplaneE2E::StartOrigins();
    // A test CA; default.pem (CN default.test, also valid for secure.test) signed by it;
    // dev.pem self-signed. Each file holds the chain and the key, as --default_cert wants.
    auto leaf = [](const std::string& name, const std::string& sans) {
      return absl::StrCat(
          "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ", name, ".key -out ", name,
          ".csr -subj /CN=", name, ".test 2>/dev/null; printf 'subjectAltName=", sans, "\\n' > ", name, ".ext; ",
          "openssl x509 -req -in ", name, ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -out ", name,
          ".crt -days 2 -extfile ", name, ".ext 2>/dev/null; cat ", name, ".crt ", name, ".key > ", name, ".pem; ");
    };
    const std::string out = Shell(absl::StrCat(
        "set -e; cd ", dir_, "; ",
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem "
        "-days 2 -subj /CN=edgerouter-test-ca 2>/dev/null; ",
        leaf("default", "DNS:default.test,DNS:secure.test"),
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout dev.key -out dev.crt "
        "-days 2 -subj /CN=dev.test 2>/dev/null; cat dev.crt dev.key > dev.pem"));
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

  uint64_t MetricValue(const std::string& series) {
    for (absl::string_view line : absl::StrSplit(Metrics(), '\n')) {
      if (absl::StartsWith(line, series + " ")) {
        uint64_t v = 0;
        if (absl::SimpleAtoi(line.substr(series.size() + 1), &v)) return v;
      }
    }
    return 0;
  }
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
  // ALPN: http/1.1 chosen; a client offering only h2 gets no ALPN and still connects.
  out = SClient("-alpn h2,http/1.1 -servername secure.test");
  EXPECT_TRUE(absl::StrContains(out, "ALPN protocol: http/1.1")) << out;
  out = SClient("-alpn h2 -servername secure.test");
  EXPECT_TRUE(absl::StrContains(out, "No ALPN negotiated")) << out;
  EXPECT_TRUE(absl::StrContains(out, "EXIT=0")) << out;

  EXPECT_GE(MetricValue("edgerouter_tls_handshake_errors_total{reason=\"protocol_version\"}"), 2u);
  EXPECT_GE(MetricValue("edgerouter_tls_handshake_errors_total{reason=\"no_shared_cipher\"}"), 1u);
  EXPECT_TRUE(dp_->WaitForLine("msg=\"tls handshake failed\" reason=protocol_version", absl::Seconds(5)).ok())
      << dp_->Output();
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
  EXPECT_TRUE(absl::StrContains(*line, "sni=\"unknown.test\"")) << *line;
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
}

TEST_F(Https, NoFailedHandshakesWhileSnapshotsAreApplied) {
  WaitForApplied(1);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::string first_error;
  std::thread loop([&] {
    while (!stop) {
      absl::StatusOr<std::string> cn = HandshakeCn(https_port_, "secure.test");
      if (cn.ok() && *cn == "default.test") {
        ok++;
      } else if (failed++ == 0) {
        first_error = cn.ok() ? *cn : std::string(cn.status().message());
      }
    }
  });
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(AppendApp(absl::StrCat(R"({"id":"swap)", i, R"(","frontends":[{"kind":"hostname","hostname":"swap)", i,
                                       R"(.test","path_prefix":"/"}],"backend":{"kind":"redirect","redirect_opts":{"to":"https://example.com/"}}})"))
                    .ok());
    WaitForApplied(2 + i);
  }
  stop = true;
  loop.join();
  EXPECT_EQ(failed.load(), 0) << first_error;
  EXPECT_GT(ok.load(), 10);
}

TEST_F(Https, SnapshotCertificatesWithoutKekAreSkippedAndReported) {
  WaitForApplied(1);
  grpc::ClientContext ctx;
  admin::AppendStreamRequest req;
  req.set_stream("/t-1/certbus");
  req.add_lines(
      R"(2026-03-05T10:00:00.000Z CertificateObtained    {"Id":"c1","Reason":"new","Domains":["secure.test"],"Expires":"2030-01-01T00:00:00Z","CertPemBundle":"x","PrivateKeyDekFingerprint":"SHA256:x","PrivateKeyCiphertext":"AAE=","ChallengeType":"dns-01"})");
  admin::AppendStreamResponse resp;
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
  ASSERT_TRUE(absl::StrContains(SClient("-servername secure.test -sess_out " + sess, kRequest), "\nNew, TLSv1.3"));
  ASSERT_TRUE(dp_->WaitForNthLine("msg=\"ticket keys rotated\"", 1, absl::Seconds(5)).ok());
  const std::string after_one = SClient("-servername secure.test -sess_in " + sess, kRequest);
  EXPECT_TRUE(absl::StrContains(after_one, "\nReused, TLSv1.3")) << after_one;
  ASSERT_TRUE(dp_->WaitForNthLine("msg=\"ticket keys rotated\"", 3, absl::Seconds(10)).ok());
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

}  // namespace
}  // namespace edgerouter::testing
