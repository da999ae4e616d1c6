// Origin-selection policies end to end: real origins (test_origin processes), the control
// plane and the data plane binaries. Weighted and sticky distributions over 10k requests, an
// actively health-checked origin flipping (and dying) under wrk load with zero client errors,
// fail-open when every origin fails its checks, and retries: on a second origin, per-try
// timeouts, and held by the retry budget under an origin that answers only 503s (origin hits
// counted). Sticky sessions over HTTP/2 (h2c) too, and the per-app gauge of unhealthy origins.
#include <signal.h>

#include <atomic>
#include <map>
#include <regex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "dataplane/test/e2e_fixture.h"
#include "dataplane/test/tls_test_util.h"

namespace edgerouter::testing {
namespace {

template <typename F>
bool Eventually(F condition, absl::Duration timeout = absl::Seconds(15)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return condition();
}

class TrafficPolicies : public DataplaneE2E {
 protected:
  std::string AppsJson() override {
    const std::string a = absl::StrCat("http://127.0.0.1:", origin_a_);
    const std::string b = absl::StrCat("http://127.0.0.1:", origin_b_);
    auto app = [](const std::string& id, const std::string& backend, const std::string& extra = "") {
      return absl::StrCat(R"({"id":")", id, R"(","frontends":[{"kind":"hostname","hostname":")", id,
                          R"(.test","path_prefix":"/","allow_insecure_http":true}],"backend":{"kind":"reverse_proxy","reverse_proxy_opts":)",
                          backend, "}", extra, "}");
    };
    return absl::StrCat(
        R"({"apps":[)",
        app("weighted", absl::StrCat(R"({"origins":[")", a, R"(",")", b, R"("],"origin_weights":{")", a, R"(":3}})")), ",",
        app("sticky", absl::StrCat(R"({"origins":[")", a, R"(",")", b,
                                   R"("],"sticky":{"cookie_name":"lb","http_only":true,"same_site":"lax","max_age_seconds":600}})")),
        ",",
        // Two failed probes (2 s each at most) make an origin unhealthy: one slow probe on a
        // loaded machine must not take the healthy origin out too (that would fail open).
        app("checked", absl::StrCat(R"({"origins":[")", a, R"(",")", b,
                                    R"("],"sticky":{"cookie_name":"lb"},"health_check":{"path":"/healthz","interval":"50ms","timeout":"2s","healthy_threshold":1,"unhealthy_threshold":2}})")),
        ",",
        app("retry2", absl::StrCat(R"({"origins":[")", a, R"(/status/503",")", b, R"(/status/200"]})"),
            R"(,"policies":{"retry":{"attempts":2,"initial_interval":"1ms"}})"),
        ",",
        app("pertry", absl::StrCat(R"({"origins":[")", a, R"(",")", b, R"("]})"),
            R"(,"policies":{"retry":{"attempts":2,"per_try_timeout":"300ms","initial_interval":"1ms"}})"),
        ",",
        app("retry503", absl::StrCat(R"({"origins":[")", a, R"(/status/503"]})"),
            R"(,"policies":{"retry":{"attempts":3,"initial_interval":"20ms","budget_percent":20,"min_retry_concurrency":1}})"),
        "]}");
  }

  // The X-Origin of one keep-alive request; `cookie` (if any) sent, `set_cookie` receives.
  std::string Origin(TestConnection* conn, const std::string& host, const std::string& path = "/echo",
                     const std::string& cookie = "", std::string* set_cookie = nullptr, int* status = nullptr) {
    conn->Send(absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: ", host, "\r\n",
                            cookie.empty() ? "" : absl::StrCat("Cookie: ", cookie, "\r\n"), "\r\n"));
    HttpResponse r = conn->Read();
    if (status != nullptr) *status = r.status;
    if (set_cookie != nullptr) set_cookie->assign(r.headers.count("set-cookie") ? r.headers["set-cookie"] : "");
    return r.headers.count("x-origin") ? r.headers["x-origin"] : absl::StrCat("status ", r.status);
  }

  // The sticky cookies ("lb=…") that pin a session to origin a and to origin b (empty when not
  // seen within 100 requests).
  void SessionCookies(TestConnection* conn, const std::string& host, std::string* cookie_a, std::string* cookie_b) {
    std::string set_cookie;
    for (int i = 0; i < 100 && (cookie_a->empty() || cookie_b->empty()); ++i) {
      const std::string o = Origin(conn, host, "/echo", "", &set_cookie);
      (o == "a" ? *cookie_a : *cookie_b) = set_cookie.substr(0, set_cookie.find(';'));
    }
  }

  uint64_t Hits(int port, const std::string& what = "/hits") {
    HttpResponse r = Get(port, "x", what);
    uint64_t n = 0;
    EXPECT_TRUE(absl::SimpleAtoi(r.body.substr(5), &n)) << r.body;
    return n;
  }

  void WaitForApp(const std::string& host) {
    ASSERT_TRUE(Eventually([&] { return Get(http_port_, host, "/echo").status == 200; })) << host;
  }
};

