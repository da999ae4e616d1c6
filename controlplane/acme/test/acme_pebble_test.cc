// The ACME client against a real pebble: the test serves HTTP-01 answers itself on the port
// pebble validates, and checks what pebble issues against pebble's own root.
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/http_admin_server.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "controlplane/acme/acme_client.h"
#include "controlplane/acme/acme_csr.h"
#include "controlplane/acme/test/pebble_harness.h"
#include "gtest/gtest.h"

namespace edgerouter::acme {
namespace {

using admin::HttpAdminRequest;
using admin::HttpAdminResponse;

constexpr absl::Duration kOrderTimeout = absl::Seconds(60);

// What the tests' HTTP-01 server answers, and what pebble asked it.
struct ChallengeLog {
  absl::Mutex mu;
  std::set<std::string> presented ABSL_GUARDED_BY(mu);  // dns names
  std::set<std::string> cleaned ABSL_GUARDED_BY(mu);
  int validation_gets ABSL_GUARDED_BY(mu) = 0;
  int present_calls ABSL_GUARDED_BY(mu) = 0;
};

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::vector<X509Ptr> ParseChain(const std::string& pem) {
  std::vector<X509Ptr> out;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) out.emplace_back(x);
  BIO_free(bio);
  return out;
}

std::set<std::string> DnsSans(X509* cert) {
  std::set<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS) {
      out.emplace(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)),
                  ASN1_STRING_length(n->d.dNSName));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

class AcmePebbleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    const std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/pebble");
    ASSERT_EQ(system(absl::StrCat("mkdir -p ", dir).c_str()), 0);
    http01_ = new admin::HttpAdminServer();
    const int port = edgerouter::testing::PickFreeLoopbackPort();
    ASSERT_TRUE(http01_->Start(absl::StrCat("127.0.0.1:", port)).ok());
    absl::StatusOr<std::unique_ptr<testing::PebbleHarness>> pebble = testing::PebbleHarness::Start(dir, port);
    ASSERT_TRUE(pebble.ok()) << pebble.status();
    pebble_ = pebble->release();
  }
  static void TearDownTestSuite() {
    delete pebble_;  // kills pebble and pebble-challtestsrv
    pebble_ = nullptr;
    delete http01_;
    http01_ = nullptr;
  }

  static AcmeClientOptions Options() {
    return {.directory_url = pebble_->directory_url(),
            .ca_file = pebble_->ca_file(),
            .poll_interval = absl::Milliseconds(100),
            .poll_max_interval = absl::Seconds(1)};
  }

  static std::unique_ptr<AcmeClient> Connect(AccountKey key) {
    absl::StatusOr<std::unique_ptr<AcmeClient>> client = AcmeClient::Connect(Options(), std::move(key));
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  static std::unique_ptr<AcmeClient> ConnectWithNewAccount() {
    absl::StatusOr<AccountKey> key = AccountKey::Generate();
    EXPECT_TRUE(key.ok());
    std::unique_ptr<AcmeClient> client = Connect(*key);
    if (client == nullptr) return nullptr;
    absl::StatusOr<std::string> account =
        client->RegisterAccount({.emails = {"ops@example.test"}, .terms_of_service_agreed = true});
    EXPECT_TRUE(account.ok()) << account.status();
    return client;
  }

  // Serves answers only for names in `served`; the others get pebble's GETs answered 404.
  Http01Responder Responder(std::set<std::string> served) {
    return {.present =
                [this, served](const std::vector<Http01Challenge>& challenges) {
                  absl::MutexLock lock(&log_.mu);
                  ++log_.present_calls;
                  for (const Http01Challenge& c : challenges) {
                    log_.presented.insert(c.dns_name);
                    if (!served.contains(c.dns_name)) continue;
                    http01_->Handle(absl::StrCat("/.well-known/acme-challenge/", c.token),
                                    [this, answer = c.key_authorization](const HttpAdminRequest&) {
                                      absl::MutexLock lock(&log_.mu);
                                      ++log_.validation_gets;
                                      return HttpAdminResponse{.content_type = "application/octet-stream",
                                                               .body = answer};
                                    });
                  }
                  return absl::OkStatus();
                },
            .cleanup =
                [this](const std::vector<Http01Challenge>& challenges) {
                  absl::MutexLock lock(&log_.mu);
                  for (const Http01Challenge& c : challenges) {
                    http01_->Handle(absl::StrCat("/.well-known/acme-challenge/", c.token),
                                    [](const HttpAdminRequest&) { return HttpAdminResponse{.status = 404}; });
                    log_.cleaned.insert(c.dns_name);
                  }
                }};
  }

  // The chain verifies up to pebble's root (fetched from its management port), the leaf names
  // exactly `names`, and its public key is the one generated for it.
  static void ExpectIssuedFor(const IssuedCertificate& issued, const std::set<std::string>& names) {
    std::vector<X509Ptr> chain = ParseChain(issued.chain_pem);
    ASSERT_GE(chain.size(), 2u) << issued.chain_pem;
    absl::StatusOr<std::string> root_pem = pebble_->FetchRootPem();
    ASSERT_TRUE(root_pem.ok()) << root_pem.status();
    std::vector<X509Ptr> roots = ParseChain(*root_pem);
    ASSERT_EQ(roots.size(), 1u);

    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, roots[0].get());
    STACK_OF(X509)* intermediates = sk_X509_new_null();
    for (size_t i = 1; i < chain.size(); ++i) sk_X509_push(intermediates, chain[i].get());
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, chain[0].get(), intermediates);
    const int verified = X509_verify_cert(ctx);
    EXPECT_EQ(verified, 1) << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
    X509_STORE_CTX_free(ctx);
    sk_X509_free(intermediates);
    X509_STORE_free(store);

    EXPECT_EQ(DnsSans(chain[0].get()), names);
    ASSERT_NE(issued.key, nullptr);
    EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(chain[0].get()), issued.key.get()), 1);
    EXPECT_FALSE(issued.order_url.empty());
  }

  static inline admin::HttpAdminServer* http01_ = nullptr;
  static inline testing::PebbleHarness* pebble_ = nullptr;
  ChallengeLog log_;
};

