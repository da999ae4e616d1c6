// ARI (RFC 9773) end to end: pebble 2.4.0 issues the certificates but its directory has no
// renewalInfo, so the issuer is given this test's HTTPS renewalInfo server as the override
// (IssuerOptions.client.renewal_info_url, the control plane's --acme_renewal_info_url). The
// server answers GET /ari/<certID> with the window the test sets; the issuer renews a
// certificate pebble issued early when the window says "now", not while it lies in the future,
// and keeps the two-thirds rule while renewalInfo fails.
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/certbus/cert_info.h"
#include "common/test_util.h"
#include "controlplane/acme/acme_ari.h"
#include "controlplane/acme/acme_issuer.h"
#include "controlplane/acme/test/issuer_test_support.h"
#include "controlplane/acme/test/pebble_harness.h"
#include "gtest/gtest.h"

namespace edgerouter::acme {
namespace {

using testing::Eventually;
using testing::StateOf;
using testing::TestPublisher;
using testing::TestSink;

// A one-connection-at-a-time HTTPS server on 127.0.0.1 answering GET /ari/<certID> with the
// current document (or a status; 404 for other identifiers when `only_id` is set), Retry-After: 1. It presents pebble's API certificate (for
// 127.0.0.1, trusted by the same ca_file the issuer uses for pebble).
class RenewalInfoServer {
 public:
  ~RenewalInfoServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
    SSL_CTX_free(ctx_);
  }
  bool Start(const std::string& cert_file, const std::string& key_file) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(ctx_, cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return false;
    }
    port_ = edgerouter::testing::PickFreeLoopbackPort();
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd_, 16) != 0) return false;
    thread_ = std::thread([this] { Serve(); });
    return true;
  }
  std::string base_url() const { return absl::StrCat("https://127.0.0.1:", port_, "/ari"); }
  void Answer(int status, std::string body, std::string only_id = "") {
    absl::MutexLock lock(&mu_);
    status_ = status;
    body_ = std::move(body);
    only_id_ = std::move(only_id);
  }
  std::vector<std::string> cert_ids() const {
    absl::MutexLock lock(&mu_);
    return cert_ids_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int conn = accept(fd_, nullptr, nullptr);
      if (conn < 0) continue;
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, conn);
      std::string request;
      if (SSL_accept(ssl) == 1) {
        char buf[4096];
        while (!absl::StrContains(request, "\r\n\r\n")) {
          const int n = SSL_read(ssl, buf, sizeof buf);
          if (n <= 0) break;
          request.append(buf, n);
        }
      }
      if (absl::StartsWith(request, "GET /ari/")) {
        const std::string id = request.substr(9, request.find(' ', 9) - 9);
        int status;
        std::string body;
        {
          absl::MutexLock lock(&mu_);
          cert_ids_.push_back(id);
          status = only_id_.empty() || only_id_ == id ? status_ : 404;
          body = status == status_ ? body_ : "";
        }
        const std::string response =
            absl::StrCat("HTTP/1.1 ", status, " X\r\nContent-Type: application/json\r\nRetry-After: 1\r\n",
                         "Content-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
        SSL_write(ssl, response.data(), static_cast<int>(response.size()));
      }
      SSL_shutdown(ssl);
      SSL_free(ssl);
      close(conn);
    }
  }

  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable absl::Mutex mu_;
  int status_ = 500;
  std::string body_;
  std::string only_id_;
  std::vector<std::string> cert_ids_;
};

std::string Window(absl::Time start, absl::Time end) {
  return absl::StrCat(R"({"suggestedWindow":{"start":")", certbus::FormatRfc3339(start), R"(","end":")",
                      certbus::FormatRfc3339(end), R"("},"explanationURL":"https://ca.test/ari-why"})");
}

