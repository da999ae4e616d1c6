#include "dataplane/h2/session_memory.h"

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace edgerouter::h2 {
namespace {

TEST(SessionMemory, ReusesFreedBlocksOfTheSameClass) {
  SessionMemory memory;
  void* a = memory.Allocate(100);  // the 128-byte class
  std::memset(a, 'a', 100);
  memory.Free(a);
  EXPECT_EQ(memory.cached_blocks(), 1u);
  EXPECT_EQ(memory.Allocate(120), a);  // same class: the kept block
  EXPECT_EQ(memory.cached_blocks(), 0u);
  void* b = memory.Allocate(10);  // another class: a new block
  EXPECT_NE(b, a);
  memory.Free(a);
  memory.Free(b);
  memory.Free(nullptr);
  EXPECT_EQ(memory.cached_blocks(), 2u);
}

TEST(SessionMemory, LargeBlocksAndFullClassesGoBackToMalloc) {
  SessionMemory memory;
  void* big = memory.Allocate(100000);
  std::memset(big, 'b', 100000);
  memory.Free(big);
  EXPECT_EQ(memory.cached_blocks(), 0u);
  void* blocks[SessionMemory::kPerClass + 5];
  for (void*& p : blocks) p = memory.Allocate(64);
  for (void* p : blocks) memory.Free(p);
  EXPECT_EQ(memory.cached_blocks(), static_cast<size_t>(SessionMemory::kPerClass));
}

TEST(SessionMemory, KeepsAtMostItsByteBudget) {
  SessionMemory memory;
  void* blocks[8];
  for (void*& p : blocks) p = memory.Allocate(4096);
  for (void* p : blocks) memory.Free(p);
  EXPECT_EQ(memory.cached_blocks(), SessionMemory::kCachedBytes / 4096);
}

TEST(SessionMemory, ReallocKeepsTheBytesAndCallocZeroes) {
  SessionMemory memory;
  nghttp2_mem* mem = memory.mem();
  char* p = static_cast<char*>(mem->malloc(50, mem->mem_user_data));
  std::memcpy(p, "0123456789", 10);
  EXPECT_EQ(mem->realloc(p, 60, mem->mem_user_data), p);  // still fits its 64-byte block
  char* q = static_cast<char*>(mem->realloc(p, 5000, mem->mem_user_data));
  EXPECT_EQ(std::string(q, 10), "0123456789");
  std::memset(q, 'x', 5000);
  mem->free(q, mem->mem_user_data);
  auto* z = static_cast<unsigned char*>(mem->calloc(30, 4, mem->mem_user_data));
  for (int i = 0; i < 120; ++i) ASSERT_EQ(z[i], 0) << i;
  mem->free(z, mem->mem_user_data);
  EXPECT_EQ(mem->calloc(SIZE_MAX / 2, 4, mem->mem_user_data), nullptr);
}

// Every size maps to the smallest class that holds it: a freed block comes back for any size
// of its class (and is big enough for it), and never for a size of the next class up.
TEST(SessionMemory, EverySizeGetsTheSmallestClassThatHoldsIt) {
  SessionMemory memory;
  for (size_t size = 1; size <= SessionMemory::kLargestClass; ++size) {
    size_t class_bytes = SessionMemory::kSmallestClass;
    while (class_bytes < size) class_bytes *= 2;
    void* p = memory.Allocate(size);
    std::memset(p, 0xab, size);
    memory.Free(p);
    void* same_class = memory.Allocate(class_bytes);
    ASSERT_EQ(same_class, p) << size;
    std::memset(same_class, 0xcd, class_bytes);
    memory.Free(same_class);
    if (class_bytes < SessionMemory::kLargestClass) {
      void* bigger = memory.Allocate(class_bytes + 1);
      ASSERT_NE(bigger, p) << size;
      memory.Free(bigger);
    }
  }
}

}  // namespace
}  // namespace edgerouter::h2
