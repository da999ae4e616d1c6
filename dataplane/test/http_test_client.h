// A deliberately simple blocking HTTP/1.1 client for data-plane tests: raw bytes out, one
// response parsed back (Content-Length, chunked, or until close).
#ifndef EDGEROUTER_DATAPLANE_TEST_HTTP_TEST_CLIENT_H_
#define EDGEROUTER_DATAPLANE_TEST_HTTP_TEST_CLIENT_H_

#include <map>
#include <string>

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
  bool Send(const std::string& bytes);
  // Reads one response; `head_request` = no body expected.
  HttpResponse Read(bool head_request = false);
  // Raw read of whatever arrives within the timeout (or until close).
  std::string ReadRaw(size_t max_bytes);
  bool PeerClosed();  // true once the server has closed the connection

 private:
  bool Fill();
  int fd_ = -1;
  std::string buf_;
};

// One request on a fresh connection: "GET <path> HTTP/1.1", Host header, Connection: close.
HttpResponse Get(int port, const std::string& host, const std::string& path,
                 const std::string& extra_headers = "");

}  // namespace edgerouter::testing

#endif  // EDGEROUTER_DATAPLANE_TEST_HTTP_TEST_CLIENT_H_
