#include <atomic>
#include <thread>

#include "absl/time/clock.h"
#include "dataplane/net/event_loop.h"
#include "dataplane/proxy/runtime_config.h"
#include "dataplane/proxy/worker.h"
#include "gtest/gtest.h"

namespace edgerouter::proxy {
namespace {

// A loop with nothing to do (no connection, no timer) sleeps in epoll_wait with no timeout; a
// worker moves to a new config only at the end of an iteration, so without the wake-up an idle
// worker would keep the old config (and its origins' health checkers) indefinitely.
TEST(ConfigSource, PublishWakesAnIdleWatchingLoop) {
  ConfigSource configs;
  net::EventLoop loop;
  std::atomic<int> iterations{0};
  std::atomic<uint64_t> seen{0};
  loop.AddIterationHook([&] {
    seen = configs.generation();
    ++iterations;
  });
  configs.Watch(&loop);
  std::thread thread([&] { loop.Run(); });
  struct Joiner {
    net::EventLoop* loop;
    std::thread* thread;
    ~Joiner() {
      loop->Stop();
      thread->join();
    }
  } joiner{&loop, &thread};
  auto wait_for = [&](auto done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!done() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
    return done();
  };
  // One task, so that an iteration has ended: the loop is idle in epoll_wait after it.
  loop.Post([] {});
  ASSERT_TRUE(wait_for([&] { return iterations.load() > 0; }));

  configs.Publish(std::make_shared<RuntimeConfig>());
  EXPECT_TRUE(wait_for([&] { return seen.load() == 1; })) << "the idle loop was not woken";
  configs.Publish(std::make_shared<RuntimeConfig>());
  EXPECT_TRUE(wait_for([&] { return seen.load() == 2; }));

  // Unwatched: publishing no longer touches the loop (it may be destroyed after this).
  configs.Unwatch(&loop);
  const int before = iterations.load();
  configs.Publish(std::make_shared<RuntimeConfig>());
  absl::SleepFor(absl::Milliseconds(100));  // a wake-up that should not come: nothing to await
  EXPECT_EQ(iterations.load(), before);
}

}  // namespace
}  // namespace edgerouter::proxy