TEST_F(TrafficPolicies, WeightedOriginsSplitWithinFivePercentOver10kRequests) {
  WaitForApp("weighted.test");
  TestConnection conn(http_port_);
  std::map<std::string, int> seen;
  for (int i = 0; i < 10000; ++i) seen[Origin(&conn, "weighted.test")]++;
  EXPECT_EQ(seen["a"] + seen["b"], 10000);
  const double share_a = seen["a"] / 10000.0;
  EXPECT_NEAR(share_a, 0.75, 0.75 * 0.05) << seen["a"] << " / " << seen["b"];
  EXPECT_NEAR(1 - share_a, 0.25, 0.25 * 0.05);
}

TEST_F(TrafficPolicies, StickySessionsSplitEvenlyAndStay) {
  WaitForApp("sticky.test");
  TestConnection conn(http_port_);
  std::map<std::string, int> sessions;
  std::map<std::string, std::string> cookie_of;  // origin -> its cookie
  int stayed = 0;
  for (int i = 0; i < 5000; ++i) {  // 5000 new sessions, each coming back once: 10k requests
    std::string set_cookie, again;
    const std::string first = Origin(&conn, "sticky.test", "/echo", "", &set_cookie);
    sessions[first]++;
    ASSERT_TRUE(absl::StartsWith(set_cookie, "lb=")) << set_cookie;
    EXPECT_TRUE(absl::StrContains(set_cookie, "; Max-Age=600; HttpOnly; SameSite=Lax")) << set_cookie;
    EXPECT_FALSE(absl::StrContains(set_cookie, "127.0.0.1")) << set_cookie;  // an ID, not the address
    const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
    cookie_of[first] = cookie;
    stayed += Origin(&conn, "sticky.test", "/echo", "other=1; " + cookie, &again) == first;
    EXPECT_EQ(again, "");  // already where the cookie says: no new cookie
  }
  EXPECT_EQ(stayed, 5000);
  EXPECT_NEAR(sessions["a"] / 5000.0, 0.5, 0.5 * 0.05) << sessions["a"] << " / " << sessions["b"];
  // A cookie naming no current origin (it left the set) moves that session, with a new cookie.
  std::string set_cookie;
  Origin(&conn, "sticky.test", "/echo", "lb=0123456789abcdef", &set_cookie);
  EXPECT_TRUE(absl::StartsWith(set_cookie, "lb=")) << set_cookie;
}

