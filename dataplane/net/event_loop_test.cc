#include "dataplane/net/event_loop.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace edgerouter::net {
namespace {

struct Recorder : TimerTarget {
  std::vector<int> fired;
  void OnTimer(int kind) override { fired.push_back(kind); }
};

TEST(TimerList, FiresInDeadlineOrderAndRearmMovesToTheBack) {
  TimerList list(100);
  Recorder r;
  Timer a, b, c;
  for (auto [t, k] : {std::pair{&a, 1}, std::pair{&b, 2}, std::pair{&c, 3}}) {
    t->target = &r;
    t->kind = k;
  }
  list.Arm(&a, 0);
  list.Arm(&b, 10);
  list.Arm(&c, 20);
  list.Arm(&a, 30);  // re-armed: now last
  EXPECT_EQ(list.next_deadline(), 110);
  list.Expire(115);
  EXPECT_EQ(r.fired, std::vector<int>{2});
  TimerList::Disarm(&c);
  list.Expire(1000);
  EXPECT_EQ(r.fired, (std::vector<int>{2, 1}));
  EXPECT_FALSE(a.armed());
  EXPECT_EQ(list.next_deadline(), INT64_MAX);
}

TEST(TimerList, ArmAtKeepsDeadlineOrderWhateverTheArmingOrder) {
  TimerList list(0);
  Recorder r;
  Timer t[5];
  const int64_t deadlines[5] = {50, 10, 30, 70, 10};
  for (int i = 0; i < 5; ++i) {
    t[i].target = &r;
    t[i].kind = i;
    list.ArmAt(&t[i], deadlines[i]);
  }
  list.ArmAt(&t[3], 5);  // re-armed earlier: moves to the front
  EXPECT_EQ(list.next_deadline(), 5);
  list.Expire(30);
  EXPECT_EQ(r.fired, (std::vector<int>{3, 1, 4, 2}));
  list.Expire(100);
  EXPECT_EQ(r.fired, (std::vector<int>{3, 1, 4, 2, 0}));
  EXPECT_EQ(list.next_deadline(), INT64_MAX);
}

TEST(EventLoop, PostFromAnotherThreadRunsOnTheLoopAndStopEndsIt) {
  EventLoop loop;
  std::thread::id ran_on;
  std::thread runner([&] { loop.Run(); });
  loop.Post([&] {
    ran_on = std::this_thread::get_id();
    loop.Stop();
  });
  runner.join();
  EXPECT_NE(ran_on, std::thread::id());
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

// A task posted to a loop that has ended would wait for ever (a metrics scrape during
// shutdown did): tasks queued before the end run on the way out, later ones are refused, and
// RunOnLoop runs them on the caller's thread instead.
TEST(EventLoop, TasksPostedAroundTheEndRunOrAreRefused) {
  EventLoop loop;
  std::thread runner([&] { loop.Run(); });
  bool queued_ran = false;
  loop.Post([&] {
    loop.Stop();
    // Queued while the loop is stopping: still runs, on the loop thread.
    loop.Post([&] { queued_ran = true; });
  });
  runner.join();
  EXPECT_TRUE(queued_ran);
  EXPECT_FALSE(loop.Post([] {}));
  std::thread::id ran_on;
  loop.RunOnLoop([&] { ran_on = std::this_thread::get_id(); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

}  // namespace
}  // namespace edgerouter::net