TEST_F(AcmePebbleTest, IssuesForOneNameServedByTheTest) {
  std::unique_ptr<AcmeClient> client = ConnectWithNewAccount();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<IssuedCertificate> issued = client->ObtainCertificate(
      {"a.example.test"}, Responder({"a.example.test"}), absl::Now() + kOrderTimeout);
  ASSERT_TRUE(issued.ok()) << issued.status() << "\n" << pebble_->PebbleOutput();
  ExpectIssuedFor(*issued, {"a.example.test"});
  absl::MutexLock lock(&log_.mu);
  EXPECT_EQ(log_.presented, std::set<std::string>{"a.example.test"});
  EXPECT_EQ(log_.cleaned, std::set<std::string>{"a.example.test"});
  EXPECT_GE(log_.validation_gets, 1);  // pebble really fetched the answer from us
  // The key is handed over in memory, as PKCS#8 PEM when asked.
  absl::StatusOr<std::string> key_pem = PrivateKeyToPem(issued->key.get());
  ASSERT_TRUE(key_pem.ok());
  EXPECT_TRUE(absl::StartsWith(*key_pem, "-----BEGIN PRIVATE KEY-----"));
}

TEST_F(AcmePebbleTest, UnservedChallengeFailsWithPebblesReason) {
  std::unique_ptr<AcmeClient> client = ConnectWithNewAccount();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<IssuedCertificate> issued =
      client->ObtainCertificate({"unserved.example.test"}, Responder({}), absl::Now() + kOrderTimeout);
  ASSERT_FALSE(issued.ok());
  const std::string message(issued.status().message());
  EXPECT_EQ(issued.status().code(), absl::StatusCode::kFailedPrecondition) << message;
  EXPECT_NE(message.find("authorization for unserved.example.test"), std::string::npos) << message;
  EXPECT_NE(message.find("is invalid: http-01 https://127.0.0.1:"), std::string::npos) << message;
  // pebble's own problem: its type and its detail (the 404 our server answered).
  EXPECT_EQ(ProblemType(issued.status()), absl::StrCat(kAcmeErrorPrefix, "unauthorized"));
  EXPECT_NE(message.find("urn:ietf:params:acme:error:unauthorized: Non-200 status code from HTTP: "
                         "http://unserved.example.test:"),
            std::string::npos)
      << message;
  EXPECT_TRUE(absl::EndsWith(message, "returned 404")) << message;
  absl::MutexLock lock(&log_.mu);
  EXPECT_EQ(log_.cleaned, std::set<std::string>{"unserved.example.test"});
}

TEST_F(AcmePebbleTest, OneUnservedNameFailsTheOrderAndNamesIt) {
  std::unique_ptr<AcmeClient> client = ConnectWithNewAccount();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<IssuedCertificate> issued =
      client->ObtainCertificate({"ok.example.test", "refused.example.test"}, Responder({"ok.example.test"}),
                                absl::Now() + kOrderTimeout);
  ASSERT_FALSE(issued.ok());
  EXPECT_NE(issued.status().message().find("authorization for refused.example.test"), std::string::npos)
      << issued.status();
  EXPECT_EQ(ProblemType(issued.status()), absl::StrCat(kAcmeErrorPrefix, "unauthorized"));
}

