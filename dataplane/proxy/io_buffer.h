// A growable byte buffer with a consumed prefix, compacted lazily. One per connection
// direction; capacity is kept while a request is in flight and given back (Release) when a
// keep-alive connection goes idle, so idle connections hold no buffers (nginx does the same).
// Growth does not zero-fill.
#ifndef EDGEROUTER_DATAPLANE_PROXY_IO_BUFFER_H_
#define EDGEROUTER_DATAPLANE_PROXY_IO_BUFFER_H_

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/strings/string_view.h"

namespace edgerouter::proxy {

// Bytes read per read() call.
constexpr size_t kReadChunk = 16 * 1024;
// Bytes queued towards a peer before we stop reading from the other side (backpressure).
constexpr size_t kMaxPending = 64 * 1024;

class IoBuffer {
 public:
  IoBuffer() = default;
  ~IoBuffer() { std::free(data_); }
  IoBuffer(const IoBuffer&) = delete;
  IoBuffer& operator=(const IoBuffer&) = delete;

  absl::string_view view() const { return absl::string_view(data_ + start_, end_ - start_); }
  size_t size() const { return end_ - start_; }
  bool empty() const { return start_ == end_; }
  void Consume(size_t n) {
    start_ += n;
    if (start_ == end_) start_ = end_ = 0;
  }
  void Append(absl::string_view bytes) {
    char* dst = Reserve(bytes.size());
    std::memcpy(dst, bytes.data(), bytes.size());
    Commit(bytes.size());
  }
  // Space for at least `n` more bytes at the end; Commit() what was written.
  char* Reserve(size_t n) {
    if (capacity_ - end_ < n) {
      if (start_ > 0) {  // compact first
        std::memmove(data_, data_ + start_, end_ - start_);
        end_ -= start_;
        start_ = 0;
      }
      if (capacity_ - end_ < n) {
        const size_t grown = std::max(capacity_ * 2, end_ + n);
        char* bigger = static_cast<char*>(std::realloc(data_, grown));
        if (bigger == nullptr) std::abort();  // out of memory: nothing sensible to do per request
        data_ = bigger;
        capacity_ = grown;
      }
    }
    return data_ + end_;
  }
  size_t writable() const { return capacity_ - end_; }
  void Commit(size_t n) { end_ += n; }
  void Clear() { start_ = end_ = 0; }
  // Frees the memory if the buffer is empty (an idle connection keeps none).
  void Release() {
    if (start_ != end_) return;
    std::free(data_);
    data_ = nullptr;
    capacity_ = start_ = end_ = 0;
  }

 private:
  char* data_ = nullptr;
  size_t capacity_ = 0;
  size_t start_ = 0;
  size_t end_ = 0;
};

}  // namespace edgerouter::proxy

#endif  // EDGEROUTER_DATAPLANE_PROXY_IO_BUFFER_H_
