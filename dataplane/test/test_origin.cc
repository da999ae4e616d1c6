// A small origin server for data-plane tests (thread per connection, blocking I/O, HTTP/1.1
// keep-alive). Prints "test origin ready port=N" when listening.
//   GET  /echo...        200, body = the request head exactly as received
//   GET  /bytes/N        200, N bytes of 'x' with Content-Length
//   GET  /chunked/N      200, N bytes of 'y' in 1000-byte chunks
//   POST /upload         reads the body (Content-Length or chunked), answers "bytes=N sum=S"
//   GET  /status/NNN     that status, empty body
//   GET  /hold           answers 200 "released" once /release has been requested (on any
//                        connection, ever), or ends when the client closes: a slow origin the
//                        test releases by an event instead of a timer
//   GET  /release        releases every /hold, now and later; 200 "ok"
//   GET  /close/N        N bytes, no Content-Length, then closes (read-until-close framing)
//   GET  /ws             with "Upgrade: websocket": 101, then echoes every byte back
//   GET  /advertise?m=ID every /static... response advertises "turbocharger: /static ID" from
//                        now on (an empty ID stops it); 200 "ok"
//   GET  /static...      200 "origin <target>", with the advertisement when one is set
//   GET  /healthz        the status /set-health set (200 at start), empty body
//   GET  /set-health/NNN /healthz answers NNN from now on; 200 "ok"
//   GET  /hits           200 "hits=N": requests served so far, these kinds not counted
//   GET  /probes         200 "hits=N": /healthz requests served so far
//   GET  /text/F/N[?h=Name:Value&...]  N bytes of compressible text/plain (ETag "text-N"),
//                        framed F = cl | chunked (16 KB chunks) | close; each h= adds a field
//                        (Content-Type replaces the default); streamed, so N may be gigabytes
// Every response carries "X-Origin: <--name>".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <strings.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>

namespace {

std::string g_name = "origin";
std::atomic<int> g_health{200};
std::atomic<uint64_t> g_hits{0};
std::atomic<uint64_t> g_probes{0};

std::mutex g_advertise_mu;
std::string g_advertise;  // the turbocharger manifest id /static responses advertise

// /release makes this eventfd readable for good: every /hold waits on it and on its client.
int g_release_fd = -1;

// Blocks until /release or until the client closes; true when released.
bool WaitForRelease(int client_fd) {
  pollfd fds[2] = {{g_release_fd, POLLIN, 0}, {client_fd, POLLRDHUP, 0}};
  while (poll(fds, 2, -1) < 0) {
  }
  return (fds[0].revents & POLLIN) != 0;
}

bool ReadMore(int fd, std::string* buf) {
  char tmp[16384];
  ssize_t n = read(fd, tmp, sizeof(tmp));
  if (n <= 0) return false;
  buf->append(tmp, n);
  return true;
}

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += n;
  }
  return true;
}

std::string HeaderValue(const std::string& head, const std::string& name) {
  std::string lower_head = head;
  for (char& c : lower_head) c = static_cast<char>(tolower(c));
  std::string key = "\r\n" + name + ":";
  for (char& c : key) c = static_cast<char>(tolower(c));
  size_t pos = lower_head.find(key);
  if (pos == std::string::npos) return "";
  pos += key.size();
  size_t end = head.find("\r\n", pos);
  std::string v = head.substr(pos, end - pos);
  while (!v.empty() && v.front() == ' ') v.erase(0, 1);
  return v;
}

std::string Response(int status, const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nX-Origin: " + g_name + "\r\n" + extra + "\r\n" + body;
}

// Reads a request body per its framing from `buf` (+ socket); returns false on EOF.
// Bytes [0, n) of /text's body, in pieces of at most 64 KB handed to `emit` (false: stop).
template <typename Emit>
bool TextBody(uint64_t n, Emit emit) {
  std::string piece;
  uint64_t line = 0, sent = 0;
  while (sent < n) {
    piece.clear();
    while (piece.size() < 64 * 1024) {
      piece += "line " + std::to_string(line) + ": the quick brown fox " + std::to_string(line * 7919 % 1000) +
               " jumps over the lazy dog\n";
      ++line;
    }
    piece.resize(std::min<uint64_t>(piece.size(), n - sent));
    sent += piece.size();
    if (!emit(piece)) return false;
  }
  return true;
}

