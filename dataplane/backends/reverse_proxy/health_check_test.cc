// Probes against a real listening socket on loopback (answering the status the test sets), the
// threshold rules, and the checker's lifetime.
#include "dataplane/backends/reverse_proxy/health_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "common/test_util.h"
#include "gtest/gtest.h"

namespace edgerouter::backends {
namespace {

// Answers every connection with "HTTP/1.1 <status>" (0: accepts and stays silent); counts hits.
class StatusServer {
 public:
  StatusServer() {
    port_ = testing::PickFreeLoopbackPort();
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    listen(fd_, 64);
    thread_ = std::thread([this] {
      while (true) {
        const int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        char buf[1024];
        const ssize_t n = read(c, buf, sizeof(buf));
        std::string extra;
        {
          absl::MutexLock lock(&mu_);
          if (n > 0) last_request_.assign(buf, n);
          extra = extra_fields_;
        }
        hits++;
        const int s = status.load();
        if (s == 0) {
          silent_.push_back(c);
          continue;
        }
        const std::string r = absl::StrCat("HTTP/1.1 ", s, " X\r\nContent-Length: 0\r\n", extra, "\r\n");
        (void)write(c, r.data(), r.size());
        close(c);
      }
    });
  }
  ~StatusServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    for (int c : silent_) close(c);
  }
  Origin origin() const { return ParseOrigin(absl::StrCat("http://127.0.0.1:", port_)); }
  void set_extra_fields(std::string fields) {
    absl::MutexLock lock(&mu_);
    extra_fields_ = std::move(fields);
  }
  std::string last_request() {
    absl::MutexLock lock(&mu_);
    return last_request_;
  }

  std::atomic<int> status{200};
  std::atomic<int> hits{0};

 private:
  int port_ = 0, fd_ = -1;
  std::thread thread_;
  std::vector<int> silent_;
  absl::Mutex mu_;
  std::string extra_fields_ ABSL_GUARDED_BY(mu_);  // appended to every answer's head
  std::string last_request_ ABSL_GUARDED_BY(mu_);
};

HealthCheckConfig Check() {
  HealthCheckConfig c;
  c.path = "/healthz";
  c.interval_ms = 20;
  c.timeout_ms = 300;
  c.healthy_threshold = 2;
  c.unhealthy_threshold = 2;
  return c;
}

template <typename F>
bool Eventually(F condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return condition();
}

TEST(ProbeOrigin, StatusesTimeoutsAndRefusals) {
  StatusServer server;
  HealthCheckConfig c = Check();
  EXPECT_TRUE(ProbeOrigin(server.origin(), c, nullptr).ok());
  server.status = 302;
  EXPECT_TRUE(ProbeOrigin(server.origin(), c, nullptr).ok());
  server.status = 503;
  absl::Status s = ProbeOrigin(server.origin(), c, nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("status 503"), absl::string_view::npos) << s;
  c.expected_status = 503;
  EXPECT_TRUE(ProbeOrigin(server.origin(), c, nullptr).ok());
  server.status = 0;  // accepts, never answers
  const absl::Time start = absl::Now();
  s = ProbeOrigin(server.origin(), c, nullptr);
  EXPECT_NE(s.message().find("response timeout"), absl::string_view::npos) << s;
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  Origin closed = ParseOrigin(absl::StrCat("http://127.0.0.1:", testing::PickFreeLoopbackPort()));
  EXPECT_FALSE(ProbeOrigin(closed, c, nullptr).ok());
}

// The turbocharger re-validation's use: HEAD with the client's Host, the status and one field.
TEST(SendOriginProbe, HeadWithHostReturnsStatusAndTheWantedField) {
  StatusServer server;
  server.set_extra_fields("X-Other: 1\r\nTurboCharger:  /static abc \r\n");
  OriginProbe probe;
  probe.method = "HEAD";
  probe.path = "/static";
  probe.host = "site.test";
  probe.user_agent = "edgerouter-turbocharger";
  probe.want_header = "turbocharger";
  absl::StatusOr<OriginProbeResult> r = SendOriginProbe(server.origin(), probe, nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  ASSERT_TRUE(r->header.has_value());
  EXPECT_EQ(*r->header, "/static abc");
  EXPECT_TRUE(absl::StartsWith(server.last_request(), "HEAD /static HTTP/1.1\r\nHost: site.test\r\n"))
      << server.last_request();
  server.set_extra_fields("");
  server.status = 404;
  r = SendOriginProbe(server.origin(), probe, nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 404);
  EXPECT_FALSE(r->header.has_value());
  server.status = 0;  // silent: a timeout error, not a status
  probe.timeout_ms = 200;
  r = SendOriginProbe(server.origin(), probe, nullptr);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("HEAD http://127.0.0.1:"), absl::string_view::npos) << r.status();
}

TEST(NextHealth, ThresholdsOfConsecutiveResults) {
  HealthCheckConfig c = Check();
  c.unhealthy_threshold = 3;
  int passes = 0, failures = 0;
  bool h = true;
  h = NextHealth(h, false, c, &passes, &failures);
  h = NextHealth(h, false, c, &passes, &failures);
  EXPECT_TRUE(h);
  h = NextHealth(h, true, c, &passes, &failures);  // resets the failures
  h = NextHealth(h, false, c, &passes, &failures);
  h = NextHealth(h, false, c, &passes, &failures);
  EXPECT_TRUE(h);
  h = NextHealth(h, false, c, &passes, &failures);
  EXPECT_FALSE(h);
  h = NextHealth(h, true, c, &passes, &failures);
  EXPECT_FALSE(h);
  h = NextHealth(h, true, c, &passes, &failures);
  EXPECT_TRUE(h);
}

TEST(WatchOrigin, OneCheckerPerOriginThatFlipsAndStopsWithItsLastUser) {
  StatusServer server;
  const int before = RunningHealthCheckers();
  std::shared_ptr<OriginHealth> a = WatchOrigin(server.origin(), Check(), nullptr);
  std::shared_ptr<OriginHealth> b = WatchOrigin(server.origin(), Check(), nullptr);
  EXPECT_EQ(a.get(), b.get());  // a second app/worker/snapshot joins the same checker
  EXPECT_EQ(RunningHealthCheckers(), before + 1);
  EXPECT_TRUE(a->healthy.load());
  server.status = 503;
  EXPECT_TRUE(Eventually([&] { return !a->healthy.load(); }));
  server.status = 204;
  EXPECT_TRUE(Eventually([&] { return a->healthy.load(); }));
  a.reset();
  b.reset();
  EXPECT_TRUE(Eventually([&] { return RunningHealthCheckers() == before; }));
  const int hits = server.hits.load();
  absl::SleepFor(absl::Milliseconds(200));  // ten intervals: a running checker would probe
  EXPECT_EQ(server.hits.load(), hits);
}

}  // namespace
}  // namespace edgerouter::backends
