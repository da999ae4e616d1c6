#include "dataplane/xds/snapshot_writer.h"

#include <utility>

#include "absl/time/clock.h"
#include "common/log/log.h"

namespace edgerouter::xds {

SnapshotWriter::SnapshotWriter(RecordFn record, size_t max_pending)
    : record_(std::move(record)), max_pending_(max_pending < 1 ? 1 : max_pending) {
  thread_ = std::thread([this] { Loop(); });
}

SnapshotWriter::~SnapshotWriter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void SnapshotWriter::Submit(const discovery::v1::DiscoveryResponse& response, std::string version,
                            ResourceMap resources) {
  Item item;
  if (response.full_state()) {
    item.record.set_full_state(true);
  } else {
    *item.record.mutable_resources() = response.resources();
    *item.record.mutable_removed_resources() = response.removed_resources();
  }
  item.version = std::move(version);
  item.resources = std::move(resources);
  item.submitted = absl::Now();
  absl::MutexLock lock(&mu_);
  ++submitted_;
  if (pending_.size() >= max_pending_) {
    // The disk is behind: the newest state as a new base replaces every pending delta.
    const uint64_t dropped = pending_.size();
    pending_.clear();
    done_ += dropped;
    stats_.folded += dropped;
    item.record.Clear();
    item.record.set_full_state(true);
  }
  pending_.push_back(std::move(item));
}

void SnapshotWriter::Flush() {
  absl::MutexLock lock(&mu_);
  struct Arg {
    SnapshotWriter* writer;
    uint64_t target;
  } arg{this, submitted_};
  mu_.Await(absl::Condition(
      +[](Arg* a) ABSL_NO_THREAD_SAFETY_ANALYSIS { return a->writer->done_ >= a->target; }, &arg));
}

SnapshotWriter::Stats SnapshotWriter::stats() {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void SnapshotWriter::Loop() {
  while (true) {
    Item item;
    size_t behind;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](SnapshotWriter* w) ABSL_NO_THREAD_SAFETY_ANALYSIS { return !w->pending_.empty() || w->stopping_; },
          this));
      if (pending_.empty()) return;  // stopping, and everything is written
      item = std::move(pending_.front());
      pending_.pop_front();
      behind = pending_.size();
    }
    const absl::Time start = absl::Now();
    const absl::Status s = record_(item.record, item.version, item.resources);
    if (!s.ok()) {
      log::Warn("snapshot not persisted").Kv("version", item.version).Kv("error", s.message());
    } else {
      log::Debug("snapshot persisted")
          .Kv("version", item.version)
          .Kv("full_state", static_cast<int>(item.record.full_state()))
          .Kv("resources", item.resources.size())
          .Kv("changed", item.record.resources_size())
          .Kv("pending", behind)
          .Ms("queued_ms", start - item.submitted)
          .Ms("persist_ms", absl::Now() - start);
    }
    item = Item();  // the state's last reference may be here: freed off the stream's thread too
    absl::MutexLock lock(&mu_);
    ++done_;
    ++(s.ok() ? stats_.written : stats_.failed);
  }
}

}  // namespace edgerouter::xds
