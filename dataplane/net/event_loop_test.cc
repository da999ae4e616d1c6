#include "dataplane/net/event_loop.h"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>
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

// One end of a socket pair, read and written through the loop's batches.
struct BatchedEnd : IoHandler {
  EventLoop* loop = nullptr;
  int fd = -1;
  char buf[64] = {};
  std::vector<std::string> order;  // what the loop called, in order
  ssize_t ahead = 0;
  std::string to_send;
  ssize_t written = -1;
  ReadTarget ReadAheadTarget() override {
    order.push_back("target");
    return {fd, buf, sizeof(buf)};
  }
  void OnReadAhead(ssize_t result) override {
    order.push_back("ahead");
    ahead = result;
  }
  void OnIo(uint32_t) override {
    order.push_back("io");
    loop->Modify(fd, 0, this);  // once is enough
  }
  WriteSource PendingWrite() override { return {fd, to_send.data(), to_send.size()}; }
  void OnWritten(ssize_t result) override { written = result; }
};

struct Pairs {
  explicit Pairs(int n) : fds(n) {
    for (auto& p : fds) EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p.data()), 0);
  }
  ~Pairs() {
    for (auto& p : fds) {
      close(p[0]);
      close(p[1]);
    }
  }
  std::vector<std::array<int, 2>> fds;
};

// The reads of one turn are made before any handler runs, each into the target its handler
// named, and each result (bytes, 0 at EOF) reaches its handler before its OnIo.
TEST(EventLoop, ReadsOfATurnAreMadeAheadIntoEachHandlersTarget) {
  EventLoop loop;
  if (!loop.batches_io()) GTEST_SKIP() << "io_uring is not available here";
  Pairs pairs(3);
  BatchedEnd ends[3];
  const std::string sent[3] = {"first", "second one", ""};
  for (int i = 0; i < 3; ++i) {
    ends[i].loop = &loop;
    ends[i].fd = pairs.fds[i][0];
    if (sent[i].empty()) {
      shutdown(pairs.fds[i][1], SHUT_WR);  // EOF
    } else {
      ASSERT_EQ(write(pairs.fds[i][1], sent[i].data(), sent[i].size()), static_cast<ssize_t>(sent[i].size()));
    }
    loop.Add(ends[i].fd, EPOLLIN, &ends[i]);
  }
  std::thread runner([&] { loop.Run(); });
  loop.Post([&] { loop.Stop(); });
  runner.join();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ends[i].order, (std::vector<std::string>{"target", "ahead", "io"})) << i;
    EXPECT_EQ(ends[i].ahead, static_cast<ssize_t>(sent[i].size())) << i;
    EXPECT_EQ(std::string(ends[i].buf, sent[i].size()), sent[i]) << i;
  }
}

TEST(EventLoop, WithoutBatchingHandlersReadForThemselves) {
  EventLoop loop(/*batch_io=*/false);
  EXPECT_FALSE(loop.batches_io());
  Pairs pairs(2);
  BatchedEnd ends[2];
  for (int i = 0; i < 2; ++i) {
    ends[i].loop = &loop;
    ends[i].fd = pairs.fds[i][0];
    ASSERT_EQ(write(pairs.fds[i][1], "x", 1), 1);
    loop.Add(ends[i].fd, EPOLLIN, &ends[i]);
  }
  std::thread runner([&] { loop.Run(); });
  loop.Post([&] { loop.Stop(); });
  runner.join();
  for (auto& end : ends) EXPECT_EQ(end.order, std::vector<std::string>{"io"});
}

// Queued sends leave before the loop waits again, each handler's bytes to its own socket; a
// handler cancelled after queueing is never asked; a socket that cannot take everything
// reports the part it took. `ring_wait` false: the path of kernels without the ring's epoll
// wait (sends in one submission at the end of the turn).
void ExpectQueuedSendsLeaveInOneBatch(bool ring_wait) {
  EventLoop loop(/*batch_io=*/true, ring_wait);
  if (!loop.batches_io()) GTEST_SKIP() << "io_uring is not available here";
  Pairs pairs(4);
  BatchedEnd ends[4];
  for (int i = 0; i < 4; ++i) {
    ends[i].loop = &loop;
    ends[i].fd = pairs.fds[i][0];
    ends[i].to_send = "response " + std::to_string(i);
  }
  int small = 4096;
  ASSERT_EQ(setsockopt(ends[3].fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
  ends[3].to_send.assign(1 << 20, 'z');  // far more than the socket takes
  std::thread runner([&] { loop.Run(); });
  loop.Post([&] {
    for (auto& end : ends) loop.SendSoon(&end);
    loop.CancelSend(&ends[1]);  // closing before the batch: its bytes are dropped
    loop.Post([&] { loop.Stop(); });
  });
  runner.join();
  for (int i : {0, 2}) {
    EXPECT_EQ(ends[i].written, static_cast<ssize_t>(ends[i].to_send.size())) << i;
    char got[64];
    ASSERT_EQ(read(pairs.fds[i][1], got, sizeof(got)), static_cast<ssize_t>(ends[i].to_send.size()));
    EXPECT_EQ(std::string(got, ends[i].to_send.size()), ends[i].to_send);
  }
  EXPECT_EQ(ends[1].written, -1);  // never asked
  char none;
  EXPECT_EQ(read(pairs.fds[1][1], &none, 1), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_GT(ends[3].written, 0);
  EXPECT_LT(ends[3].written, static_cast<ssize_t>(ends[3].to_send.size()));
}

TEST(EventLoop, QueuedSendsLeaveInOneBatchAndEachHandlerGetsItsResult) {
  ExpectQueuedSendsLeaveInOneBatch(/*ring_wait=*/true);
}

TEST(EventLoop, WithoutTheRingsWaitQueuedSendsLeaveAtTheEndOfTheTurn) {
  ExpectQueuedSendsLeaveInOneBatch(/*ring_wait=*/false);
}

// A wait that the ring left armed (the loop went on with send results only) may end while the
// turn still runs, with events of handlers the turn then removes (and frees): those events
// must never reach them.
TEST(EventLoop, AHandlerRemovedDuringATurnGetsNoEventFromAWaitThatEndedBefore) {
  EventLoop loop;
  if (!loop.batches_io()) GTEST_SKIP() << "io_uring is not available here";
  Pairs pairs(2);
  BatchedEnd sender;
  sender.loop = &loop;
  sender.fd = pairs.fds[0][0];
  sender.to_send = "x";
  struct Removed : IoHandler {
    int calls_after_removal = 0;
    bool removed = false;
    void OnIo(uint32_t) override {
      if (removed) ++calls_after_removal;
    }
  } victim;
  const int victim_fd = pairs.fds[1][0];
  loop.Add(victim_fd, EPOLLIN, &victim);
  int turns = 0;
  loop.AddIterationHook([&] {
    ++turns;
    if (turns == 1) {
      loop.SendSoon(&sender);  // the next wait goes out with a send: it returns at once
    } else if (turns == 2) {
      // The wait is still armed. Make the victim readable (the wait may end right here, in
      // that write), then remove it, as a handler that closes does.
      ASSERT_EQ(write(pairs.fds[1][1], "y", 1), 1);
      loop.Remove(victim_fd);
      victim.removed = true;
      loop.Stop();  // the next wait (where a stale event would be handed out) is the last
    }
  });
  std::thread runner([&] { loop.Run(); });
  loop.Post([] {});  // the first turn
  runner.join();
  EXPECT_EQ(sender.written, 1);
  EXPECT_EQ(victim.calls_after_removal, 0);
}

}  // namespace
}  // namespace edgerouter::net