// /text/F/N?h=A:1&h=B:2 -> writes the response; false when the client went away or for close.
bool ServeText(int fd, const std::string& target, bool head_only) {
  const size_t q = target.find('?');
  const std::string path = target.substr(0, q);
  const size_t slash = path.find('/', 6);
  const std::string framing = path.substr(6, slash - 6);
  const uint64_t n = std::strtoull(path.c_str() + slash + 1, nullptr, 10);
  std::string fields, type = "Content-Type: text/plain; charset=utf-8\r\n";
  for (size_t at = q; at != std::string::npos && at < target.size();) {
    const size_t end = target.find('&', at + 1);
    const std::string kv = target.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
    if (kv.rfind("h=", 0) == 0 && kv.find(':') != std::string::npos) {
      const std::string name = kv.substr(2, kv.find(':') - 2);
      const std::string line = name + ": " + kv.substr(kv.find(':') + 1) + "\r\n";
      if (strcasecmp(name.c_str(), "Content-Type") == 0) type = line; else fields += line;
    }
    at = end;
  }
  std::string out = "HTTP/1.1 200 OK\r\nX-Origin: " + g_name + "\r\nETag: \"text-" + std::to_string(n) + "\"\r\n" + type + fields;
  if (framing == "cl") out += "Content-Length: " + std::to_string(n) + "\r\n";
  if (framing == "chunked") out += "Transfer-Encoding: chunked\r\n";
  if (framing == "close") out += "Connection: close\r\n";
  out += "\r\n";
  if (!WriteAll(fd, out)) return false;
  if (head_only) return framing != "close";
  const bool ok = TextBody(n, [&](const std::string& piece) {
    if (framing != "chunked") return WriteAll(fd, piece);
    for (size_t off = 0; off < piece.size(); off += 16384) {
      const std::string c = piece.substr(off, 16384);
      char size[32];
      std::snprintf(size, sizeof(size), "%zx\r\n", c.size());
      if (!WriteAll(fd, size + c + "\r\n")) return false;
    }
    return true;
  });
  if (!ok) return false;
  if (framing == "chunked") return WriteAll(fd, "0\r\n\r\n");
  return framing != "close";
}

bool ReadBody(int fd, const std::string& head, std::string* buf, uint64_t* bytes, uint64_t* sum) {
  *bytes = 0;
  *sum = 0;
  auto take = [&](size_t n) {
    for (size_t i = 0; i < n; ++i) *sum += static_cast<unsigned char>((*buf)[i]);
    *bytes += n;
    buf->erase(0, n);
  };
  std::string cl = HeaderValue(head, "Content-Length");
  if (!cl.empty()) {
    uint64_t remaining = std::strtoull(cl.c_str(), nullptr, 10);
    while (remaining > 0) {
      if (buf->empty() && !ReadMore(fd, buf)) return false;
      size_t n = std::min<uint64_t>(remaining, buf->size());
      take(n);
      remaining -= n;
    }
    return true;
  }
  if (HeaderValue(head, "Transfer-Encoding").find("chunked") == std::string::npos) return true;
  while (true) {
    size_t eol;
    while ((eol = buf->find("\r\n")) == std::string::npos) {
      if (!ReadMore(fd, buf)) return false;
    }
    uint64_t size = std::strtoull(buf->substr(0, eol).c_str(), nullptr, 16);
    buf->erase(0, eol + 2);
    if (size == 0) {
      while ((eol = buf->find("\r\n")) == std::string::npos) {
        if (!ReadMore(fd, buf)) return false;
      }
      buf->erase(0, eol + 2);  // no trailers expected
      return true;
    }
    while (buf->size() < size + 2) {
      if (!ReadMore(fd, buf)) return false;
    }
    take(size);
    buf->erase(0, 2);
  }
}

