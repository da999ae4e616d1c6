#include "controlplane/acme/test/pebble_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/test_util.h"
#include "controlplane/acme/acme_http.h"
#include "nlohmann/json.hpp"

namespace edgerouter::acme::testing {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(30);

absl::Status Run(const std::string& shell_command) {
  absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start({"/bin/sh", "-c", shell_command});
  if (!p.ok()) return p.status();
  absl::StatusOr<int> exit = (*p)->Wait(absl::Seconds(60));
  if (!exit.ok()) return exit.status();
  if (*exit != 0) {
    return absl::InternalError(absl::StrCat("`", shell_command, "` failed:\n", (*p)->Output()));
  }
  return absl::OkStatus();
}

bool Connects(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PebbleHarness>> PebbleHarness::Start(const std::string& work_dir,
                                                                    int http01_port, absl::Duration validity) {
  std::unique_ptr<PebbleHarness> h(new PebbleHarness());
  h->ca_file_ = work_dir + "/api-ca.pem";
  // The API certificate: a throwaway CA and a leaf for IP 127.0.0.1 (what clients dial).
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  if (absl::Status s = Run(
          absl::StrCat("cd ", work_dir, " && openssl req -x509 ", ec,
                       " -keyout api-ca.key -out api-ca.pem -days 2", " -subj /CN=pebble-api-test-ca 2>&1",
                       " && openssl req ", ec, " -keyout api.key -out api.csr -subj /CN=127.0.0.1 2>&1",
                       " && printf 'subjectAltName=IP:127.0.0.1\\n' > api.ext",
                       " && openssl x509 -req -in api.csr -CA api-ca.pem -CAkey api-ca.key -CAcreateserial",
                       " -out api.pem -days 2 -extfile api.ext 2>&1"));
      !s.ok()) {
    return s;
  }

  const int dns_port = edgerouter::testing::PickFreeLoopbackPort();
  const int cts_management_port = edgerouter::testing::PickFreeLoopbackPort();
  h->cts_management_port_ = cts_management_port;
  absl::StatusOr<std::unique_ptr<Subprocess>> cts =
      Subprocess::Start({"/usr/bin/pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
                         "-dns01", absl::StrCat("127.0.0.1:", dns_port), "-http01", "", "-https01", "",
                         "-tlsalpn01", "", "-management", absl::StrCat("127.0.0.1:", cts_management_port)},
                        work_dir + "/challtestsrv.log");
  if (!cts.ok()) return cts.status();
  h->challtestsrv_ = *std::move(cts);
  // The DNS server starts before the management one; once management accepts, both are up.
  if (absl::StatusOr<std::string> line =
          h->challtestsrv_->WaitForLine("Starting management server", kStartTimeout);
      !line.ok()) {
    return line.status();
  }
  for (absl::Time deadline = absl::Now() + kStartTimeout; !Connects(cts_management_port);) {
    if (absl::Now() > deadline) return absl::DeadlineExceededError("pebble-challtestsrv did not listen");
    absl::SleepFor(absl::Milliseconds(20));
  }

  h->api_port_ = edgerouter::testing::PickFreeLoopbackPort();
  h->management_port_ = edgerouter::testing::PickFreeLoopbackPort();
  nlohmann::json config = {{"pebble",
                            {{"listenAddress", absl::StrCat("127.0.0.1:", h->api_port_)},
                             {"managementListenAddress", absl::StrCat("127.0.0.1:", h->management_port_)},
                             {"certificate", work_dir + "/api.pem"},
                             {"privateKey", work_dir + "/api.key"},
                             {"httpPort", http01_port},
                             // No TLS-ALPN-01 here: the client never answers that challenge.
                             {"tlsPort", http01_port},
                             {"ocspResponderURL", ""},
                             {"externalAccountBindingRequired", false}}}};
  if (validity > absl::ZeroDuration()) {
    config["pebble"]["certificateValidityPeriod"] = absl::ToInt64Seconds(validity);
  }
  const std::string config_path = work_dir + "/pebble-config.json";
  std::ofstream(config_path) << config.dump(2);
  absl::StatusOr<std::unique_ptr<Subprocess>> pebble = Subprocess::Start(
      {"/usr/bin/env", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0",
       "/usr/bin/pebble", "-config", config_path, "-dnsserver", absl::StrCat("127.0.0.1:", dns_port)},
      work_dir + "/pebble.log");
  if (!pebble.ok()) return pebble.status();
  h->pebble_ = *std::move(pebble);
  HttpClient http({.ca_file = h->ca_file_, .timeout = absl::Seconds(5)});
  for (absl::Time deadline = absl::Now() + kStartTimeout;;) {
    absl::StatusOr<HttpResponse> r = http.Get(h->directory_url());
    if (r.ok() && r->status == 200) break;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("pebble's directory did not answer; output:\n", h->pebble_->Output()));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return h;
}

std::string PebbleHarness::directory_url() const {
  return absl::StrCat("https://127.0.0.1:", api_port_, "/dir");
}

absl::StatusOr<std::string> PebbleHarness::FetchRootPem() const {
  HttpClient http({.ca_file = ca_file_, .timeout = absl::Seconds(10)});
  const std::string url = absl::StrCat("https://127.0.0.1:", management_port_, "/roots/0");
  absl::StatusOr<HttpResponse> r = http.Get(url);
  if (!r.ok()) return r.status();
  if (r->status != 200) return absl::InternalError(absl::StrCat(url, ": HTTP ", r->status));
  return r->body;
}

absl::Status PebbleHarness::VerifyChain(const std::string& chain_pem, const std::string& root_pem) {
  auto read_all = [](const std::string& pem) {
    STACK_OF(X509)* out = sk_X509_new_null();
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) sk_X509_push(out, x);
    BIO_free(bio);
    return out;
  };
  STACK_OF(X509)* chain = read_all(chain_pem);
  STACK_OF(X509)* roots = read_all(root_pem);
  absl::Status result = absl::OkStatus();
  if (sk_X509_num(chain) < 1 || sk_X509_num(roots) < 1) {
    result = absl::InvalidArgumentError("no certificate in the chain or the root");
  } else {
    X509_STORE* store = X509_STORE_new();
    for (int i = 0; i < sk_X509_num(roots); ++i) X509_STORE_add_cert(store, sk_X509_value(roots, i));
    X509* leaf = sk_X509_shift(chain);  // the rest are the intermediates
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf, chain);
    if (X509_verify_cert(ctx) != 1) {
      result = absl::FailedPreconditionError(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(leaf);
  }
  sk_X509_pop_free(chain, X509_free);
  sk_X509_pop_free(roots, X509_free);
  return result;
}

}  // namespace edgerouter::acme::testing
