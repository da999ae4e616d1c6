#include "dataplane/backends/reverse_proxy/health_check.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/duration.h"

namespace edgerouter::backends {
namespace {

absl::StatusOr<int64_t> Millis(const std::string& value, absl::string_view field, int64_t fallback) {
  if (value.empty()) return fallback;
  absl::StatusOr<absl::Duration> d = ParseGoDuration(value);
  if (!d.ok()) return absl::InvalidArgumentError(absl::StrCat("health_check.", field, ": ", d.status().message()));
  return std::max<int64_t>(1, absl::ToInt64Milliseconds(*d));
}

struct Registry {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, std::weak_ptr<OriginHealth>> checkers ABSL_GUARDED_BY(mu);
  std::atomic<int> running{0};
};

Registry& GetRegistry() {
  static Registry* r = new Registry();
  return *r;
}

// Probes until no config holds `weak` any more; sleeps in short slices so it notices soon.
void RunChecker(std::weak_ptr<OriginHealth> weak, Origin origin, HealthCheckConfig check, SSL_CTX* tls) {
  int passes = 0, failures = 0;
  while (true) {
    const bool passed = ProbeOrigin(origin, check, tls).ok();
    {
      std::shared_ptr<OriginHealth> health = weak.lock();
      if (health == nullptr) break;
      const bool was = health->healthy.load(std::memory_order_relaxed);
      health->healthy.store(NextHealth(was, passed, check, &passes, &failures), std::memory_order_relaxed);
      health->probes.fetch_add(1, std::memory_order_relaxed);
    }
    const absl::Time next = absl::Now() + absl::Milliseconds(check.interval_ms);
    bool gone = false;
    while (!gone && absl::Now() < next) {
      absl::SleepFor(std::min(absl::Milliseconds(50), next - absl::Now()));
      gone = weak.expired();
    }
    if (gone) break;
  }
  GetRegistry().running.fetch_sub(1);
}

// Waits for `events` on `fd` until `deadline`; false on timeout or error.
bool WaitFd(int fd, short events, absl::Time deadline) {
  while (true) {
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int rc = poll(&p, 1, static_cast<int>(left));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return false;
  }
}

}  // namespace

absl::StatusOr<HealthCheckConfig> CompileHealthCheck(const config::v1::HealthCheck& check) {
  HealthCheckConfig c;
  c.path = check.path().empty() ? "/" : check.path();
  absl::StatusOr<int64_t> interval = Millis(check.interval(), "interval", 10000);
  if (!interval.ok()) return interval.status();
  c.interval_ms = *interval;
  absl::StatusOr<int64_t> timeout = Millis(check.timeout(), "timeout", 5000);
  if (!timeout.ok()) return timeout.status();
  c.timeout_ms = *timeout;
  if (check.healthy_threshold() > 0) c.healthy_threshold = static_cast<int>(check.healthy_threshold());
  if (check.unhealthy_threshold() > 0) c.unhealthy_threshold = static_cast<int>(check.unhealthy_threshold());
  c.expected_status = static_cast<int>(check.expected_status());
  c.hostname = check.hostname();
  return c;
}

bool NextHealth(bool healthy, bool passed, const HealthCheckConfig& check, int* passes, int* failures) {
  if (passed) {
    *failures = 0;
    ++*passes;
    return healthy || *passes >= check.healthy_threshold;
  }
  *passes = 0;
  ++*failures;
  return healthy && *failures < check.unhealthy_threshold;
}

std::shared_ptr<OriginHealth> WatchOrigin(const Origin& origin, const HealthCheckConfig& check, SSL_CTX* tls) {
  const std::string key = absl::StrCat(origin.url, "\n", check.path, "\n", check.interval_ms, "\n", check.timeout_ms, "\n",
                                       check.healthy_threshold, "\n", check.unhealthy_threshold, "\n",
                                       check.expected_status, "\n", check.hostname, "\n", check.tls_server_name, "\n",
                                       reinterpret_cast<uintptr_t>(tls));
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  // Forget checkers whose origins left every config (their threads end on their own).
  for (auto it = r.checkers.begin(); it != r.checkers.end();) {
    auto next = std::next(it);
    if (it->second.expired()) r.checkers.erase(it);
    it = next;
  }
  if (auto it = r.checkers.find(key); it != r.checkers.end()) {
    if (std::shared_ptr<OriginHealth> existing = it->second.lock()) return existing;
  }
  auto health = std::make_shared<OriginHealth>();
  r.checkers[key] = health;
  r.running.fetch_add(1);
  std::thread(RunChecker, std::weak_ptr<OriginHealth>(health), origin, check, tls).detach();
  return health;
}

int RunningHealthCheckers() { return GetRegistry().running.load(); }

absl::Status ProbeOrigin(const Origin& origin, const HealthCheckConfig& check, SSL_CTX* tls) {
  OriginProbe probe;
  probe.path = check.path;
  probe.host = check.hostname;
  probe.tls_server_name = check.tls_server_name;
  probe.timeout_ms = check.timeout_ms;
  absl::StatusOr<OriginProbeResult> r = SendOriginProbe(origin, probe, tls);
  if (!r.ok()) return r.status();
  const bool ok = check.expected_status != 0 ? r->status == check.expected_status : r->status >= 200 && r->status < 400;
  if (!ok) return absl::UnavailableError(absl::StrCat("health check ", origin.url, check.path, ": status ", r->status));
  return absl::OkStatus();
}

absl::StatusOr<OriginProbeResult> SendOriginProbe(const Origin& origin, const OriginProbe& probe, SSL_CTX* tls) {
  if (!origin.resolve_error.empty()) return absl::UnavailableError(origin.resolve_error);
  const absl::Time deadline = absl::Now() + absl::Milliseconds(probe.timeout_ms);
  const int fd = socket(origin.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", std::strerror(errno)));
  SSL* ssl = nullptr;
  auto fail = [&](absl::string_view what) {
    if (ssl != nullptr) SSL_free(ssl);
    close(fd);
    return absl::UnavailableError(absl::StrCat(probe.method, " ", origin.url, probe.path, ": ", what));
  };
  if (connect(fd, reinterpret_cast<const sockaddr*>(&origin.addr), origin.addr_len) != 0 && errno != EINPROGRESS) {
    return fail(std::strerror(errno));
  }
  if (!WaitFd(fd, POLLOUT, deadline)) return fail("connect timeout");
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return fail(std::strerror(err));
  if (origin.tls) {
    if (tls == nullptr) return fail("no TLS client context");
    ssl = SSL_new(tls);
    SSL_set_fd(ssl, fd);
    // As the proxy's own handshake (upstream.cc): SNI for names only, the certificate must
    // name the origin (ignored by the non-verifying context of insecure_skip_verify).
    const std::string& name = probe.tls_server_name.empty() ? origin.host : probe.tls_server_name;
    unsigned char ip[16];
    if (inet_pton(AF_INET, name.c_str(), ip) == 1 || inet_pton(AF_INET6, name.c_str(), ip) == 1) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, name.c_str());
      X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl), name.c_str(), 0);
    }
    while (true) {
      const int rc = SSL_connect(ssl);
      if (rc == 1) break;
      const int e = SSL_get_error(ssl, rc);
      if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
          !WaitFd(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
        return fail("TLS handshake failed");
      }
    }
  }
  const std::string request =
      absl::StrCat(probe.method, " ", origin.path_prefix, probe.path, " HTTP/1.1\r\nHost: ",
                   probe.host.empty() ? origin.authority : probe.host, "\r\nUser-Agent: ", probe.user_agent,
                   "\r\nConnection: close\r\n\r\n");
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ssl != nullptr ? SSL_write(ssl, request.data() + sent, static_cast<int>(request.size() - sent))
                                     : send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += n;
    } else if (!WaitFd(fd, POLLOUT, deadline)) {
      return fail("write timeout");
    }
  }
  // The status line, and the whole head when a field is wanted (the body is never read).
  constexpr size_t kMaxHead = 16 * 1024;
  const char* end_of = probe.want_header.empty() ? "\r\n" : "\r\n\r\n";
  std::string head;
  while (head.find(end_of) == std::string::npos) {
    if (head.size() >= kMaxHead) return fail("response head too large");
    char buf[2048];
    const ssize_t n = ssl != nullptr ? SSL_read(ssl, buf, sizeof(buf)) : read(fd, buf, sizeof(buf));
    if (n > 0) {
      head.append(buf, n);
      continue;
    }
    if (n == 0 && ssl == nullptr) return fail("closed before the response head");
    if (ssl != nullptr && n <= 0) {
      const int e = SSL_get_error(ssl, static_cast<int>(n));
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return fail("closed before the response head");
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return fail(std::strerror(errno));
    }
    if (!WaitFd(fd, POLLIN, deadline)) return fail("response timeout");
  }
  OriginProbeResult result;
  if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0 || !absl::SimpleAtoi(head.substr(9, 3), &result.status)) {
    return fail("not an HTTP response");
  }
  if (!probe.want_header.empty()) {
    const absl::string_view fields = absl::string_view(head).substr(0, head.find("\r\n\r\n"));
    for (absl::string_view line : absl::StrSplit(fields, "\r\n")) {
      const size_t colon = line.find(':');
      if (colon != absl::string_view::npos && absl::EqualsIgnoreCase(line.substr(0, colon), probe.want_header)) {
        result.header = std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
        break;
      }
    }
  }
  if (ssl != nullptr) SSL_free(ssl);
  close(fd);
  return result;
}

}  // namespace edgerouter::backends
