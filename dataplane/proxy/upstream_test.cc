// Origin sets: the pick, passive health and the connection pool. Time is a plain number (Pick,
// the reports and TimerList::Expire take `now_ms`), so the tests drive it without sleeping.
#include "dataplane/proxy/upstream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>

#include "absl/strings/str_cat.h"
#include "dataplane/stats/request_stats.h"
#include "gtest/gtest.h"

namespace edgerouter::proxy {
namespace {

using Failure = OriginSet::Failure;

class OriginHealth : public ::testing::Test {
 protected:
  OriginHealth() {
    config_.origins.resize(2);
    config_.origins[0].url = "http://a";
    config_.origins[1].url = "http://b";
    set_ = std::make_unique<OriginSet>(config_, &loop_, &stats_, &idle_, [](std::function<void()> fn) { fn(); });
  }
  void Fail(int i, int64_t now, int times, Failure kind = Failure::kConnect) {
    for (int k = 0; k < times; ++k) set_->ReportFailure(i, now, kind);
  }
  bool Ejected(int i, int64_t now) { return set_->state(i).ejected_until_ms > now; }
  // Whether origin `i` gets picked within 200 picks at `now` (two origins: about half of them).
  bool Picked(int i, int64_t now) {
    for (int k = 0; k < 200; ++k) {
      if (set_->Pick(now, -1) == i) return true;
    }
    return false;
  }