// Origin a fails its checks under load, dies, comes back on its port and passes again: no
// client sees an error, and a's sticky sessions move while b's stay.
TEST_F(TrafficPolicies, HealthCheckedOriginFlipsUnderLoadWithZeroErrors) {
  WaitForApp("checked.test");
  TestConnection conn(http_port_);
  std::string cookie_a, cookie_b, set_cookie;
  SessionCookies(&conn, "checked.test", &cookie_a, &cookie_b);
  ASSERT_FALSE(cookie_a.empty() || cookie_b.empty());
  const std::string checked = "{app=\"checked\"}";
  std::string metrics = Metrics();
  EXPECT_TRUE(absl::StrContains(metrics, "er_dp_origins_unhealthy{app=\"checked\"} 0\n")) << metrics;
  EXPECT_FALSE(absl::StrContains(metrics, "er_dp_origins_unhealthy{app=\"sticky\"}"));  // no checks: no sample

  auto wrk = Subprocess::Start({"/usr/bin/wrk", "-t2", "-c16", "-d8s", "-H", "Host: checked.test",
                                absl::StrCat("http://127.0.0.1:", http_port_, "/echo")});
  ASSERT_TRUE(wrk.ok());
  ASSERT_TRUE(Eventually([&] { return Hits(origin_a_) > 200; }));  // the load reaches a
  ASSERT_EQ(Get(origin_a_, "x", "/set-health/503").status, 200);
  // Unhealthy: no new requests reach a (its hit count settles while wrk still runs).
  uint64_t last = Hits(origin_a_);
  ASSERT_TRUE(Eventually([&] {
    absl::SleepFor(absl::Milliseconds(200));
    const uint64_t now = Hits(origin_a_);
    const bool settled = now == last;
    last = now;
    return settled;
  }));
  EXPECT_EQ(MetricSum(Metrics(), "er_dp_origins_unhealthy", checked), 1);  // operators see a out
  EXPECT_EQ(Origin(&conn, "checked.test", "/echo", cookie_a, &set_cookie), "b");  // a's session moved
  EXPECT_TRUE(absl::StartsWith(set_cookie, cookie_b)) << set_cookie;
  EXPECT_EQ(Origin(&conn, "checked.test", "/echo", cookie_b, &set_cookie), "b");
  EXPECT_EQ(set_cookie, "");
  // a dies while out of rotation, and comes back on the same port.
  a_.reset();
  auto back = Subprocess::Start({RunfilePath("dataplane/test_origin"), "--name=a", absl::StrCat("--port=", origin_a_)});
  ASSERT_TRUE(back.ok());
  a_ = *std::move(back);
  ASSERT_TRUE(a_->WaitForLine("test origin ready", absl::Seconds(10)).ok());
  ASSERT_TRUE(Eventually([&] { return Hits(origin_a_) > 50; }));  // healthy again: traffic returns
  EXPECT_EQ(MetricSum(Metrics(), "er_dp_origins_unhealthy", checked), 0);
  ExpectNoFailures(wrk->get()->Wait(absl::Seconds(60)).ok() ? (*wrk)->Output() : "wrk did not end");
  EXPECT_EQ(MetricSum(Metrics(), "er_dp_health_fail_open_total"), 0);
}

// The origin set changes from {a, b} to {a, c}: a's sessions stay, b's move (with a new
// cookie); b's health checker stops, a's goes on (the same one), c's starts.
TEST_F(TrafficPolicies, OriginSetChangeMovesOnlyTheRemovedOriginsSessionsAndStopsItsChecks) {
  WaitForApp("checked.test");
  TestConnection conn(http_port_);
  std::string cookie_a, cookie_b, set_cookie;
  SessionCookies(&conn, "checked.test", &cookie_a, &cookie_b);
  ASSERT_FALSE(cookie_a.empty() || cookie_b.empty());
  ASSERT_TRUE(Eventually([&] { return Hits(origin_b_, "/probes") > 2; }));
  auto c = Subprocess::Start({RunfilePath("dataplane/test_origin"), "--name=c"});
  ASSERT_TRUE(c.ok());
  auto ready = (*c)->WaitForLine("test origin ready", absl::Seconds(10));
  ASSERT_TRUE(ready.ok());
  const int origin_c = std::stoi(ready->substr(ready->rfind('=') + 1));
  ASSERT_TRUE(AppendApp(absl::StrCat(
                  R"({"id":"checked","frontends":[{"kind":"hostname","hostname":"checked.test","path_prefix":"/","allow_insecure_http":true}],)",
                  R"("backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["http://127.0.0.1:)", origin_a_,
                  R"(","http://127.0.0.1:)", origin_c,
                  R"("],"sticky":{"cookie_name":"lb"},"health_check":{"path":"/healthz","interval":"50ms","timeout":"2s","healthy_threshold":1,"unhealthy_threshold":2}}}})"))
                  .ok());
  ASSERT_TRUE(Eventually([&] { return Hits(origin_c, "/probes") > 2; }));  // c's checker runs: applied
  // b's checker stops once no worker holds the old config. No request is sent: publishing wakes
  // every worker, idle ones included (before that, an idle worker kept the old config, and b's
  // checker, until its next connection). Settled = no probe of b for 6 probe intervals.
  uint64_t last = Hits(origin_b_, "/probes");
  ASSERT_TRUE(Eventually([&] {
    absl::SleepFor(absl::Milliseconds(300));
    const uint64_t now = Hits(origin_b_, "/probes");
    const bool settled = now == last;
    last = now;
    return settled;
  }));
  const uint64_t a_probes = Hits(origin_a_, "/probes");
  int moved_to_c = 0;
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(Origin(&conn, "checked.test", "/echo", cookie_a, &set_cookie), "a");
    EXPECT_EQ(set_cookie, "");
    const std::string o = Origin(&conn, "checked.test", "/echo", cookie_b, &set_cookie);
    EXPECT_TRUE(absl::StartsWith(set_cookie, "lb=")) << set_cookie;  // b's session moves
    EXPECT_NE(set_cookie.substr(0, set_cookie.find(';')), cookie_b);
    moved_to_c += o == "c";
  }
  EXPECT_GT(moved_to_c, 0);
  EXPECT_TRUE(Eventually([&] { return Hits(origin_a_, "/probes") > a_probes + 2; }));  // a's checks go on
}

