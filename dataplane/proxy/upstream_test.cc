// Passive health of an origin set, with the clock as a plain number (Pick and the reports take
// `now_ms`).
#include "dataplane/proxy/upstream.h"

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

}  // namespace
}  // namespace edgerouter::proxy