  ProxyTarget config_;
  net::EventLoop loop_;
  stats::WorkerStats stats_;
  net::TimerList idle_{30000};
  std::unique_ptr<OriginSet> set_;
};

TEST_F(OriginHealth, ConsecutiveFailuresEjectAndTheEjectionEnds) {
  Fail(1, 1000, OriginSet::kEjectAfter - 1);
  EXPECT_FALSE(Ejected(1, 1000));
  Fail(1, 1000, 1);
  EXPECT_TRUE(Ejected(1, 1000));
  EXPECT_FALSE(Picked(1, 1000));
  EXPECT_EQ(stats_.origin("http://b").ejections, 1u);
  EXPECT_TRUE(Picked(1, 1000 + OriginSet::kConnectBackoffMs[0]));
}

// The defect: every failure of requests still under way while the origin was out doubled the
// backoff again, so a restarted origin waited seconds for traffic.
TEST_F(OriginHealth, FailuresWhileEjectedDoNotGrowTheBackoff) {
  Fail(1, 0, OriginSet::kEjectAfter);
  const int64_t until = set_->state(1).ejected_until_ms;
  Fail(1, 10, 50);  // in flight when it died
  EXPECT_EQ(set_->state(1).ejected_until_ms, until);
  EXPECT_EQ(set_->state(1).backoff_ms, OriginSet::kConnectBackoffMs[0]);
  EXPECT_EQ(stats_.origin("http://b").ejections, 1u);
}

TEST_F(OriginHealth, FailedProbesDoubleUpToTheCapAndASuccessResets) {
  int64_t now = 0;
  Fail(1, now, OriginSet::kEjectAfter);
  int64_t backoff = OriginSet::kConnectBackoffMs[0];
  for (int probe = 0; probe < 6; ++probe) {
    now = set_->state(1).ejected_until_ms;  // ejection over: the next request is the probe
    Fail(1, now, 1);                        // one failure is enough after an ejection
    backoff = std::min(backoff * 2, OriginSet::kConnectBackoffMs[1]);
    EXPECT_EQ(set_->state(1).ejected_until_ms, now + backoff) << probe;
  }
  EXPECT_EQ(backoff, OriginSet::kConnectBackoffMs[1]);  // a restarted origin waits at most this
  now = set_->state(1).ejected_until_ms;
  set_->ReportSuccess(1);
  Fail(1, now, 1);  // healthy again: one failure does not eject
  EXPECT_FALSE(Ejected(1, now));
}

TEST_F(OriginHealth, ErrorAnswersBackOffLongerThanRefusedConnections) {
  int64_t now = 0;
  Fail(0, now, OriginSet::kEjectAfter, Failure::kStatus5xx);
  EXPECT_EQ(set_->state(0).ejected_until_ms, OriginSet::kStatusBackoffMs[0]);
  for (int probe = 0; probe < 8; ++probe) {
    now = set_->state(0).ejected_until_ms;
    Fail(0, now, 1, Failure::kStatus5xx);
  }
  EXPECT_EQ(set_->state(0).backoff_ms, OriginSet::kStatusBackoffMs[1]);
}

TEST_F(OriginHealth, WhenEveryOriginIsOutTheOneBackFirstIsTried) {
  Fail(0, 0, OriginSet::kEjectAfter, Failure::kStatus5xx);  // back at 1000
  Fail(1, 0, OriginSet::kEjectAfter);                       // back at 250
  EXPECT_EQ(set_->Pick(100, -1), 1);
}

TEST_F(OriginHealth, PicksSpreadOverHealthyOriginsAndNeverTheExcludedOne) {
  int hits[2] = {0, 0};
  for (int k = 0; k < 1000; ++k) hits[set_->Pick(0, -1)]++;
  EXPECT_GT(hits[0], 300);
  EXPECT_GT(hits[1], 300);
  for (int k = 0; k < 100; ++k) EXPECT_EQ(set_->Pick(0, 0), 1);  // a retry goes elsewhere
  Fail(1, 0, OriginSet::kEjectAfter);
  for (int k = 0; k < 100; ++k) EXPECT_EQ(set_->Pick(10, -1), 0);
}

// Power of two choices: of three origins, the busiest loses every duel (it is picked only when
// the random walk finds no second candidate, which is rare).
TEST_F(OriginHealth, TheBusiestOfThreeOriginsIsRarelyPicked) {
  config_.origins.resize(3);
  config_.origins[2].url = "http://c";
  set_ = std::make_unique<OriginSet>(config_, &loop_, &stats_, &idle_, [](std::function<void()> fn) { fn(); });
  set_->state(0).outstanding = 2;
  set_->state(1).outstanding = 9;
  set_->state(2).outstanding = 1;
  int hits[3] = {0, 0, 0};
  for (int k = 0; k < 600; ++k) hits[set_->Pick(0, -1)]++;
  EXPECT_LT(hits[1], 30);
  EXPECT_GT(hits[0], 100);
  EXPECT_GT(hits[2], hits[0]);  // the idlest wins every duel it is in
}

// Defect d in fake time: an origin down for a long outage under steady load (a request every
// 10 ms, picked normally, failing to connect while it is down) gets traffic again within 2 s
// of coming back, however long the outage was.
TEST_F(OriginHealth, AnOriginBackFromALongOutageGetsTrafficWithinTwoSeconds) {
  for (const int64_t outage_ms : {500, 5000, 60000}) {
    set_ = std::make_unique<OriginSet>(config_, &loop_, &stats_, &idle_, [](std::function<void()> fn) { fn(); });
    int64_t back_at = -1;
    for (int64_t now = 0; now < outage_ms + 5000; now += 10) {
      const int i = set_->Pick(now, -1);
      if (i == 1 && now < outage_ms) {
        // Several requests were under way when it died: their failures land while it is out.
        for (int k = 0; k < 5; ++k) set_->ReportFailure(1, now, Failure::kConnect);
      } else {
        set_->ReportSuccess(i);
        if (i == 1 && back_at < 0) back_at = now;
      }
      EXPECT_LE(set_->state(1).backoff_ms, OriginSet::kConnectBackoffMs[1]);
    }
    ASSERT_GE(back_at, outage_ms) << outage_ms;
    EXPECT_LE(back_at - outage_ms, 2000) << outage_ms;
  }
}

TEST_F(OriginHealth, FailuresWhileEjectedAtTheCapDoNotExtendIt) {
  int64_t now = 0;
  Fail(0, now, OriginSet::kEjectAfter, Failure::kStatus5xx);
  while (set_->state(0).backoff_ms < OriginSet::kStatusBackoffMs[1]) {
    now = set_->state(0).ejected_until_ms;
    Fail(0, now, 1, Failure::kStatus5xx);
  }
  const int64_t until = set_->state(0).ejected_until_ms;
  EXPECT_EQ(until, now + OriginSet::kStatusBackoffMs[1]);
  Fail(0, until - 1, 100, Failure::kStatus5xx);
  Fail(0, now + 1, 100, Failure::kConnect);
  EXPECT_EQ(set_->state(0).ejected_until_ms, until);
  EXPECT_EQ(set_->state(0).backoff_ms, OriginSet::kStatusBackoffMs[1]);
}

// The pool, against a real loopback listener (connections are accepted by the kernel backlog).
// Weighted picks, active health (atomic verdicts) and failing open. Three origins; the
// config's policy fields are set per test and Pick reads them through the set's config.
class OriginPolicies : public ::testing::Test {
 protected:
  OriginPolicies() {
    config_.origins.resize(3);
    for (int i = 0; i < 3; ++i) config_.origins[i].url = absl::StrCat("http://o", i);
    set_ = std::make_unique<OriginSet>(config_, &loop_, &stats_, &idle_, [](std::function<void()> fn) { fn(); });
  }
  void Weigh(std::vector<uint32_t> weights) {
    config_.weights = weights;
    config_.total_weight = 0;
    for (uint32_t w : weights) config_.total_weight += w;
  }
  void Check() {
    for (int i = 0; i < 3; ++i) config_.health.push_back(std::make_shared<backends::OriginHealth>());
  }
  std::array<int, 3> Count(int picks, int64_t now = 0) {
    std::array<int, 3> n{};
    for (int k = 0; k < picks; ++k) n[set_->Pick(now, -1)]++;
    return n;
  }

