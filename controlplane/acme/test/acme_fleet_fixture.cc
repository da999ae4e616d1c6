#include "controlplane/acme/test/acme_fleet_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <unistd.h>

#include "absl/strings/escaping.h"

namespace edgerouter::testing {

std::string Sh(const std::string& command) {
  auto p = Subprocess::Start({"/bin/sh", "-c", command + "; echo EXIT=$?"});
  if (!p.ok()) return p.status().ToString();
  (void)(*p)->Wait(absl::Seconds(60));
  return (*p)->Output();
}

std::string LogField(const std::string& line, const std::string& key) {
  const size_t at = line.find(" " + key + "=");
  if (at == std::string::npos) return "";
  const size_t start = at + key.size() + 2;
  return line.substr(start, line.find(' ', start) - start);
}

int PortOf(const std::string& line, const std::string& key) {
  const std::string v = LogField(line, key);
  return v.empty() ? 0 : std::stoi(v.substr(v.rfind(':') + 1));
}

std::string App(const std::string& id, const std::string& frontend) {
  return absl::StrCat(R"({"id":")", id, R"(","frontends":[)", frontend,
                      R"(],"backend":{"kind":"redirect","redirect_opts":{"to":"https://elsewhere.test/"}}})");
}

absl::StatusOr<std::string> VerifiedLeaf(SSL_CTX* ctx, int port, const std::string& sni) {
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
  SSL_set_tlsext_host_name(ssl, sni.c_str());
  SSL_set1_host(ssl, sni.c_str());
  absl::StatusOr<std::string> result = absl::InternalError("handshake failed");
  if (SSL_connect(ssl) == 1 && SSL_get_verify_result(ssl) == X509_V_OK) {
    X509* leaf = SSL_get1_peer_certificate(ssl);
    unsigned char md[32];
    unsigned int n = 0;
    X509_digest(leaf, EVP_sha256(), md, &n);
    X509_free(leaf);
    result = absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(md), n));
    SSL_shutdown(ssl);
  } else {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    result = absl::InternalError(absl::StrCat(buf, " verify=", SSL_get_verify_result(ssl)));
  }
  ERR_clear_error();
  SSL_free(ssl);
  close(fd);
  return result;
}


}  // namespace edgerouter::testing