TEST(AcmeAriPebbleTest, CertificateRenewedEarlyWhenTheWindowSaysNowAndNotBefore) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/ari-pebble");
  ASSERT_EQ(system(absl::StrCat("mkdir -p ", dir, " && openssl genrsa -traditional -out ", dir,
                                "/kek.pem 2048 2>/dev/null").c_str()), 0);
  admin::HttpAdminServer http01;
  const int http01_port = edgerouter::testing::PickFreeLoopbackPort();
  ASSERT_TRUE(http01.Start(absl::StrCat("127.0.0.1:", http01_port)).ok());
  absl::StatusOr<std::unique_ptr<testing::PebbleHarness>> pebble = testing::PebbleHarness::Start(dir, http01_port);
  ASSERT_TRUE(pebble.ok()) << pebble.status();
  RenewalInfoServer ari;
  ASSERT_TRUE(ari.Start(dir + "/api.pem", dir + "/api.key"));  // the harness's 127.0.0.1 certificate
  ari.Answer(500, "");

  absl::StatusOr<certbus::Kek> kek = certbus::LoadKekFromPemFile(dir + "/kek.pem");
  ASSERT_TRUE(kek.ok()) << kek.status();
  IssuerOptions options{.client = {.directory_url = (*pebble)->directory_url(),
                                   .ca_file = (*pebble)->ca_file(),
                                   .poll_interval = absl::Milliseconds(100),
                                   .poll_max_interval = absl::Seconds(1),
                                   .renewal_info_url = ari.base_url()},
                        .emails = {"ops@example.test"},
                        .order_timeout = absl::Seconds(30),
                        .lease_poll = absl::Milliseconds(200)};
  options.policy.renewal_info.min_poll = absl::Milliseconds(100);
  options.policy.renewal_info.error_retry = absl::Milliseconds(300);
  MemoryAccountKeyStore keys;
  TestPublisher publisher(&http01);
  TestSink sink;
  controlplane::AlwaysHeldLease lease("test");
  Issuer issuer(options, kek->public_key(), &keys, &publisher, &sink, &lease);
  const std::string name = "ari.example.test";
  issuer.SetWantedNames({{name, "app:ari"}});
  issuer.Start();

  // Issued by pebble (years of validity); renewalInfo failing: counted, the two-thirds rule stands.
  ASSERT_TRUE(Eventually([&] { return sink.For(name).size() == 1; }, absl::Seconds(30))) << (*pebble)->PebbleOutput();
  const events::v1::CertificateObtained first = sink.For(name)[0];
  absl::StatusOr<KnownCertificate> known = KnownCertificateFromPem(first.cert_pem_bundle());
  ASSERT_TRUE(known.ok()) << known.status();
  absl::StatusOr<std::string> first_id = CertIdFromPem(first.cert_pem_bundle());
  ASSERT_TRUE(first_id.ok()) << first_id.status();
  EXPECT_EQ(known->cert_id, *first_id);
  ASSERT_TRUE(Eventually([&] { return issuer.stats().renewal_info_failures >= 2; }, absl::Seconds(10)));
  EXPECT_NE(issuer.stats().last_renewal_info_error.find("HTTP 500"), std::string::npos)
      << issuer.stats().last_renewal_info_error;
  NameStatus s = StateOf(issuer, name);
  EXPECT_EQ(s.state, NameState::kIssued);
  EXPECT_EQ(s.renew_at, RenewalTime(*known));
  EXPECT_EQ(ari.cert_ids().front(), *first_id);  // GET <renewalInfo>/<certID> of pebble's certificate

  // A window in the future, before two thirds: the renewal moves into it, nothing is ordered.
  const absl::Time now = absl::Now();
  const absl::Time start = now + (RenewalTime(*known) - now) / 2;
  ari.Answer(200, Window(start, start + absl::Hours(1)));
  const int64_t fetched = issuer.stats().renewal_info_fetches;
  ASSERT_TRUE(Eventually([&] { return StateOf(issuer, name).ari_window.has_value(); }, absl::Seconds(10)));
  // Re-polled (Retry-After: 1 s) at least twice more with the window unchanged: still one certificate.
  ASSERT_TRUE(Eventually([&] { return issuer.stats().renewal_info_fetches >= fetched + 3; }, absl::Seconds(10)));
  s = StateOf(issuer, name);
  EXPECT_EQ(s.state, NameState::kIssued);
  EXPECT_GE(s.renew_at, start);
  EXPECT_LE(s.renew_at, start + absl::Hours(1));
  EXPECT_TRUE(absl::StrContains(s.detail, "ARI window ")) << s.detail;
  EXPECT_TRUE(absl::StrContains(s.detail, "https://ca.test/ari-why")) << s.detail;
  EXPECT_EQ(sink.For(name).size(), 1u);
  EXPECT_EQ(issuer.stats().orders_started, 1);

  // The window moves into the past: renewed now, the order naming the certificate it replaces.
  ari.Answer(200, Window(now - absl::Hours(2), now - absl::Hours(1)), *first_id);
  ASSERT_TRUE(Eventually([&] { return sink.For(name).size() == 2; }, absl::Seconds(20))) << (*pebble)->PebbleOutput();
  const events::v1::CertificateObtained second = sink.For(name)[1];
  EXPECT_EQ(second.reason(), "renew");
  EXPECT_NE(second.cert_pem_bundle(), first.cert_pem_bundle());
  EXPECT_EQ(issuer.stats().orders_replacing, 1);
  absl::StatusOr<std::string> second_id = CertIdFromPem(second.cert_pem_bundle());
  ASSERT_TRUE(second_id.ok());
  EXPECT_NE(*second_id, *first_id);
  // Then the new certificate is asked about; its renewalInfo fails (404): it stays issued until
  // two thirds, nothing more is ordered.
  const int64_t failures = issuer.stats().renewal_info_failures;
  ASSERT_TRUE(Eventually([&] { return issuer.stats().renewal_info_failures >= failures + 2; }, absl::Seconds(10)));
  EXPECT_EQ(ari.cert_ids().back(), *second_id);
  absl::StatusOr<KnownCertificate> second_known = KnownCertificateFromPem(second.cert_pem_bundle());
  ASSERT_TRUE(second_known.ok());
  s = StateOf(issuer, name);
  EXPECT_EQ(s.state, NameState::kIssued);
  EXPECT_EQ(s.renew_at, RenewalTime(*second_known));
  EXPECT_EQ(sink.For(name).size(), 2u);
  issuer.Stop();
  EXPECT_EQ(issuer.stats().orders_failed, 0);
}

}  // namespace
}  // namespace edgerouter::acme
