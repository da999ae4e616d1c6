// acme_issue: runs the ACME client once against a CA, answering HTTP-01 itself, and reports
// what was issued. A diagnostic for the client and a CA (a local pebble, Let's Encrypt
// staging); the control plane's issuer is the product. The certificate's private key stays in
// memory and is dropped at exit: this tool never writes it anywhere.
//
//   acme_issue --directory=https://127.0.0.1:14000/dir --ca_file=pebble-api-ca.pem \
//     --account_key=acct.pem --email=ops@example.test --http01_listen=127.0.0.1:5002 \
//     [--chain_out=chain.pem] a.example.test [b.example.test …]
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/http_admin_server.h"
#include "controlplane/acme/acme_client.h"

ABSL_FLAG(std::string, directory, "", "ACME directory URL (https://…)");
ABSL_FLAG(std::string, ca_file, "", "PEM trust for the directory's TLS (empty: the system store)");
ABSL_FLAG(std::string, account_key, "",
          "account key PEM file (P-256); created with mode 0600 if missing. Empty: a throwaway key");
ABSL_FLAG(std::string, email, "", "contact email for a new account");
ABSL_FLAG(bool, agree_tos, false, "agree to the CA's terms of service (required by most CAs)");
ABSL_FLAG(std::string, http01_listen, "127.0.0.1:5002",
          "where to answer /.well-known/acme-challenge/ (the CA's validator must reach it on port 80, "
          "or pebble's httpPort)");
ABSL_FLAG(std::string, chain_out, "", "write the issued chain (public) here");
ABSL_FLAG(absl::Duration, timeout, absl::Minutes(2), "give up after this long");

namespace edgerouter::acme {
namespace {

absl::StatusOr<AccountKey> LoadOrCreateAccountKey(const std::string& path) {
  if (path.empty()) return AccountKey::Generate();
  if (access(path.c_str(), F_OK) == 0) return AccountKey::LoadFile(path);
  absl::StatusOr<AccountKey> key = AccountKey::Generate();
  if (!key.ok()) return key.status();
  if (absl::Status s = key->SaveFile(path); !s.ok()) return s;
  std::fprintf(stderr, "created account key %s\n", path.c_str());
  return key;
}

// "<n> certificate(s); leaf: DNS a, b; expires <notAfter>"
std::string DescribeChain(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  std::vector<X509*> certs;
  while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) certs.push_back(x);
  BIO_free(bio);
  if (certs.empty()) return "no certificate";
  std::vector<std::string> names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(certs[0], NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
    if (n->type == GEN_DNS) {
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)),
                         ASN1_STRING_length(n->d.dNSName));
    }
  }
  GENERAL_NAMES_free(sans);
  BIO* out = BIO_new(BIO_s_mem());
  ASN1_TIME_print(out, X509_get0_notAfter(certs[0]));
  char* text = nullptr;
  const long len = BIO_get_mem_data(out, &text);
  std::string expires(text, static_cast<size_t>(len));
  BIO_free(out);
  const size_t count = certs.size();
  for (X509* x : certs) X509_free(x);
  return absl::StrCat(count, " certificate(s); leaf: DNS ", absl::StrJoin(names, ", "), "; expires ",
                      expires);
}

int Run(const std::vector<std::string>& names) {
  absl::StatusOr<AccountKey> key = LoadOrCreateAccountKey(absl::GetFlag(FLAGS_account_key));
  if (!key.ok()) {
    std::fprintf(stderr, "%s\n", std::string(key.status().message()).c_str());
    return 1;
  }
  admin::HttpAdminServer http01;
  if (absl::Status s = http01.Start(absl::GetFlag(FLAGS_http01_listen)); !s.ok()) {
    std::fprintf(stderr, "http-01 listener: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<AcmeClient>> client = AcmeClient::Connect(
      {.directory_url = absl::GetFlag(FLAGS_directory), .ca_file = absl::GetFlag(FLAGS_ca_file)}, *key);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", std::string(client.status().message()).c_str());
    return 1;
  }
  std::vector<std::string> emails;
  if (!absl::GetFlag(FLAGS_email).empty()) emails.push_back(absl::GetFlag(FLAGS_email));
  absl::StatusOr<std::string> account = (*client)->RegisterAccount(
      {.emails = emails, .terms_of_service_agreed = absl::GetFlag(FLAGS_agree_tos)});
  if (!account.ok()) {
    std::fprintf(stderr, "%s\n", std::string(account.status().message()).c_str());
    return 1;
  }
  std::printf("account %s\n", account->c_str());
  Http01Responder responder{
      .present =
          [&http01](const std::vector<Http01Challenge>& challenges) {
            for (const Http01Challenge& c : challenges) {
              http01.Handle(absl::StrCat("/.well-known/acme-challenge/", c.token),
                            [answer = c.key_authorization](const admin::HttpAdminRequest&) {
                              return admin::HttpAdminResponse{.content_type = "application/octet-stream",
                                                              .body = answer};
                            });
              std::printf("answering http-01 for %s\n", c.dns_name.c_str());
            }
            return absl::OkStatus();
          },
      .cleanup =
          [&http01](const std::vector<Http01Challenge>& challenges) {
            for (const Http01Challenge& c : challenges) {
              http01.Handle(
                  absl::StrCat("/.well-known/acme-challenge/", c.token),
                  [](const admin::HttpAdminRequest&) { return admin::HttpAdminResponse{.status = 404}; });
            }
          }};
  const absl::Time start = absl::Now();
  absl::StatusOr<IssuedCertificate> issued =
      (*client)->ObtainCertificate(names, responder, start + absl::GetFlag(FLAGS_timeout));
  if (!issued.ok()) {
    std::fprintf(stderr, "%s\n", std::string(issued.status().message()).c_str());
    if (IsRateLimited(issued.status()) && RetryAfter(issued.status()).has_value()) {
      std::fprintf(stderr, "rate limited: retry in %s\n",
                   absl::FormatDuration(*RetryAfter(issued.status())).c_str());
    }
    return 1;
  }
  std::printf("issued in %s by order %s: %s\n", absl::FormatDuration(absl::Now() - start).c_str(),
              issued->order_url.c_str(), DescribeChain(issued->chain_pem).c_str());
  std::printf("%lld requests to the CA, %lld badNonce retries\n",
              static_cast<long long>((*client)->stats().requests),
              static_cast<long long>((*client)->stats().bad_nonce_retries));
  if (const std::string out = absl::GetFlag(FLAGS_chain_out); !out.empty()) {
    std::ofstream(out) << issued->chain_pem;
    std::printf("chain written to %s (the private key was not kept)\n", out.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace edgerouter::acme

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("acme_issue --directory=URL [flags] NAME [NAME…]: issue once over HTTP-01");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> names(args.begin() + 1, args.end());
  if (absl::GetFlag(FLAGS_directory).empty() || names.empty()) {
    std::fprintf(stderr, "usage: acme_issue --directory=URL [flags] NAME [NAME…] (see --help)\n");
    return 2;
  }
  return edgerouter::acme::Run(names);
}