TEST_F(AcmePebbleTest, TwoNamesInOneOrder) {
  std::unique_ptr<AcmeClient> client = ConnectWithNewAccount();
  ASSERT_NE(client, nullptr);
  const std::set<std::string> names = {"c1.example.test", "c2.example.test"};
  absl::StatusOr<IssuedCertificate> issued = client->ObtainCertificate(
      {"c1.example.test", "c2.example.test"}, Responder(names), absl::Now() + kOrderTimeout);
  ASSERT_TRUE(issued.ok()) << issued.status();
  ExpectIssuedFor(*issued, names);
  absl::MutexLock lock(&log_.mu);
  EXPECT_EQ(log_.presented, names);
  EXPECT_EQ(log_.present_calls, 1);  // both answers handed over in one call
  EXPECT_EQ(log_.cleaned, names);
}

TEST_F(AcmePebbleTest, SavedAccountKeyFindsTheSameAccount) {
  absl::StatusOr<AccountKey> key = AccountKey::Generate();
  ASSERT_TRUE(key.ok());
  std::string first_url;
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/account-key.pem");
  {
    std::unique_ptr<AcmeClient> client = Connect(*key);
    ASSERT_NE(client, nullptr);
    // Nothing registered yet for this key: the lookup must not create an account.
    absl::StatusOr<std::string> missing = client->FindAccount();
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
    EXPECT_EQ(ProblemType(missing.status()), absl::StrCat(kAcmeErrorPrefix, "accountDoesNotExist"));
    absl::StatusOr<std::string> created =
        client->RegisterAccount({.emails = {"ops@example.test"}, .terms_of_service_agreed = true});
    ASSERT_TRUE(created.ok()) << created.status();
    first_url = *created;
    ASSERT_TRUE(key->SaveFile(path).ok());
  }
  // A second run: the key from the file, the account looked up, never created again.
  absl::StatusOr<AccountKey> loaded = AccountKey::LoadFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::unique_ptr<AcmeClient> client = Connect(*loaded);
  ASSERT_NE(client, nullptr);
  absl::StatusOr<std::string> found = client->FindAccount();
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, first_url);
  absl::StatusOr<std::string> again = client->RegisterAccount({.terms_of_service_agreed = true});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, first_url);
  // And the found account can order.
  absl::StatusOr<IssuedCertificate> issued = client->ObtainCertificate(
      {"d.example.test"}, Responder({"d.example.test"}), absl::Now() + kOrderTimeout);
  ASSERT_TRUE(issued.ok()) << issued.status();
  ExpectIssuedFor(*issued, {"d.example.test"});
}

// What a replica taking over the issuer does: the same account (key from PEM, e.g. kept in the
// event log), the order resumed from its URL, then the remaining steps one by one.
TEST_F(AcmePebbleTest, AnotherClientResumesAnOrderFromItsUrl) {
  std::unique_ptr<AcmeClient> first = ConnectWithNewAccount();
  ASSERT_NE(first, nullptr);
  absl::StatusOr<AcmeOrder> placed = first->NewOrder({"resume.example.test"});
  ASSERT_TRUE(placed.ok()) << placed.status();
  ASSERT_EQ(placed->status, "pending");
  absl::StatusOr<std::string> pem = first->account_key().ToPem();
  ASSERT_TRUE(pem.ok());
  first.reset();

  absl::StatusOr<AccountKey> key = AccountKey::FromPem(*pem);
  ASSERT_TRUE(key.ok());
  std::unique_ptr<AcmeClient> second = Connect(*key);
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(second->FindAccount().ok());
  absl::StatusOr<AcmeOrder> order = second->FetchOrder(placed->url);
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->authorizations, placed->authorizations);
  const absl::Time deadline = absl::Now() + kOrderTimeout;
  ASSERT_TRUE(second->AuthorizeHttp01(*order, Responder({"resume.example.test"}), deadline).ok());
  absl::StatusOr<EvpPkeyPtr> cert_key = GenerateP256Key();
  ASSERT_TRUE(cert_key.ok());
  absl::StatusOr<std::string> csr = MakeCsrDer(cert_key->get(), {"resume.example.test"});
  ASSERT_TRUE(csr.ok());
  absl::StatusOr<AcmeOrder> done = second->Finalize(*order, *csr, deadline);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->status, "valid");
  absl::StatusOr<std::string> chain = second->DownloadCertificate(done->certificate);
  ASSERT_TRUE(chain.ok()) << chain.status();
  ExpectIssuedFor(IssuedCertificate{*chain, *std::move(cert_key), done->url}, {"resume.example.test"});
}

