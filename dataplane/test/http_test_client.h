// A deliberately simple blocking HTTP/1.1 client for data-plane tests: raw bytes out, one
// response parsed back (Content-Length, chunked, or until close), over plain TCP or TLS.
#ifndef EDGEROUTER_DATAPLANE_TEST_HTTP_TEST_CLIENT_H_
#define EDGEROUTER_DATAPLANE_TEST_HTTP_TEST_CLIENT_H_

#include <map>
#include <string>

typedef struct ssl_st SSL;

namespace edgerouter::testing {

struct HttpResponse {
  int status = 0;  // 0: no response (connection closed / timeout)
  std::string head;
  std::map<std::string, std::string> headers;  // lower-case names; last value wins
  std::string body;
};

class TestConnection {
 public:
  explicit TestConnection(int port, int timeout_ms = 10000);
  ~TestConnection();
  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // A TLS handshake (no verification, `sni` unless empty); from then on bytes go over TLS.
  bool StartTls(const std::string& sni);
  bool Send(const std::string& bytes);
  // Reads one response; `head_request` = no body expected.
  HttpResponse Read(bool head_request = false);
  // Raw read of whatever arrives within the timeout (or until close).
  std::string ReadRaw(size_t max_bytes);
  bool PeerClosed();  // true once the server has closed the connection

 private:
  bool Fill();
  ssize_t ReadSome(char* dst, size_t len);
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string buf_;
};

// One request on a fresh connection: "GET <path> HTTP/1.1", Host header, Connection: close.
HttpResponse Get(int port, const std::string& host, const std::string& path,
                 const std::string& extra_headers = "");

}  // namespace edgerouter::testing

#endif  // EDGEROUTER_DATAPLANE_TEST_HTTP_TEST_CLIENT_H_
