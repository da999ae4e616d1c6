// SnapshotStore on a real directory: deltas go to the journal (the base is not rewritten),
// loading replays them, a torn tail is ignored and cut, the journal is compacted into a new
// base once it outgrows the base, and a journal left from an older base is ignored.
#include "dataplane/xds/snapshot_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace edgerouter::xds {
namespace {

snapshot::v1::Resource App(const std::string& id, int generation) {
  snapshot::v1::Resource r;
  r.set_name("app/" + id);
  r.set_version(absl::StrCat(id, "-v", generation));
  r.mutable_app()->set_id(id);
  return r;
}

// A tiny data plane: applies responses to a map the way XdsClient does.
struct State {
  std::string version;
  ResourceMap resources;

  discovery::v1::DiscoveryResponse Full(const std::string& v, int apps) {
    discovery::v1::DiscoveryResponse resp;
    resp.set_version_info(v);
    resp.set_full_state(true);
    resources.Clear();
    for (int i = 0; i < apps; ++i) {
      *resp.add_resources() = App(absl::StrCat("a", i), 0);
      resources.Set(resp.resources(i).name(), std::make_shared<const snapshot::v1::Resource>(resp.resources(i)));
    }
    version = v;
    return resp;
  }
  discovery::v1::DiscoveryResponse Delta(const std::string& v, const std::string& id, int generation,
                                     const std::string& remove = "") {
    discovery::v1::DiscoveryResponse resp;
    resp.set_version_info(v);
    *resp.add_resources() = App(id, generation);
    resources.Set(resp.resources(0).name(), std::make_shared<const snapshot::v1::Resource>(resp.resources(0)));
    if (!remove.empty()) {
      resp.add_removed_resources(remove);
      resources.Erase(remove);
    }
    version = v;
    return resp;
  }
  snapshot::v1::Snapshot Snap() const { return ToSnapshot(version, resources); }
};

bool Same(const snapshot::v1::Snapshot& a, const snapshot::v1::Snapshot& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

snapshot::v1::Snapshot Loaded(const std::string& dir, absl::Status* status = nullptr) {
  SnapshotStore store(dir);
  std::string version;
  ResourceMap resources;
  absl::Status s = store.Load(&version, &resources);
  if (status != nullptr) *status = s;
  EXPECT_TRUE(s.ok() || status != nullptr) << s;
  return ToSnapshot(version, resources);
}

class SnapshotStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/er-store-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(SnapshotStoreTest, DeltasAreJournaledAndReplayed) {
  State state;
  SnapshotStore store(dir_);
  ASSERT_TRUE(store.Record(state.Full("v1", 50), state.version, state.resources).ok());
  const auto base_size = std::filesystem::file_size(store.base_path());
  const auto base_time = std::filesystem::last_write_time(store.base_path());
  ASSERT_TRUE(store.Record(state.Delta("v2", "a3", 1), state.version, state.resources).ok());
  ASSERT_TRUE(store.Record(state.Delta("v3", "new", 1, "app/a7"), state.version, state.resources).ok());
  // The base was not rewritten; the deltas are in the journal.
  EXPECT_EQ(std::filesystem::file_size(store.base_path()), base_size);
  EXPECT_EQ(std::filesystem::last_write_time(store.base_path()), base_time);
  EXPECT_GT(std::filesystem::file_size(store.journal_path()), 0u);
  EXPECT_TRUE(Same(Loaded(dir_), state.Snap())) << Loaded(dir_).DebugString();
  EXPECT_EQ(Loaded(dir_).version(), "v3");

  // A store that loaded the files appends after them.
  SnapshotStore again(dir_);
  std::string version;
  ResourceMap resources;
  ASSERT_TRUE(again.Load(&version, &resources).ok());
  ASSERT_TRUE(again.Record(state.Delta("v4", "a9", 2), state.version, state.resources).ok());
  EXPECT_TRUE(Same(Loaded(dir_), state.Snap()));
}

TEST_F(SnapshotStoreTest, TornTailIsIgnoredAndCutBeforeTheNextAppend) {
  State state;
  SnapshotStore store(dir_);
  ASSERT_TRUE(store.Record(state.Full("v1", 10), state.version, state.resources).ok());
  ASSERT_TRUE(store.Record(state.Delta("v2", "a1", 1), state.version, state.resources).ok());
  const snapshot::v1::Snapshot at_v2 = state.Snap();
  const auto good = std::filesystem::file_size(store.journal_path());
  ASSERT_TRUE(store.Record(state.Delta("v3", "a2", 1), state.version, state.resources).ok());
  const auto full = std::filesystem::file_size(store.journal_path());

  // A crash halfway through the last record.
  std::filesystem::resize_file(store.journal_path(), good + (full - good) / 2);
  EXPECT_TRUE(Same(Loaded(dir_), at_v2)) << Loaded(dir_).DebugString();
  // A bit flipped in the last record's payload: the checksum catches it.
  {
    std::filesystem::resize_file(store.journal_path(), good);
    State other = state;
    SnapshotStore s2(dir_);
    std::string v;
    ResourceMap r;
    ASSERT_TRUE(s2.Load(&v, &r).ok());
    ASSERT_TRUE(s2.Record(other.Delta("v3", "a2", 1), other.version, other.resources).ok());
    std::fstream f(store.journal_path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(full) - 3);
    f.put('\x7f');
  }
  EXPECT_TRUE(Same(Loaded(dir_), at_v2));

  // The next append goes after the last good record, not after the garbage.
  State resumed;
  SnapshotStore s3(dir_);
  ASSERT_TRUE(s3.Load(&resumed.version, &resumed.resources).ok());
  ASSERT_TRUE(s3.Record(resumed.Delta("v4", "a5", 3), resumed.version, resumed.resources).ok());
  const snapshot::v1::Snapshot loaded = Loaded(dir_);
  EXPECT_EQ(loaded.version(), "v4");
  EXPECT_TRUE(Same(loaded, resumed.Snap())) << loaded.DebugString();
}

TEST_F(SnapshotStoreTest, JournalIsCompactedIntoANewBaseWhenItOutgrowsTheBase) {
  State state;
  SnapshotStore store(dir_, /*min_compact_bytes=*/0);
  ASSERT_TRUE(store.Record(state.Full("v1", 5), state.version, state.resources).ok());
  const auto base_size = std::filesystem::file_size(store.base_path());
  int n = 0;
  while (store.compactions() == 0 && n < 1000) {
    ++n;
    ASSERT_TRUE(store.Record(state.Delta(absl::StrCat("d", n), absl::StrCat("x", n), n), state.version,
                             state.resources)
                    .ok());
    EXPECT_TRUE(Same(Loaded(dir_), state.Snap())) << "after delta " << n;
  }
  ASSERT_EQ(store.compactions(), 1u);
  EXPECT_GT(n, 1);  // not on every delta: only once the journal is larger than the base
  // The new base holds everything; the journal starts over (header only).
  EXPECT_GT(std::filesystem::file_size(store.base_path()), base_size);
  EXPECT_LT(std::filesystem::file_size(store.journal_path()), 32u);
  SnapshotStore fresh(dir_);
  std::string version;
  ResourceMap resources;
  ASSERT_TRUE(fresh.Load(&version, &resources).ok());
  EXPECT_EQ(version, state.version);
  // Appends continue on the compacted state.
  ASSERT_TRUE(store.Record(state.Delta("after", "y", 1), state.version, state.resources).ok());
  EXPECT_TRUE(Same(Loaded(dir_), state.Snap()));
}

TEST_F(SnapshotStoreTest, JournalOfAnOlderBaseIsIgnored) {
  State state;
  SnapshotStore store(dir_);
  ASSERT_TRUE(store.Record(state.Full("v1", 3), state.version, state.resources).ok());
  ASSERT_TRUE(store.Record(state.Delta("v2", "a1", 1), state.version, state.resources).ok());
  const std::string old_journal = dir_ + "/old.journal";
  std::filesystem::copy_file(store.journal_path(), old_journal);
  // A full state rewrites the base; then a crash before the journal was replaced.
  ASSERT_TRUE(store.Record(state.Full("v9", 4), state.version, state.resources).ok());
  std::filesystem::copy_file(old_journal, store.journal_path(), std::filesystem::copy_options::overwrite_existing);
  const snapshot::v1::Snapshot loaded = Loaded(dir_);
  EXPECT_EQ(loaded.version(), "v9");
  EXPECT_TRUE(Same(loaded, state.Snap()));
}

TEST_F(SnapshotStoreTest, MissingOrCorruptBase) {
  absl::Status s;
  Loaded(dir_, &s);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  SnapshotStore store(dir_);
  std::ofstream(store.base_path()) << "not a snapshot";
  Loaded(dir_, &s);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find(store.base_path()), absl::string_view::npos) << s;
}

}  // namespace
}  // namespace edgerouter::xds
