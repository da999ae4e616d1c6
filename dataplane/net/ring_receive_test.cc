#include "dataplane/net/ring_receive.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/net/event_loop.h"
#include "gtest/gtest.h"

namespace edgerouter::net {
namespace {

std::array<int, 2> Pair() {
  std::array<int, 2> fds{-1, -1};
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds.data()), 0);
  return fds;
}

std::string Pattern(size_t n, size_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  return s;
}

// One attached socket's handler: takes at most `take` bytes per OnIo (0: all there is).
struct RingEnd : IoHandler {
  RingEnd(EventLoop* l, int f) : loop(l), fd(f) {}
  EventLoop* loop;
  int fd;
  size_t take = 0;
  std::string got;
  std::vector<uint32_t> events;
  bool eof = false;
  std::function<void()> on_eof;
  void OnIo(uint32_t ev) override {
    events.push_back(ev);
    char buf[64 * 1024];
    for (;;) {
      const size_t want = take == 0 ? sizeof(buf) : take;
      const ssize_t n = loop->Receive(fd, buf, want);
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
        if (take != 0) return;  // one piece per turn: the rest must be reported again
        continue;
      }
      if (n == 0 && !eof) {
        eof = true;
        if (on_eof) on_eof();
      }
      return;
    }
  }
};

// Attaches `end` (skips the test where the kernel's io_uring cannot receive this way).
#define ATTACH_OR_SKIP(loop, end, events)                                           \
  do {                                                                              \
    if (!(loop).ReceiveThroughRing((end).fd, 0, &(end))) {                          \
      GTEST_SKIP() << "no io_uring receives here (kernel before 6.15 or disabled)"; \
    }                                                                               \
    (loop).Add((end).fd, (events), &(end));                                         \
  } while (0)

// Bytes come in order, a handler that takes only part of them is called again on the next turns
// (level-triggered, as epoll), and the end comes after the last byte, with EPOLLRDHUP.
TEST(RingReceive, BytesComeInOrderLevelTriggeredThenTheEnd) {
  EventLoop loop;
  auto fds = Pair();
  RingEnd end(&loop, fds[0]);
  end.take = 7;
  end.on_eof = [&] { loop.Stop(); };
  ATTACH_OR_SKIP(loop, end, EPOLLIN | EPOLLRDHUP);
  const std::string sent = Pattern(30, 1);
  ASSERT_EQ(write(fds[1], sent.data(), sent.size()), 30);
  shutdown(fds[1], SHUT_WR);
  std::thread runner([&] { loop.Run(); });
  runner.join();
  EXPECT_EQ(end.got, sent);
  ASSERT_GE(end.events.size(), 5u);  // 30 bytes, 7 per turn, then the end
  EXPECT_TRUE(end.events.back() & EPOLLRDHUP);
  for (uint32_t ev : end.events) EXPECT_TRUE(ev & EPOLLIN);
  loop.CloseSocket(fds[0]);
  close(fds[1]);
}

// Closing an attached socket cancels its receive: the ring no longer holds the socket, so the
// peer sees the end (without the cancel it would wait for ever).
TEST(RingReceive, ClosingAnAttachedSocketLetsItGo) {
  EventLoop loop;
  auto fds = Pair();
  RingEnd end(&loop, fds[0]);
  ATTACH_OR_SKIP(loop, end, EPOLLIN | EPOLLRDHUP);
  std::thread runner([&] { loop.Run(); });
  // The first turn's wait armed its receive; the close comes a turn later.
  loop.Post([&] { loop.Post([&] { loop.CloseSocket(end.fd); }); });
  pollfd p{fds[1], POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 20000), 1) << "the closed socket is still held open";
  char c;
  EXPECT_EQ(read(fds[1], &c, 1), 0);
  loop.Stop();
  runner.join();
  close(fds[1]);
}

// A socket whose handler does not read holds at most 2 × kHoldLimit: its receive ends and is
// not armed again, and the writer is held back by the socket's own buffers. Once the handler
// reads again every byte arrives, in order.
TEST(RingReceive, ASocketThatDoesNotReadIsPausedAndLosesNothing) {
  EventLoop loop;
  auto fds = Pair();
  RingEnd end(&loop, fds[0]);
  ATTACH_OR_SKIP(loop, end, EPOLLRDHUP);  // no EPOLLIN: nothing wanted yet
  constexpr size_t kTotal = 8 << 20;
  const std::string sent = Pattern(kTotal, 2);
  std::atomic<size_t> written{0};
  std::thread writer([&] {
    pollfd p{fds[1], POLLOUT, 0};
    while (written < kTotal) {
      const ssize_t n = write(fds[1], sent.data() + written, kTotal - written);
      if (n > 0) {
        written += static_cast<size_t>(n);
      } else if (errno == EAGAIN) {
        poll(&p, 1, -1);
      } else {
        return;
      }
    }
    shutdown(fds[1], SHUT_WR);
  });
  size_t written_when_paused = 0;
  bool resumed = false;
  end.on_eof = [&] { loop.Stop(); };
  loop.AddIterationHook([&] {
    // Paused: no receive on the ring, and what it holds reached the limit.
    if (resumed || !loop.ring_receiver_for_test()->paused(end.fd)) return;
    EXPECT_GE(loop.ring_receiver_for_test()->held(end.fd), RingReceiver::kHoldLimit);
    EXPECT_LE(loop.ring_receiver_for_test()->held(end.fd), 2 * RingReceiver::kHoldLimit);
    written_when_paused = written;
    resumed = true;
    loop.Modify(end.fd, EPOLLIN | EPOLLRDHUP, &end);  // reads from now on
  });
  std::thread runner([&] { loop.Run(); });
  loop.Post([] {});
  runner.join();
  writer.join();
  EXPECT_TRUE(resumed);
  EXPECT_LT(written_when_paused, kTotal) << "the writer was never held back";
  EXPECT_EQ(end.got.size(), kTotal);
  EXPECT_TRUE(end.got == sent) << "bytes lost or out of order";
  loop.CloseSocket(fds[0]);
  close(fds[1]);
}