  ProxyTarget config_;
  net::EventLoop loop_;
  stats::WorkerStats stats_;
  net::TimerList idle_{30000};
  std::unique_ptr<OriginSet> set_;
};

TEST_F(OriginPolicies, IdlePicksFollowTheWeightsAndWeightZeroGetsNothing) {
  Weigh({6, 3, 1});
  const std::array<int, 3> n = Count(20000);
  EXPECT_NEAR(n[0] / 20000.0, 0.6, 0.6 * 0.05);
  EXPECT_NEAR(n[1] / 20000.0, 0.3, 0.3 * 0.05);
  EXPECT_NEAR(n[2] / 20000.0, 0.1, 0.1 * 0.05);
  Weigh({1, 0, 1});
  EXPECT_EQ(Count(5000)[1], 0);
  EXPECT_FALSE(set_->Usable(1, 0, true));
}

TEST_F(OriginPolicies, UnderLoadTheLeastLoadedRelativeToWeightWins) {
  Weigh({3, 1, 0});
  set_->state(0).outstanding = 6;  // 2 per unit of weight
  set_->state(1).outstanding = 1;  // 1 per unit of weight: less loaded
  int to_1 = 0;
  for (int k = 0; k < 1000; ++k) to_1 += set_->Pick(0, -1) == 1;
  // Whenever both are drawn (about 3/8 of the picks) origin 1 wins; origin 0 wins only alone.
  EXPECT_GT(to_1, 250);
  set_->state(1).outstanding = 3;  // 3 per unit: now origin 0 is the less loaded one
  to_1 = 0;
  for (int k = 0; k < 1000; ++k) to_1 += set_->Pick(0, -1) == 1;
  EXPECT_LT(to_1, 150);  // only when drawn twice in a row (1/16)
}

TEST_F(OriginPolicies, OriginsFailingChecksGetNothingUntilAllFailThenFailOpen) {
  Check();
  config_.health[1]->healthy = false;
  std::array<int, 3> n = Count(3000);
  EXPECT_EQ(n[1], 0);
  EXPECT_GT(n[0], 1000);
  EXPECT_GT(n[2], 1000);
  EXPECT_EQ(stats_.health_fail_open, 0u);
  // The only healthy origin is the one just tried: it gets the retry, not an unhealthy one.
  config_.health[2]->healthy = false;
  for (int k = 0; k < 100; ++k) EXPECT_EQ(set_->Pick(0, 0), 0);
  config_.health[0]->healthy = false;
  n = Count(3000);
  EXPECT_GT(n[0] + n[1] + n[2], 0);
  EXPECT_GT(n[1], 500);  // every origin is used again
  EXPECT_EQ(stats_.health_fail_open, 3000u);
  // Passive ejection still applies while failing open.
  set_->ReportFailure(2, 0, Failure::kConnect);
  set_->ReportFailure(2, 0, Failure::kConnect);
  set_->ReportFailure(2, 0, Failure::kConnect);
  EXPECT_EQ(Count(3000, 1)[2], 0);
  config_.health[1]->healthy = true;
  n = Count(3000, 1);
  EXPECT_EQ(n[1], 3000);
}

class Pool : public ::testing::Test {
 protected:
  Pool() {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(listen(listener_, 16), 0);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    config_.origins.push_back(backends::ParseOrigin(absl::StrCat("http://127.0.0.1:", ntohs(addr.sin_port))));
    EXPECT_EQ(config_.origins[0].resolve_error, "");
    set_ = std::make_unique<OriginSet>(config_, &loop_, &stats_, &idle_, [](std::function<void()> fn) { fn(); });
  }
  ~Pool() override {
    set_.reset();
    close(listener_);
  }
  UpstreamConnection* Acquire(bool fresh = false) {
    std::string error;
    UpstreamConnection* c = set_->Acquire(0, &error, fresh);
    EXPECT_NE(c, nullptr) << error;
    return c;
  }

