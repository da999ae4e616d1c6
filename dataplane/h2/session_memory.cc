#include "dataplane/h2/session_memory.h"

#include <cstdlib>
#include <cstring>

namespace edgerouter::h2 {

SessionMemory::~SessionMemory() {
  for (int c = 0; c < kClasses; ++c) {
    for (int i = 0; i < count_[c]; ++i) std::free(static_cast<char*>(free_[c][i]) - kHeader);
  }
}

void* SessionMemory::AllocateNew(size_t capacity) {
  char* block = static_cast<char*>(std::malloc(kHeader + capacity));
  if (block == nullptr) return nullptr;
  *reinterpret_cast<size_t*>(block) = capacity;
  return block + kHeader;
}

void SessionMemory::FreeBlock(void* p) { std::free(static_cast<char*>(p) - kHeader); }

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
