// The snapshot writer: submissions never wait for a write in progress, are written in order,
// a backlog folds into one whole-state write, and Flush/destruction write what is pending.
#include "dataplane/xds/snapshot_writer.h"

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace edgerouter::xds {
namespace {

using discovery::v1::DiscoveryResponse;

struct Written {
  std::string version;
  bool full_state;
  std::vector<std::string> resources;  // names in the record
  size_t state_size;                   // resources in the state it was given
};

// Records every write; the first one blocks until `release` (a disk stalled in fdatasync).
class Disk {
 public:
  SnapshotWriter::RecordFn fn(bool block_first, absl::Status result = absl::OkStatus()) {
    return [this, block_first, result](const DiscoveryResponse& r, const std::string& version, const ResourceMap& m) {
      Written w{version, r.full_state(), {}, m.size()};
      for (const auto& res : r.resources()) w.resources.push_back(res.name());
      bool first;
      {
        absl::MutexLock lock(&mu_);
        first = writes_.empty() && !entered_.HasBeenNotified();
      }
      if (first) entered_.Notify();
      if (first && block_first) release_.WaitForNotification();
      absl::MutexLock lock(&mu_);
      writes_.push_back(std::move(w));
      return result;
    };
  }
  std::vector<Written> writes() {
    absl::MutexLock lock(&mu_);
    return writes_;
  }
  absl::Notification entered_, release_;

 private:
  absl::Mutex mu_;
  std::vector<Written> writes_;
};

DiscoveryResponse Delta(const std::string& name) {
  DiscoveryResponse r;
  r.add_resources()->set_name(name);
  return r;
}

ResourceMap State(int n) {
  ResourceMap m;
  for (int i = 0; i < n; ++i) m.Set("app/" + std::to_string(i), std::make_shared<const snapshot::v1::Resource>());
  return m;
}

TEST(SnapshotWriter, SubmitDoesNotWaitForAStalledWriteAndOrderIsKept) {
  Disk disk;
  SnapshotWriter writer(disk.fn(/*block_first=*/true));
  writer.Submit(Delta("app/a"), "v1", State(1));
  disk.entered_.WaitForNotification();  // the first write is now stuck
  // Both return while the first write is blocked (were Submit to wait for the disk, this would
  // never get past it: the write is released only below).
  writer.Submit(Delta("app/b"), "v2", State(2));
  writer.Submit(Delta("app/c"), "v3", State(3));
  EXPECT_TRUE(disk.writes().empty());
  disk.release_.Notify();
  writer.Flush();
  std::vector<Written> w = disk.writes();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].version, "v1");
  EXPECT_EQ(w[1].version, "v2");
  EXPECT_EQ(w[2].version, "v3");
  EXPECT_EQ(w[2].resources, std::vector<std::string>{"app/c"});  // only the delta is carried
  EXPECT_EQ(w[2].state_size, 3u);
  EXPECT_FALSE(w[2].full_state);
  EXPECT_EQ(writer.stats().written, 3u);
  EXPECT_EQ(writer.stats().folded, 0u);
}

TEST(SnapshotWriter, BacklogFoldsIntoOneWriteOfTheNewestState) {
  Disk disk;
  SnapshotWriter writer(disk.fn(/*block_first=*/true), /*max_pending=*/2);
  writer.Submit(Delta("app/0"), "v0", State(1));
  disk.entered_.WaitForNotification();
  for (int i = 1; i <= 5; ++i) writer.Submit(Delta("app/" + std::to_string(i)), "v" + std::to_string(i), State(i + 1));
  disk.release_.Notify();
  writer.Flush();
  std::vector<Written> w = disk.writes();
  // v0 (in progress), then v1 v2 queued; v3 folds them into a base; v4 queued behind it;
  // v5 folds v3 and v4 again: v0, then v5 as a whole state.
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].version, "v0");
  EXPECT_EQ(w[1].version, "v5");
  EXPECT_TRUE(w[1].full_state);
  EXPECT_TRUE(w[1].resources.empty());
  EXPECT_EQ(w[1].state_size, 6u);
  EXPECT_EQ(writer.stats().folded, 4u);
  EXPECT_EQ(writer.stats().written, 2u);
}

TEST(SnapshotWriter, FullStateIsNotCopiedAndFailuresDoNotStopLaterWrites) {
  Disk disk;
  SnapshotWriter writer(disk.fn(/*block_first=*/false, absl::InternalError("disk full")));
  DiscoveryResponse full;
  full.set_full_state(true);
  for (int i = 0; i < 3; ++i) full.add_resources()->set_name("app/" + std::to_string(i));
  writer.Submit(full, "v1", State(3));
  writer.Submit(Delta("app/x"), "v2", State(4));
  writer.Flush();
  std::vector<Written> w = disk.writes();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_TRUE(w[0].full_state);
  EXPECT_TRUE(w[0].resources.empty());  // the state is written from the map, not the response
  EXPECT_EQ(w[0].state_size, 3u);
  EXPECT_EQ(w[1].version, "v2");
  EXPECT_EQ(writer.stats().failed, 2u);
}

TEST(SnapshotWriter, DestructionWritesWhatIsPending) {
  Disk disk;
  {
    SnapshotWriter writer(disk.fn(/*block_first=*/true));
    writer.Submit(Delta("app/a"), "v1", State(1));
    disk.entered_.WaitForNotification();
    writer.Submit(Delta("app/b"), "v2", State(2));
    disk.release_.Notify();
  }
  std::vector<Written> w = disk.writes();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[1].version, "v2");
}

}  // namespace
}  // namespace edgerouter::xds
