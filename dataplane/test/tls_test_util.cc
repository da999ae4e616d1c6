#include "dataplane/test/tls_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/subprocess.h"

namespace edgerouter::testing {

std::string Shell(const std::string& script, absl::Duration timeout) {
  auto p = Subprocess::Start({"/bin/sh", "-c", absl::StrCat("(", script, ") 2>&1; echo \"EXIT=$?\"")});
  if (!p.ok()) return "cannot start sh";
  auto done = (*p)->WaitForLine("EXIT=", timeout);
  return (*p)->Output() + (done.ok() ? "" : "\n(timeout)");
}

std::string MakeCaScript(const std::string& name) {
  return absl::StrCat("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ", name,
                      ".key -out ", name, ".pem -days 2 -subj /CN=", name, " 2>/dev/null; ");
}

std::string MakeLeafScript(const std::string& name, const std::string& cn, const std::string& ca,
                           const std::string& extensions, const std::string& key) {
  return absl::StrCat("openssl req -newkey ", key, " -nodes -keyout ", name,
                      ".key -out ", name, ".csr -subj '/CN=", cn, "' 2>/dev/null; printf '", extensions, "\\n' > ",
                      name, ".ext; openssl x509 -req -in ", name, ".csr -CA ", ca, ".pem -CAkey ", ca,
                      ".key -CAcreateserial -out ", name, ".crt -days 2 -extfile ", name, ".ext 2>/dev/null; cat ",
                      name, ".crt ", name, ".key > ", name, ".pem; ");
}

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

}  // namespace edgerouter::testing
