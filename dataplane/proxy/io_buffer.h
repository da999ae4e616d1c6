// A growable byte buffer with a consumed prefix, compacted lazily. One per connection
// direction; capacity is retained across requests, so steady-state keep-alive traffic does not
// allocate.
#ifndef EDGEROUTER_DATAPLANE_PROXY_IO_BUFFER_H_
#define EDGEROUTER_DATAPLANE_PROXY_IO_BUFFER_H_

#include <cstring>
#include <string>

#include "absl/strings/string_view.h"

namespace edgerouter::proxy {

// Bytes read per read() call.
constexpr size_t kReadChunk = 16 * 1024;
// Bytes queued towards a peer before we stop reading from the other side (backpressure).
constexpr size_t kMaxPending = 64 * 1024;

class IoBuffer {
 public:
  absl::string_view view() const { return absl::string_view(data_.data() + start_, end_ - start_); }
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
    if (data_.size() - end_ < n) {
      if (start_ > 0) {  // compact first
        std::memmove(data_.data(), data_.data() + start_, end_ - start_);
        end_ -= start_;
        start_ = 0;
      }
      if (data_.size() - end_ < n) data_.resize(std::max(data_.size() * 2, end_ + n));
    }
    return data_.data() + end_;
  }
  size_t writable() const { return data_.size() - end_; }
  void Commit(size_t n) { end_ += n; }
  void Clear() { start_ = end_ = 0; }

 private:
  std::string data_;
  size_t start_ = 0;
  size_t end_ = 0;
};

}  // namespace edgerouter::proxy

#endif  // EDGEROUTER_DATAPLANE_PROXY_IO_BUFFER_H_
