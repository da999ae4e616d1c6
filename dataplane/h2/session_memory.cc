#include "dataplane/h2/session_memory.h"

#include <cstdlib>
#include <cstring>

namespace edgerouter::h2 {
namespace {

// Each block starts with a header holding its capacity; 16 bytes keep malloc's alignment.
constexpr size_t kHeader = 16;

size_t& CapacityOf(void* p) { return *reinterpret_cast<size_t*>(static_cast<char*>(p) - kHeader); }

// The class of a capacity that is exactly a class size, else -1.
int ClassOfCapacity(size_t capacity) {
  size_t size = SessionMemory::kSmallestClass;
  for (int c = 0; c < SessionMemory::kClasses; ++c, size *= 2) {
    if (capacity == size) return c;
  }
  return -1;
}

}  // namespace

SessionMemory::~SessionMemory() {
  for (int c = 0; c < kClasses; ++c) {
    for (int i = 0; i < count_[c]; ++i) std::free(static_cast<char*>(free_[c][i]) - kHeader);
  }
}

void* SessionMemory::Allocate(size_t size) {
  size_t capacity = kSmallestClass;
  int c = 0;
  while (capacity < size && c < kClasses) {
    capacity *= 2;
    ++c;
  }
  if (c == kClasses) {  // larger than the largest class: exactly what was asked
    capacity = size;
  } else if (count_[c] > 0) {
    cached_bytes_ -= capacity;
    return free_[c][--count_[c]];
  }
  char* block = static_cast<char*>(std::malloc(kHeader + capacity));
  if (block == nullptr) return nullptr;
  *reinterpret_cast<size_t*>(block) = capacity;
  return block + kHeader;
}

void SessionMemory::Free(void* p) {
  if (p == nullptr) return;
  const size_t capacity = CapacityOf(p);
  const int c = ClassOfCapacity(capacity);
  if (c >= 0 && count_[c] < kPerClass && cached_bytes_ + capacity <= kCachedBytes) {
    free_[c][count_[c]++] = p;
    cached_bytes_ += capacity;
    return;
  }
  std::free(static_cast<char*>(p) - kHeader);
}

void* SessionMemory::Reallocate(void* p, size_t size) {
  if (p == nullptr) return Allocate(size);
  const size_t capacity = CapacityOf(p);
  if (size <= capacity) return p;
  void* grown = Allocate(size);
  if (grown == nullptr) return nullptr;  // p stays valid, as with realloc
  std::memcpy(grown, p, capacity);
  Free(p);
  return grown;
}

void* SessionMemory::CallocCb(size_t n, size_t size, void* self) {
  if (size != 0 && n > SIZE_MAX / size) return nullptr;
  void* p = static_cast<SessionMemory*>(self)->Allocate(n * size);
  if (p != nullptr) std::memset(p, 0, n * size);
  return p;
}

size_t SessionMemory::cached_blocks() const {
  size_t n = 0;
  for (int c = 0; c < kClasses; ++c) n += count_[c];
  return n;
}

}  // namespace edgerouter::h2