// More bytes in one turn than the pool holds (200 sockets × 48 KiB against 4 MiB): receives
// that ran out of buffers are armed again, and every socket gets all of its bytes.
TEST(RingReceive, MoreBytesThanThePoolHoldsAllArrive) {
  EventLoop loop;
  constexpr int kSockets = 200;
  constexpr size_t kEach = 48 << 10;
  std::vector<std::array<int, 2>> pairs;
  std::vector<std::unique_ptr<RingEnd>> ends;
  int done = 0;
  for (int i = 0; i < kSockets; ++i) {
    pairs.push_back(Pair());
    int big = 1 << 20;
    setsockopt(pairs[i][1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    auto end = std::make_unique<RingEnd>(&loop, pairs[i][0]);
    end->on_eof = [&] {
      if (++done == kSockets) loop.Stop();
    };
    ATTACH_OR_SKIP(loop, *end, EPOLLIN | EPOLLRDHUP);
    const std::string data = Pattern(kEach, static_cast<size_t>(i));
    ASSERT_EQ(write(pairs[i][1], data.data(), data.size()), static_cast<ssize_t>(kEach)) << i;
    shutdown(pairs[i][1], SHUT_WR);
    ends.push_back(std::move(end));
  }
  std::thread runner([&] { loop.Run(); });
  runner.join();
  for (int i = 0; i < kSockets; ++i) {
    EXPECT_TRUE(ends[i]->got == Pattern(kEach, static_cast<size_t>(i))) << i << ": " << ends[i]->got.size();
    loop.CloseSocket(pairs[i][0]);
    close(pairs[i][1]);
  }
}

// Sockets come and go (with bytes, with their end, or with neither when closed): the slot of a
// closed socket is reused once its receive's last completion came, so the table stays about as
// large as the most sockets open at once (200 rounds of 5 would leave 1,000 otherwise).
TEST(RingReceive, SlotsOfClosedSocketsAreReused) {
  EventLoop loop;
  if (!loop.receives_through_ring()) GTEST_SKIP() << "no io_uring receives here";
  constexpr int kRounds = 200;
  constexpr int kOpen = 5;
  std::vector<std::unique_ptr<RingEnd>> ends;
  std::vector<int> peers;
  int round = 0;
  std::function<void()> step = [&] {
    for (auto& end : ends) loop.CloseSocket(end->fd);
    for (int peer : peers) close(peer);
    ends.clear();
    peers.clear();
    if (round++ == kRounds) {
      loop.Stop();
      return;
    }
    for (int i = 0; i < kOpen; ++i) {
      auto fds = Pair();
      ends.push_back(std::make_unique<RingEnd>(&loop, fds[0]));
      ASSERT_TRUE(loop.ReceiveThroughRing(fds[0], 0, ends.back().get()));
      loop.Add(fds[0], EPOLLIN | EPOLLRDHUP, ends.back().get());
      if (i % 3 == 1) ASSERT_EQ(write(fds[1], "x", 1), 1);
      if (i % 3 == 2) shutdown(fds[1], SHUT_WR);
      peers.push_back(fds[1]);
    }
    loop.Post([&] { loop.Post(step); });  // two turns: the receives are armed and may complete
  };
  std::thread runner([&] { loop.Run(); });
  loop.Post(step);
  runner.join();
  EXPECT_LE(loop.ring_receiver_for_test()->slot_count(), 4u * kOpen);
}

// Without the ring's receives (flag off), nothing attaches and Receive is a plain read.
TEST(RingReceive, OffMeansPlainReads) {
  EventLoop loop(/*batch_io=*/true, /*ring_wait=*/true, /*ring_receive=*/false);
  auto fds = Pair();
  RingEnd end(&loop, fds[0]);
  EXPECT_FALSE(loop.ReceiveThroughRing(fds[0], 0, &end));
  ASSERT_EQ(write(fds[1], "abc", 3), 3);
  char buf[8];
  EXPECT_EQ(loop.Receive(fds[0], buf, sizeof(buf)), 3);
  EXPECT_EQ(loop.Receive(fds[0], buf, sizeof(buf)), -1);
  EXPECT_EQ(errno, EAGAIN);
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace edgerouter::net