  int listener_ = -1;
  ProxyTarget config_;
  net::EventLoop loop_;
  stats::WorkerStats stats_;
  net::TimerList idle_{30000};
  std::unique_ptr<OriginSet> set_;
};

TEST_F(Pool, AReturnedConnectionIsHandedOutAgain) {
  UpstreamConnection* first = Acquire();
  EXPECT_FALSE(first->reused);
  set_->Release(first, true);
  EXPECT_TRUE(first->pooled);
  EXPECT_EQ(set_->state(0).idle.size(), 1u);
  UpstreamConnection* again = Acquire();
  EXPECT_EQ(again, first);
  EXPECT_TRUE(again->reused);
  EXPECT_FALSE(again->pooled);
  EXPECT_TRUE(set_->state(0).idle.empty());
  // A retry after a dead pooled connection asks for a fresh one even when others wait.
  set_->Release(again, true);
  UpstreamConnection* fresh = Acquire(/*fresh=*/true);
  EXPECT_NE(fresh, first);
  EXPECT_FALSE(fresh->reused);
  EXPECT_EQ(set_->state(0).idle.size(), 1u);
  set_->Release(fresh, false);  // not reusable: closed, not pooled
  EXPECT_EQ(set_->state(0).idle.size(), 1u);
}

TEST_F(Pool, AnIdleConnectionPastItsTimeoutIsClosedAndNotHandedOut) {
  UpstreamConnection* first = Acquire();
  set_->Release(first, true);
  idle_.Expire(loop_.now_ms() + idle_.timeout_ms() - 1);
  EXPECT_EQ(set_->state(0).idle.size(), 1u);  // not yet
  idle_.Expire(loop_.now_ms() + idle_.timeout_ms());
  EXPECT_TRUE(set_->state(0).idle.empty());
  UpstreamConnection* next = Acquire();
  EXPECT_FALSE(next->reused);
  set_->Release(next, false);
}

// Pools outlive config objects: a snapshot's new ProxyTarget with the same pool key finds the
// same set (its connections and health), while a different key under a colliding pool_id
// never shares it.
TEST(UpstreamPools, FindsBySameKeyAcrossConfigObjectsAndNeverAcrossKeys) {
  net::EventLoop loop;
  stats::WorkerStats stats;
  net::TimerList idle{30000};
  auto run_now = [](std::function<void()> fn) { fn(); };
  auto target = [](const std::string& key) {
    ProxyTarget t;
    t.origins.resize(1);
    t.origins[0].url = "http://a";
    t.pool_key = key;
    t.pool_id = 7;  // the same hash for every key here: a collision by construction
    return t;
  };
  UpstreamPools pools;
  const ProxyTarget first = target("key-a");
  EXPECT_EQ(pools.Find(first, 0), nullptr);
  OriginSet* set = pools.Add(first, &loop, &stats, &idle, run_now, 0);
  EXPECT_EQ(pools.Find(first, 1), set);

  const ProxyTarget newer = target("key-a");  // the next snapshot's object for the same backend
  EXPECT_EQ(pools.Find(newer, 2), set);
  EXPECT_TRUE(set->LastConfigIs(newer));
  EXPECT_EQ(set->last_used_ms, 2);

  const ProxyTarget other = target("key-b");
  EXPECT_EQ(pools.Find(other, 3), nullptr);  // the colliding id is not taken as a match
  OriginSet* other_set = pools.Add(other, &loop, &stats, &idle, run_now, 3);
  EXPECT_EQ(pools.Find(other, 4), other_set);
  EXPECT_EQ(other_set->pool_key(), "key-b");
}

}  // namespace
}  // namespace edgerouter::proxy
