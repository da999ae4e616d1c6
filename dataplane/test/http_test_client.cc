#include "dataplane/test/http_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdlib>

namespace edgerouter::testing {

TestConnection::TestConnection(int port, int timeout_ms) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd_);
    fd_ = -1;
  }
}

TestConnection::~TestConnection() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (fd_ >= 0) close(fd_);
}

bool TestConnection::StartTls(const std::string& sni) {
  static SSL_CTX* const ctx = [] {
    SSL_CTX* c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    return c;
  }();
  if (fd_ < 0 || ssl_ != nullptr) return false;
  ssl_ = SSL_new(ctx);
  SSL_set_fd(ssl_, fd_);
  if (!sni.empty()) SSL_set_tlsext_host_name(ssl_, sni.c_str());
  return SSL_connect(ssl_) == 1;
}

bool TestConnection::Send(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ssl_ != nullptr ? SSL_write(ssl_, bytes.data() + off, static_cast<int>(bytes.size() - off))
                                : send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += n;
  }
  return true;
}

ssize_t TestConnection::ReadSome(char* dst, size_t len) {
  if (ssl_ == nullptr) return read(fd_, dst, len);
  const int n = SSL_read(ssl_, dst, static_cast<int>(len));
  if (n > 0) return n;
  // End of stream: close_notify, or the TCP end without it (as the plain read would say).
  const int err = SSL_get_error(ssl_, n);
  const bool eof = err == SSL_ERROR_ZERO_RETURN ||
                   (err == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
  ERR_clear_error();
  return eof ? 0 : -1;
}

bool TestConnection::Fill() {
  char tmp[65536];
  ssize_t n = ReadSome(tmp, sizeof(tmp));
  if (n <= 0) return false;
  buf_.append(tmp, n);
  return true;
}

HttpResponse TestConnection::Read(bool head_request) {
  HttpResponse r;
  size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill()) return r;
  }
  r.head = buf_.substr(0, end + 4);
  buf_.erase(0, end + 4);
  r.status = std::atoi(r.head.c_str() + 9);
  size_t pos = r.head.find("\r\n") + 2;
  while (pos < r.head.size() - 2) {
    size_t eol = r.head.find("\r\n", pos);
    std::string line = r.head.substr(pos, eol - pos);
    size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(tolower(c));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers[name] = value;
    pos = eol + 2;
  }
  if (head_request || r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200)) return r;
  if (r.headers.count("content-length")) {
    size_t n = std::strtoull(r.headers["content-length"].c_str(), nullptr, 10);
    while (buf_.size() < n) {
      if (!Fill()) {
        r.status = 0;
        return r;
      }
    }
    r.body = buf_.substr(0, n);
    buf_.erase(0, n);
  } else if (r.headers["transfer-encoding"] == "chunked") {
    while (true) {
      size_t eol;
      while ((eol = buf_.find("\r\n")) == std::string::npos) {
        if (!Fill()) {
          r.status = 0;
          return r;
        }
      }
      size_t size = std::strtoull(buf_.substr(0, eol).c_str(), nullptr, 16);
      buf_.erase(0, eol + 2);
      while (buf_.size() < size + 2) {
        if (!Fill()) {
          r.status = 0;
          return r;
        }
      }
      if (size == 0) {
        buf_.erase(0, 2);
        break;
      }
      r.body += buf_.substr(0, size);
      buf_.erase(0, size + 2);
    }
  } else {
    while (Fill()) {
    }
    r.body = buf_;
    buf_.clear();
  }
  return r;
}

std::string TestConnection::ReadRaw(size_t max_bytes) {
  while (buf_.size() < max_bytes && Fill()) {
  }
  std::string out = buf_.substr(0, max_bytes);
  buf_.erase(0, out.size());
  return out;
}

bool TestConnection::PeerClosed() {
  if (!buf_.empty()) return false;
  char c;
  ssize_t n = ReadSome(&c, 1);
  if (n > 0) {
    buf_.push_back(c);
    return false;
  }
  return n == 0;
}

HttpResponse Get(int port, const std::string& host, const std::string& path, const std::string& extra_headers) {
  TestConnection conn(port);
  if (!conn.ok()) return {};
  conn.Send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n" + extra_headers + "\r\n");
  return conn.Read();
}

}  // namespace edgerouter::testing
