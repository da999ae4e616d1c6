#include "common/log/line_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace edgerouter::log {
namespace {

// A target nobody reads: callers keep going, the overflow is dropped and counted, and what was
// queued arrives once the target drains.
TEST(LineWriter, ABlockedTargetNeverBlocksCallersAndDropsAreCounted) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  // Fill the pipe so the writer thread's first write blocks.
  ASSERT_EQ(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
  const std::string chunk(4096, 'f');
  size_t filled = 0;
  for (ssize_t n; (n = write(fds[1], chunk.data(), chunk.size())) > 0;) filled += static_cast<size_t>(n);
  ASSERT_EQ(errno, EAGAIN);
  ASSERT_EQ(fcntl(fds[1], F_SETFL, 0), 0);

  const std::string line = std::string(99, 'x') + "\n";
  uint64_t accepted = 0;
  {
    LineWriter writer(fds[1], /*max_queued_bytes=*/1000);
    const absl::Time start = absl::Now();
    for (int i = 0; i < 100; ++i) accepted += writer.Submit(line);
    EXPECT_LT(absl::Now() - start, absl::Seconds(1));  // no caller waited for the pipe
    EXPECT_FALSE(writer.Flush(absl::Milliseconds(50)));  // nothing can be written yet
    EXPECT_GE(accepted, 10u);
    EXPECT_LE(accepted, 20u);  // at most one queue in flight, one queued
    EXPECT_EQ(writer.dropped_lines(), 100 - accepted);

    // Drain the pipe: every accepted line arrives, whole.
    std::string got;
    std::thread reader([&] {
      char buf[8192];
      for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) got.append(buf, static_cast<size_t>(n));
    });
    EXPECT_TRUE(writer.Flush(absl::Seconds(10)));
    close(fds[1]);  // the writer keeps its fd number; the reader sees EOF once it is closed
    reader.join();
    EXPECT_EQ(got.size(), filled + accepted * line.size());
    EXPECT_EQ(got.substr(filled), [&] {
      std::string want;
      for (uint64_t i = 0; i < accepted; ++i) want += line;
      return want;
    }());
  }
  close(fds[0]);
}

TEST(LineWriter, BatchesCountTheirLinesWhenDropped) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  LineWriter writer(fds[1], 10);
  std::string batch = "aaaa\nbbbb\ncccc\n";
  EXPECT_FALSE(writer.Submit(&batch, 3));
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(writer.dropped_lines(), 3u);
  batch = "dd\n";
  EXPECT_TRUE(writer.Submit(&batch, 1));
  EXPECT_TRUE(writer.Flush());
  char buf[16];
  EXPECT_EQ(read(fds[0], buf, sizeof(buf)), 3);
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace edgerouter::log
