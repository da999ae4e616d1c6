// https origins: a real nginx with a certificate from a test CA. Verification is on by default
// (name or IP must match), tls_config.server_name sets SNI and the name checked,
// insecure_skip_verify turns verification off, and pooled TLS connections are reused.
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/test_util.h"
#include "dataplane/test/e2e_fixture.h"

namespace edgerouter::testing {
namespace {

class TlsOrigin : public DataplaneE2E {
 protected:
  void StartOrigins() override {
    DataplaneE2E::StartOrigins();
    // A CA and a server certificate for origin.test and 127.0.0.1.
    const std::string script = absl::StrCat(
        "set -e; cd ", dir_, "; ",
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem "
        "-days 2 -subj /CN=edgerouter-test-ca 2>/dev/null; ",
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.csr "
        "-subj /CN=origin.test 2>/dev/null; ",
        "printf 'subjectAltName=DNS:origin.test,IP:127.0.0.1\\n' > ext; ",
        "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 "
        "-extfile ext 2>/dev/null; echo certs-ready");
    auto certs = Subprocess::Start({"/bin/sh", "-c", script});
    ASSERT_TRUE(certs.ok());
    ASSERT_TRUE((*certs)->WaitForLine("certs-ready", absl::Seconds(30)).ok()) << (*certs)->Output();
    tls_port_ = PickFreeLoopbackPort();
    std::filesystem::create_directories(dir_ + "/nginx");
    std::ofstream(dir_ + "/nginx/nginx.conf") << absl::StrCat(
        "daemon off; worker_processes 1; error_log stderr error; pid ", dir_, "/nginx/pid;\n",
        "events { worker_connections 256; }\n",
        "http { access_log off; client_body_temp_path ", dir_, "/nginx;\n",
        "  server { listen 127.0.0.1:", tls_port_, " ssl; ssl_certificate ", dir_, "/srv.pem; ssl_certificate_key ",
        dir_, "/srv.key;\n", "    location / { return 200 \"tls ok $ssl_server_name #$connection_requests\\n\"; } } }\n");
    auto nginx = Subprocess::Start({"/usr/sbin/nginx", "-c", dir_ + "/nginx/nginx.conf", "-p", dir_ + "/nginx"});
    ASSERT_TRUE(nginx.ok());
    nginx_ = *std::move(nginx);
    // nginx prints nothing when it is up: wait for the port.
    for (int i = 0; i < 200; ++i) {
      TestConnection probe(tls_port_, 200);
      if (probe.ok()) return;
      absl::SleepFor(absl::Milliseconds(25));  // readiness polling of a peer that cannot signal it
    }
    FAIL() << "nginx did not start: " << nginx_->Output();
  }

  std::string AppsJson() override {
    auto app = [&](const std::string& id, const std::string& tls_config) {
      return absl::StrCat(R"({"id":")", id, R"(","frontends":[{"kind":"hostname","hostname":")", id,
                          R"(.test","path_prefix":"/","allow_insecure_http":true}],"backend":{"kind":"reverse_proxy",)",
                          R"("reverse_proxy_opts":{"origins":["https://127.0.0.1:)", tls_port_, R"("])", tls_config,
                          "}}}");
    };
    return absl::StrCat(R"({"apps":[)", app("good", R"(,"tls_config":{"server_name":"origin.test"})"), ",",
                        app("byip", ""), ",", app("wrongname", R"(,"tls_config":{"server_name":"wrong.test"})"),
                        ",",
                        app("insecure", R"(,"tls_config":{"server_name":"wrong.test","insecure_skip_verify":true})"),
                        "]}");
  }

  std::vector<std::string> DataplaneFlags() override { return {"--upstream_ca_file=" + dir_ + "/ca.pem"}; }

  void TearDown() override {
    // SIGTERM: the master stops its worker, which also holds our output pipe (SIGKILL would
    // orphan the worker and keep the pipe open).
    if (nginx_) nginx_->Signal(SIGTERM);
    nginx_.reset();
    DataplaneE2E::TearDown();
  }

  int tls_port_ = 0;
  std::unique_ptr<Subprocess> nginx_;
};

TEST_F(TlsOrigin, VerifiesCertificatesAndSetsSni) {
  WaitForApplied(1);
  HttpResponse r = Get(http_port_, "good.test", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(absl::StartsWith(r.body, "tls ok origin.test #")) << r.body;  // SNI = tls_config.server_name
  r = Get(http_port_, "byip.test", "/");
  EXPECT_EQ(r.status, 200);  // no SNI for an IP; the certificate's IP SAN is checked
  EXPECT_TRUE(absl::StartsWith(r.body, "tls ok  #")) << r.body;
  r = Get(http_port_, "wrongname.test", "/");
  EXPECT_EQ(r.status, 502);
  EXPECT_TRUE(dp_->WaitForLine("certificate verification failed", absl::Seconds(5)).ok()) << dp_->Output();
  r = Get(http_port_, "insecure.test", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(absl::StartsWith(r.body, "tls ok wrong.test #")) << r.body;
}

TEST_F(TlsOrigin, ReusesPooledTlsConnections) {
  WaitForApplied(1);
  TestConnection conn(http_port_);
  HttpResponse r;
  for (int i = 0; i < 20; ++i) {
    conn.Send("GET / HTTP/1.1\r\nHost: good.test\r\n\r\n");
    r = conn.Read();
    ASSERT_EQ(r.status, 200) << i;
  }
  // nginx numbers the requests of each TLS connection: the last of 20 sequential requests
  // arrived on a connection that had carried the others.
  EXPECT_EQ(r.body, "tls ok origin.test #20\n");
}

// Trust stores are read when the config is compiled, not by a worker on the first https
// request of an origin set (a blocking file read on the event loop). Seen from outside: the CA
// file removed after the config was applied no longer matters (before, that first request
// read it then and failed: 502 "cannot load").
TEST_F(TlsOrigin, TrustStoreIsReadWithTheConfigNotOnTheFirstRequest) {
  WaitForApplied(1);
  ASSERT_TRUE(std::filesystem::remove(dir_ + "/ca.pem"));
  HttpResponse r = Get(http_port_, "good.test", "/");
  EXPECT_EQ(r.status, 200) << r.body << dp_->Output();
  EXPECT_TRUE(absl::StartsWith(r.body, "tls ok origin.test #")) << r.body;
}

}  // namespace
}  // namespace edgerouter::testing
