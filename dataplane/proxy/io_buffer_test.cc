#include "dataplane/proxy/io_buffer.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace edgerouter::proxy {
namespace {

// Under AddressSanitizer the cache is off (reuse would hide use-after-free), so tests of the
// reuse itself have nothing to check there.
#if defined(__SANITIZE_ADDRESS__)
#define SKIP_UNDER_ASAN() GTEST_SKIP() << "block cache disabled under AddressSanitizer"
#else
#define SKIP_UNDER_ASAN() (void)0
#endif

TEST(CopyShort, CopiesEveryLengthExactlyAndTouchesNothingAround) {
  std::string src(80, '\0');
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<char>('A' + i % 50);
  for (size_t n = 0; n <= 70; ++n) {
    std::string dst(90, '.');
    CopyShort(dst.data() + 3, src.data() + 1, n);
    EXPECT_EQ(dst.substr(0, 3), "...") << n;
    EXPECT_EQ(dst.substr(3, n), src.substr(1, n)) << n;
    EXPECT_EQ(dst.substr(3 + n), std::string(90 - 3 - n, '.')) << n;
  }
  CopyShort(nullptr, nullptr, 0);  // an empty view's null data is never read
}

TEST(RawWriter, WritesAHeadIntoOneReservationAfterWhatIsQueued) {
  IoBuffer b;
  b.Append("queued|");
  b.Consume(2);  // a consumed prefix: Reserve compacts or grows, the bytes stay in order
  const absl::string_view absent_reason;  // null data(): nothing is written for it
  const size_t bound = 9 + RawWriter::FieldSize("Server", "edge") + RawWriter::FieldSize("X-Empty", "") + 2;
  RawWriter w(b.Reserve(bound));
  w.Put("HTTP/1.1 ");
  w.Put(absent_reason);
  w.Field("Server", "edge");
  w.Field("X-Empty", "");
  w.Put2('\r', '\n');
  EXPECT_EQ(w.written(), bound);
  b.Commit(w.written());
  EXPECT_EQ(b.view(), "eued|HTTP/1.1 Server: edge\r\nX-Empty: \r\n\r\n");
}

TEST(IoBuffer, GrowsCompactsAndKeepsTheBytes) {
  IoBuffer b;
  std::string expected;
  for (int i = 0; i < 5000; ++i) {
    const std::string piece = "field-" + std::to_string(i) + ": value\r\n";
    b.Append(piece);
    expected += piece;
    if (i % 7 == 0) {  // consume some from the front now and then: compaction must keep order
      expected.erase(0, 3);
      b.Consume(3);
    }
  }
  EXPECT_EQ(b.view(), expected);
  b.Consume(b.size());
  EXPECT_TRUE(b.empty());
}

TEST(IoBuffer, ReleasedBlockServesTheNextBufferOnThisThread) {
  SKIP_UNDER_ASAN();
  const char* first;
  {
    IoBuffer a;
    a.Append("HTTP/1.1 200 OK\r\n");
    first = a.view().data();
    a.Consume(a.size());
    a.Release();
    EXPECT_TRUE(a.empty());
    IoBuffer b;
    b.Append("next request");
    EXPECT_EQ(b.view().data(), first) << "the released 4 KB block was not reused";
    EXPECT_EQ(b.view(), "next request");
  }
  // A buffer still holding bytes keeps them on Release.
  IoBuffer c;
  c.Append("pipelined");
  c.Release();
  EXPECT_EQ(c.view(), "pipelined");
}

TEST(BlockCache, OnlyPowerOfTwoBlocksWithinTheClassesAreKept) {
  SKIP_UNDER_ASAN();
  EXPECT_EQ(BlockCache::RoundUp(1), 4096u);
  EXPECT_EQ(BlockCache::RoundUp(4097), 8192u);
  EXPECT_EQ(BlockCache::RoundUp(65536), 65536u);
  char* block = static_cast<char*>(std::malloc(16384));
  BlockCache::Give(block, 16384);
  EXPECT_EQ(BlockCache::Take(16384), block);
  EXPECT_EQ(BlockCache::Take(16384), nullptr);
  BlockCache::Give(static_cast<char*>(std::malloc(1 << 20)), 1 << 20);  // too big: freed, not kept
  EXPECT_EQ(BlockCache::Take(1 << 20), nullptr);
  std::free(block);
}

// A turn in which 200 connections each take a 4 KB block (their response heads) and give it
// back leaves the next turn nothing to allocate: within the byte budget, a class holds as many
// blocks as a busy worker has connections in one turn (64 did not: a third of plain requests
// went to malloc under 64 keep-alive clients).
TEST(BlockCache, ABurstOfBlocksWithinTheBudgetIsKeptWhole) {
  SKIP_UNDER_ASAN();
  constexpr int kBurst = 200;
  ASSERT_LE(kBurst * 4096u, BlockCache::kCachedBytes);
  while (char* b = BlockCache::Take(4096)) std::free(b);  // what earlier tests left
  std::vector<char*> taken;
  for (int i = 0; i < kBurst; ++i) BlockCache::Give(static_cast<char*>(std::malloc(4096)), 4096);
  while (char* b = BlockCache::Take(4096)) taken.push_back(b);
  EXPECT_EQ(taken.size(), static_cast<size_t>(kBurst));
  for (char* b : taken) std::free(b);
}

TEST(BlockCache, HoldsAtMostItsByteBudget) {
  SKIP_UNDER_ASAN();
  int kept = 0;
  const int offered = static_cast<int>(BlockCache::kCachedBytes / 65536) + 10;
  for (int i = 0; i < offered; ++i) BlockCache::Give(static_cast<char*>(std::malloc(65536)), 65536);
  while (char* b = BlockCache::Take(65536)) {
    std::free(b);
    ++kept;
  }
  EXPECT_GT(kept, 0);
  EXPECT_LE(static_cast<size_t>(kept) * 65536, BlockCache::kCachedBytes);
}

}  // namespace
}  // namespace edgerouter::proxy