void Serve(int fd) {
  std::string buf;
  while (true) {
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore(fd, &buf)) {
        close(fd);
        return;
      }
    }
    const std::string head = buf.substr(0, end + 4);
    buf.erase(0, end + 4);
    const size_t sp1 = head.find(' ');
    const size_t sp2 = head.find(' ', sp1 + 1);
    const std::string method = head.substr(0, sp1);
    const std::string target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    // One line per request received, so tests can prove what did (not) reach the origin.
    std::printf("request %s %s\n", method.c_str(), target.c_str());
    std::fflush(stdout);
    uint64_t bytes = 0, sum = 0;
    if (target == "/early") {  // answers before reading the request body, then closes
      WriteAll(fd, Response(413, "early\n", "Connection: close\r\n"));
      break;
    }
    if (!ReadBody(fd, head, &buf, &bytes, &sum)) break;
    if (target != "/hits" && target != "/probes" && target != "/healthz" && target.rfind("/set-health/", 0) != 0) g_hits++;
    std::string out;
    bool close_after = false;
    if (target.rfind("/ws", 0) == 0 && !HeaderValue(head, "Upgrade").empty()) {
      WriteAll(fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Origin: " +
                       g_name + "\r\n\r\n");
      if (!buf.empty() && !WriteAll(fd, buf)) break;
      char tmp[16384];
      ssize_t n;
      while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
        if (!WriteAll(fd, std::string(tmp, n))) break;
      }
      break;
    } else if (target.rfind("/text/", 0) == 0) {
      if (!ServeText(fd, target, method == "HEAD")) break;
      continue;
    } else if (target.rfind("/bytes/", 0) == 0) {
      out = Response(200, std::string(std::strtoull(target.c_str() + 7, nullptr, 10), 'x'));
    } else if (target.rfind("/chunked/", 0) == 0) {
      uint64_t n = std::strtoull(target.c_str() + 9, nullptr, 10);
      out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Origin: " + g_name + "\r\n\r\n";
      if (!WriteAll(fd, out)) break;
      out.clear();
      while (n > 0) {
        uint64_t c = std::min<uint64_t>(n, 1000);
        char size[32];
        std::snprintf(size, sizeof(size), "%llx\r\n", static_cast<unsigned long long>(c));
        if (!WriteAll(fd, size + std::string(c, 'y') + "\r\n")) break;
        n -= c;
      }
      out = "0\r\n\r\n";
    } else if (target.rfind("/upload", 0) == 0) {
      out = Response(200, "bytes=" + std::to_string(bytes) + " sum=" + std::to_string(sum) + "\n");
    } else if (target == "/hop") {  // hop-by-hop fields, one of them nominated by Connection
      out = Response(200, "hop\n", "Connection: keep-alive, X-Hop-Secret\r\nX-Hop-Secret: 1\r\nKeep-Alive: timeout=5\r\n"
                                    "Proxy-Authenticate: Basic\r\nUpgrade: h2c\r\nX-Kept: yes\r\n"
                                    "Connection: X-Hop-Second, Content-Length\r\nX-Hop-Second: 2\r\n");
    } else if (target.rfind("/cl-close/", 0) == 0) {  // Content-Length body, then the origin closes
      out = Response(200, std::string(std::strtoull(target.c_str() + 10, nullptr, 10), 'c'), "Connection: close\r\n");
      close_after = true;
    } else if (target == "/ka-close") {  // a keep-alive answer, and the origin closes anyway
      out = Response(200, "kac\n");
      close_after = true;
    } else if (target == "/healthz") {
      g_probes++;
      out = Response(g_health.load(), "");
    } else if (target == "/probes") {
      out = Response(200, "hits=" + std::to_string(g_probes.load()));
    } else if (target.rfind("/set-health/", 0) == 0) {
      g_health = std::atoi(target.c_str() + 12);
      out = Response(200, "ok\n");
    } else if (target == "/hits") {
      out = Response(200, "hits=" + std::to_string(g_hits.load()));
    } else if (target.rfind("/status/", 0) == 0) {
      out = Response(std::atoi(target.c_str() + 8), "");
    } else if (target == "/hold") {
      if (!WaitForRelease(fd)) break;
      out = Response(200, "released\n");
    } else if (target == "/release") {
      const uint64_t one = 1;
      (void)!write(g_release_fd, &one, sizeof(one));
      out = Response(200, "ok\n");
    } else if (target.rfind("/advertise?m=", 0) == 0) {
      std::lock_guard<std::mutex> lock(g_advertise_mu);
      g_advertise = target.substr(13);
      out = Response(200, "ok\n");
    } else if (target.rfind("/static", 0) == 0) {
      std::lock_guard<std::mutex> lock(g_advertise_mu);
      out = Response(200, "origin " + target,
                     g_advertise.empty() ? "" : "turbocharger: /static " + g_advertise + "\r\n");
    } else if (target.rfind("/close/", 0) == 0) {
      out = "HTTP/1.1 200 OK\r\nX-Origin: " + g_name + "\r\nConnection: close\r\n\r\n" +
            std::string(std::strtoull(target.c_str() + 7, nullptr, 10), 'z');
      close_after = true;
    } else {
      out = Response(200, head);
    }
    if (method == "HEAD") {
      out = out.substr(0, out.find("\r\n\r\n") + 4);
    }
    if (!WriteAll(fd, out) || close_after) {
      if (close_after) {  // so tests can wait for the origin to be gone
        close(fd);
        std::printf("closed %s\n", target.c_str());
        std::fflush(stdout);
        return;
      }
      break;
    }
    if (HeaderValue(head, "Connection") == "close") break;
  }
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  g_release_fd = eventfd(0, EFD_CLOEXEC);
  std::string listen_host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--port=", 0) == 0) port = std::atoi(a.c_str() + 7);
    if (a.rfind("--name=", 0) == 0) g_name = a.substr(7);
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, listen_host.c_str(), &addr.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 1024) != 0) {
    std::perror("listen");
    return 1;
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("test origin ready port=%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  while (true) {
    int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::thread(Serve, c).detach();
  }
}
