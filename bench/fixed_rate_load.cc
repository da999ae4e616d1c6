// Open-loop HTTP/1.1 load at a fixed offered rate, for latency compared at equal load (wrk is
// closed-loop: a slower proxy is offered less work and its percentiles flatter it). Request i is
// due at start + i/rate and its latency counts from then, so a stall shows up in every request
// it delays (no coordinated omission). Keep-alive connections, one thread, epoll.
//
//   fixed_rate_load --target=127.0.0.1:8080 --host=bench.local --rate=5000 --connections=32
//                   --duration_s=10 [--path=/ --warmup_s=1]
// Prints one line: "rate=… sent=… errors=… p50_ms=… p90_ms=… p99_ms=… p999_ms=… max_ms=…".
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "common/net/host_port.h"

ABSL_FLAG(std::string, target, "127.0.0.1:8080", "host:port to connect to (loopback)");
ABSL_FLAG(std::string, host, "bench.local", "Host header");
ABSL_FLAG(std::string, path, "/", "request path");
ABSL_FLAG(double, rate, 1000, "requests per second offered");
ABSL_FLAG(int, connections, 32, "keep-alive connections");
ABSL_FLAG(double, duration_s, 10, "measured seconds");
ABSL_FLAG(double, warmup_s, 1, "seconds sent first and not measured");
ABSL_FLAG(std::string, timeline, "",
          "if set, a file that gets one line per measured request: due time (µs after the "
          "measured part began), latency (µs), connection index (to see whether slow requests "
          "cluster in time)");

namespace {

int64_t NowNs() { return absl::GetCurrentTimeNanos(); }

struct Conn {
  int fd = -1;
  bool busy = false;
  int64_t due_ns = 0;  // when the request in flight was due
  bool measured = false;
  std::string in;
};

// Complete response at the front of `in`: its length, status; 0 when more bytes are needed.
size_t ResponseLength(const std::string& in, int* status) {
  const size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  absl::string_view head(in.data(), end);
  if (head.size() < 12 || !absl::SimpleAtoi(head.substr(9, 3), status)) return std::string::npos;
  uint64_t length = 0;
  for (size_t pos = head.find("\r\n"); pos != absl::string_view::npos; pos = head.find("\r\n", pos + 2)) {
    absl::string_view line = head.substr(pos + 2, head.find("\r\n", pos + 2) - pos - 2);
    if (line.size() > 15 && absl::EqualsIgnoreCase(line.substr(0, 15), "content-length:")) {
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(15)), &length)) return std::string::npos;
    }
  }
  const size_t total = end + 4 + length;
  return in.size() >= total ? total : 0;
}