TEST_F(TrafficPolicies, EveryOriginFailingItsChecksFailsOpenAndSaysSo) {
  WaitForApp("checked.test");
  ASSERT_EQ(Get(origin_a_, "x", "/set-health/503").status, 200);
  ASSERT_EQ(Get(origin_b_, "x", "/set-health/500").status, 200);
  ASSERT_TRUE(Eventually([&] {
    Get(http_port_, "checked.test", "/echo");
    return MetricSum(Metrics(), "er_dp_health_fail_open_total") > 0;
  }));
  EXPECT_EQ(MetricSum(Metrics(), "er_dp_origins_unhealthy", "{app=\"checked\"}"), 2);
  TestConnection conn(http_port_);
  int status = 0;
  for (int i = 0; i < 50; ++i) {
    Origin(&conn, "checked.test", "/echo", "", nullptr, &status);
    EXPECT_EQ(status, 200);  // served all the same
  }
}

TEST_F(TrafficPolicies, RetrySucceedsOnASecondOrigin) {
  WaitForApp("weighted.test");
  TestConnection conn(http_port_);
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(Origin(&conn, "retry2.test", "/", "", nullptr, &status), "b");
    EXPECT_EQ(status, 200);
  }
  EXPECT_GT(MetricSum(Metrics(), "er_dp_retries_total", "{app=\"retry2\"}"), 0);
}

// Both origins hold the request: each try ends at the per-try timeout (not the data plane's
// response timeout), the second try goes out, and the client gets a 504 after the two.
TEST_F(TrafficPolicies, PerTryTimeoutEndsEachTryAndRetries) {
  WaitForApp("weighted.test");
  const absl::Time start = absl::Now();
  HttpResponse r = Get(http_port_, "pertry.test", "/hold");
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(r.status, 504);
  EXPECT_GE(took, absl::Milliseconds(600));
  EXPECT_LT(took, absl::Seconds(5));
  EXPECT_EQ(MetricSum(Metrics(), "er_dp_retries_total", "{app=\"pertry\"}"), 1);
  Get(origin_a_, "x", "/release");
  Get(origin_b_, "x", "/release");
}