TEST_F(AcmePebbleTest, StaleNonceIsRetriedOnce) {
  std::unique_ptr<AcmeClient> client = ConnectWithNewAccount();
  ASSERT_NE(client, nullptr);
  client->SetNonceForTest("bm90LWEtbm9uY2U");
  absl::StatusOr<AcmeOrder> order = client->NewOrder({"nonce.example.test"});
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->status, "pending");
  EXPECT_EQ(order->dns_names, std::vector<std::string>{"nonce.example.test"});
  EXPECT_EQ(client->stats().bad_nonce_retries, 1);
}

TEST_F(AcmePebbleTest, RefusedIdentifierNamesTheRequestAndTheProblem) {
  std::unique_ptr<AcmeClient> client = ConnectWithNewAccount();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<AcmeOrder> order = client->NewOrder({"ok.example.test", "*.*.example.test"});
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ProblemType(order.status()), absl::StrCat(kAcmeErrorPrefix, "malformed"));
  const std::string message(order.status().message());
  EXPECT_TRUE(absl::StartsWith(message, absl::StrCat("newOrder for ok.example.test, *.*.example.test at ",
                                                     client->directory().new_order, ": ", kAcmeErrorPrefix)))
      << message;
  // pebble's detail, and the HTTP status.
  EXPECT_NE(message.find("illegal wildcard value: too many wildcards \"*.*.example.test\" (HTTP 400)"),
            std::string::npos)
      << message;
}

TEST_F(AcmePebbleTest, PassedDeadlineStopsBeforeAnyChallenge) {
  std::unique_ptr<AcmeClient> client = ConnectWithNewAccount();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<IssuedCertificate> issued =
      client->ObtainCertificate({"late.example.test"}, Responder({"late.example.test"}), absl::Now());
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.status().code(), absl::StatusCode::kDeadlineExceeded) << issued.status();
  EXPECT_NE(issued.status().message().find("late.example.test"), std::string::npos) << issued.status();
  absl::MutexLock lock(&log_.mu);
  EXPECT_TRUE(log_.presented.empty());
}

// The diagnostic tool, on the port pebble validates (the suite's own responder steps aside).
TEST_F(AcmePebbleTest, AcmeIssueToolIssues) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  const int port = http01_->port();
  http01_->Stop();
  absl::StatusOr<std::unique_ptr<Subprocess>> tool = Subprocess::Start(
      {edgerouter::testing::RunfilePath("controlplane/acme/acme_issue"),
       absl::StrCat("--directory=", pebble_->directory_url()), absl::StrCat("--ca_file=", pebble_->ca_file()),
       absl::StrCat("--account_key=", dir, "/tool-account.pem"), "--email=ops@example.test", "--agree_tos",
       absl::StrCat("--http01_listen=127.0.0.1:", port), absl::StrCat("--chain_out=", dir, "/tool-chain.pem"),
       "tool.example.test"});
  ASSERT_TRUE(tool.ok()) << tool.status();
  absl::StatusOr<int> exit = (*tool)->Wait(kOrderTimeout);
  ASSERT_TRUE(http01_->Start(absl::StrCat("127.0.0.1:", port)).ok());
  ASSERT_TRUE(exit.ok()) << exit.status();
  const std::string output = (*tool)->Output();
  EXPECT_EQ(*exit, 0) << output;
  EXPECT_NE(output.find("answering http-01 for tool.example.test"), std::string::npos) << output;
  EXPECT_NE(output.find("leaf: DNS tool.example.test; expires"), std::string::npos) << output;
  EXPECT_NE(output.find("0 badNonce retries"), std::string::npos) << output;
  EXPECT_EQ(ParseChain(edgerouter::testing::ReadFileOrDie(dir + "/tool-chain.pem")).size(), 2u);
  // The account key was created (private), the certificate key was not written anywhere.
  absl::StatusOr<AccountKey> account = AccountKey::LoadFile(dir + "/tool-account.pem");
  EXPECT_TRUE(account.ok()) << account.status();
}

TEST_F(AcmePebbleTest, UntrustedDirectoryIsRefused) {
  absl::StatusOr<AccountKey> key = AccountKey::Generate();
  ASSERT_TRUE(key.ok());
  AcmeClientOptions options = Options();
  options.ca_file = "";  // the system store does not know pebble's API CA
  absl::StatusOr<std::unique_ptr<AcmeClient>> client = AcmeClient::Connect(options, *key);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(client.status().message().find(pebble_->directory_url()), std::string::npos) << client.status();
}

}  // namespace
}  // namespace edgerouter::acme