int Connect(const sockaddr_in& addr) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto hp = edgerouter::net::SplitHostPort(absl::GetFlag(FLAGS_target));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (!hp.ok() || hp->port == 0 || inet_pton(AF_INET, std::string(hp->host).c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "--target must be an IPv4 host:port\n");
    return 2;
  }
  addr.sin_port = htons(hp->port);
  const std::string request = absl::StrCat("GET ", absl::GetFlag(FLAGS_path), " HTTP/1.1\r\nHost: ",
                                           absl::GetFlag(FLAGS_host), "\r\n\r\n");
  const double rate = absl::GetFlag(FLAGS_rate);
  const int64_t interval_ns = static_cast<int64_t>(1e9 / rate);
  const int64_t start = NowNs();
  const int64_t measure_from = start + static_cast<int64_t>(absl::GetFlag(FLAGS_warmup_s) * 1e9);
  const int64_t end = measure_from + static_cast<int64_t>(absl::GetFlag(FLAGS_duration_s) * 1e9);

  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> conns(absl::GetFlag(FLAGS_connections));
  std::vector<int> idle;
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = Connect(addr);
    if (conns[i].fd < 0) {
      std::perror("connect");
      return 1;
    }
    epoll_event ev{EPOLLIN, {.u64 = i}};
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    idle.push_back(static_cast<int>(i));
  }
  std::deque<int64_t> backlog;  // due times of requests no connection was free for
  std::vector<int64_t> latencies;
  latencies.reserve(static_cast<size_t>(rate * absl::GetFlag(FLAGS_duration_s)) + 16);
  struct Sample {
    int64_t due_ns, latency_ns;
    uint32_t conn;
  };
  std::vector<Sample> timeline;
  const bool keep_timeline = !absl::GetFlag(FLAGS_timeline).empty();
  if (keep_timeline) timeline.reserve(latencies.capacity());
  int64_t next_due = start;
  uint64_t sent = 0, errors = 0;
  char buf[65536];
  auto send_on = [&](int index, int64_t due) {
    Conn& c = conns[index];
    c.busy = true;
    c.due_ns = due;
    c.measured = due >= measure_from;
    if (write(c.fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) ++errors;
    if (c.measured) ++sent;
  };
  bool outstanding = true;
  while (true) {
    const int64_t now = NowNs();
    for (; next_due <= now && next_due < end; next_due += interval_ns) backlog.push_back(next_due);
    while (!backlog.empty() && !idle.empty()) {
      send_on(idle.back(), backlog.front());
      idle.pop_back();
      backlog.pop_front();
    }
    outstanding = !backlog.empty() || idle.size() < conns.size();
    if (next_due >= end && !outstanding) break;
    if (now > end + 10'000'000'000LL) break;  // responses that never came: stop 10 s after the end
    // Sleep exactly until the next request is due: a millisecond timeout would round the
    // 67 µs gaps of 15,000 req/s down to 0 and spin, taking the core the backend shares.
    const int64_t wait_ns = next_due < end ? std::max<int64_t>(0, next_due - now) : 100'000'000;
    const timespec timeout{static_cast<time_t>(wait_ns / 1'000'000'000), static_cast<long>(wait_ns % 1'000'000'000)};
    epoll_event events[64];
    const int n = epoll_pwait2(ep, events, 64, &timeout, nullptr);
    for (int e = 0; e < n; ++e) {
      Conn& c = conns[events[e].data.u64];
      const ssize_t r = read(c.fd, buf, sizeof buf);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        // Closed by the server: count what was in flight, reconnect.
        if (c.busy && c.measured) ++errors;
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
        c = Conn{};
        c.fd = Connect(addr);
        epoll_event ev{EPOLLIN, {.u64 = events[e].data.u64}};
        epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
        idle.push_back(static_cast<int>(events[e].data.u64));
        continue;
      }
      c.in.append(buf, r);
      int status = 0;
      const size_t len = ResponseLength(c.in, &status);
      if (len == 0) continue;
      if (len == std::string::npos) {
        ++errors;
        c.in.clear();
      } else {
        c.in.erase(0, len);
        if (c.measured) {
          latencies.push_back(NowNs() - c.due_ns);
          if (keep_timeline) {
            timeline.push_back({c.due_ns - measure_from, latencies.back(),
                                static_cast<uint32_t>(events[e].data.u64)});
          }
          if (status < 200 || status >= 300) ++errors;
        }
      }
      c.busy = false;
      idle.push_back(static_cast<int>(events[e].data.u64));
    }
  }
  if (keep_timeline) {
    FILE* f = std::fopen(absl::GetFlag(FLAGS_timeline).c_str(), "w");
    if (f == nullptr) {
      std::perror("--timeline");
      return 1;
    }
    for (const Sample& s : timeline) {
      std::fprintf(f, "%lld %lld %u\n", static_cast<long long>(s.due_ns / 1000),
                   static_cast<long long>(s.latency_ns / 1000), s.conn);
    }
    std::fclose(f);
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    if (latencies.empty()) return 0.0;
    return latencies[std::min(latencies.size() - 1, static_cast<size_t>(p * latencies.size()))] / 1e6;
  };
  std::printf("rate=%.0f sent=%llu completed=%zu errors=%llu p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n",
              sent / absl::GetFlag(FLAGS_duration_s), static_cast<unsigned long long>(sent), latencies.size(),
              static_cast<unsigned long long>(errors), pct(0.5), pct(0.9), pct(0.99), pct(0.999),
              latencies.empty() ? 0.0 : latencies.back() / 1e6);
  return 0;
}