TEST_F(TrafficPolicies, RetryBudgetHoldsUnderAnOriginAnswering503) {
  WaitForApp("weighted.test");
  // One client at a time: the budget's floor allows every retry (3 tries each).
  uint64_t before = Hits(origin_a_);
  {
    TestConnection conn(http_port_);
    int status = 0;
    for (int i = 0; i < 20; ++i) {
      Origin(&conn, "retry503.test", "/", "", nullptr, &status);
      EXPECT_EQ(status, 503);
    }
  }
  EXPECT_EQ(Hits(origin_a_) - before, 60u);
  // 8 clients at once: retries in flight stay within max(1, 20 % of active requests) per
  // worker, so the origin sees far fewer than 3 tries per request.
  const std::string m0 = Metrics();
  before = Hits(origin_a_);
  std::atomic<int> requests{0}, non503{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      TestConnection conn(http_port_);
      for (int i = 0; i < 200; ++i) {
        int status = 0;
        Origin(&conn, "retry503.test", "/", "", nullptr, &status);
        requests++;
        non503 += status != 503;
      }
    });
  }
  for (std::thread& t : clients) t.join();
  const uint64_t hits = Hits(origin_a_) - before;
  const std::string m1 = Metrics();
  const double retries = MetricSum(m1, "er_dp_retries_total", "{app=\"retry503\"}") -
                         MetricSum(m0, "er_dp_retries_total", "{app=\"retry503\"}");
  const double exhausted = MetricSum(m1, "er_dp_retries_budget_exhausted_total", "{app=\"retry503\"}") -
                           MetricSum(m0, "er_dp_retries_budget_exhausted_total", "{app=\"retry503\"}");
  EXPECT_EQ(requests.load(), 1600);
  EXPECT_EQ(non503.load(), 0);
  EXPECT_EQ(hits, 1600 + static_cast<uint64_t>(retries));  // every origin hit accounted for
  EXPECT_LE(hits, 1600 * 1.5) << "retries " << retries << " exhausted " << exhausted;
  EXPECT_GT(exhausted, 0);
  std::printf("retry budget: 1600 requests, %llu origin hits (%.2fx), %.0f retries, %.0f refused by the budget\n",
              static_cast<unsigned long long>(hits), hits / 1600.0, retries, exhausted);
}

// Sticky sessions over HTTP/2 (prior-knowledge h2c): the Set-Cookie reaches the client in the
// HEADERS frame, and a request carrying it (as one cookie field, or split into crumbs as RFC
// 9113 §8.2.3 allows) sticks to that origin.
class TrafficPoliciesH2 : public TrafficPolicies {
 protected:
  std::vector<std::string> DataplaneFlags() override { return {"--h2c"}; }
  // One h2 request by curl; the head (lower-cased names) is returned.
  std::string CurlH2(const std::string& cookie) {
    return Shell(absl::StrCat("curl -sS --http2-prior-knowledge -o /dev/null -D - -H 'Host: sticky.test' ",
                              cookie.empty() ? "" : absl::StrCat("-H 'Cookie: ", cookie, "' "), "'http://127.0.0.1:",
                              http_port_, "/echo' | tr -d '\\r'"));
  }
  static std::string Field(const std::string& head, const std::string& name) {
    std::smatch m;
    if (!std::regex_search(head, m, std::regex("\n" + name + ": ([^\n]*)", std::regex::icase))) return "";
    return m[1];
  }
};

TEST_F(TrafficPoliciesH2, StickySetCookieAndStickinessOverHttp2) {
  WaitForApp("sticky.test");
  std::map<std::string, std::string> cookie_of;  // origin -> its cookie
  for (int i = 0; i < 100 && cookie_of.size() < 2; ++i) {
    const std::string head = CurlH2("");
    ASSERT_TRUE(absl::StartsWith(head, "HTTP/2 200")) << head;
    const std::string set_cookie = Field(head, "set-cookie");
    ASSERT_TRUE(absl::StartsWith(set_cookie, "lb=")) << head;
    EXPECT_TRUE(absl::StrContains(set_cookie, "; Max-Age=600; HttpOnly; SameSite=Lax")) << set_cookie;
    cookie_of[Field(head, "x-origin")] = set_cookie.substr(0, set_cookie.find(';'));
  }
  ASSERT_EQ(cookie_of.size(), 2u);
  for (const auto& [origin, cookie] : cookie_of) {
    SCOPED_TRACE(origin);
    for (int i = 0; i < 10; ++i) {
      const std::string head = CurlH2("other=1; " + cookie);
      EXPECT_EQ(Field(head, "x-origin"), origin) << head;
      EXPECT_EQ(Field(head, "set-cookie"), "") << head;  // already where the cookie says
    }
    // The cookie in its own field after another crumb (h2_request.py sends fields as given).
    const std::string out = Shell(absl::StrCat("/usr/bin/python3 ", RunfilePath("dataplane/test/h2_request.py"), " ",
                                               http_port_, " GET sticky.test /echo cookie=other=1 'cookie=", cookie, "'"));
    EXPECT_TRUE(absl::StrContains(out, ":status: 200")) << out;
    EXPECT_TRUE(absl::StrContains(out, "\nx-origin: " + origin + "\n")) << out;
    EXPECT_FALSE(absl::StrContains(out, "set-cookie")) << out;
  }
}

}  // namespace
}  // namespace edgerouter::testing
