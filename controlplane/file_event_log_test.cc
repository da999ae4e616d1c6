#include "controlplane/file_event_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/event_line.h"
#include "gtest/gtest.h"

namespace edgerouter::controlplane {
namespace {

class FileEventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/er-eventlog-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<FileEventLog> OpenLog(std::vector<std::string>* notes = nullptr) {
    std::vector<std::string> ignored;
    auto log = FileEventLog::Open(dir_, notes ? notes : &ignored);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *std::move(log) : nullptr;
  }

  static std::vector<events::v1::Event> Batch(const std::string& id) {
    return {MakeSystemEvent("AppDeleted", absl::StrCat(R"({"Id":")", id, R"("})"))};
  }

  std::string dir_;
};

TEST_F(FileEventLogTest, AppendsGaplessVersionsAndReadsThemBack) {
  auto log = OpenLog();
  EXPECT_EQ(log->Head("/t-1/loadbalancer"), 0u);
  EXPECT_EQ(*log->Append("/t-1/loadbalancer", Batch("a"), std::nullopt), 1u);
  EXPECT_EQ(*log->Append("/t-1/loadbalancer", Batch("b"), 1), 2u);
  EXPECT_EQ(*log->Append("/t-1/certbus", Batch("c"), 0), 1u);
  auto entries = log->ReadAfter("/t-1/loadbalancer", 0, 100);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[1].version, 2u);
  EXPECT_EQ((*entries)[1].events[0].payload_json(), R"({"Id":"b"})");
  EXPECT_EQ(log->ReadAfter("/t-1/loadbalancer", 1, 100)->size(), 1u);
  EXPECT_EQ(log->ReadAfter("/t-1/loadbalancer", 0, 1)->size(), 1u);
  EXPECT_EQ(log->ReadAfter("/t-9/none", 0, 10)->size(), 0u);

  log.reset();
  log = OpenLog();
  EXPECT_EQ(log->Head("/t-1/loadbalancer"), 2u);
  EXPECT_EQ(log->Streams(), (std::vector<std::string>{"/t-1/certbus", "/t-1/loadbalancer"}));
  EXPECT_EQ(*log->Append("/t-1/loadbalancer", Batch("d"), 2), 3u);
}

TEST_F(FileEventLogTest, StaleExpectedVersionIsAConflictNamingBothVersions) {
  auto log = OpenLog();
  ASSERT_TRUE(log->Append("/s", Batch("a"), 0).ok());
  ASSERT_TRUE(log->Append("/s", Batch("b"), 1).ok());
  absl::StatusOr<uint64_t> stale = log->Append("/s", Batch("c"), 1);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(stale.status().message(), "version conflict on /s: expected version 1, stream is at version 2");
  EXPECT_EQ(log->Head("/s"), 2u);
}

TEST_F(FileEventLogTest, RejectsBadStreamNames) {
  auto log = OpenLog();
  EXPECT_EQ(log->Append("t-1", Batch("a"), std::nullopt).status().message(),
            "stream \"t-1\": must start with /");
  EXPECT_FALSE(log->Append("/a/../b", Batch("a"), std::nullopt).ok());
  EXPECT_FALSE(log->Append("/a b", Batch("a"), std::nullopt).ok());
}

TEST_F(FileEventLogTest, ConcurrentWritersWithExpectedVersionsNeverOverwrite) {
  auto log = OpenLog();
  constexpr int kThreads = 4, kPerThread = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        while (true) {  // read-modify-write with optimistic concurrency
          uint64_t head = log->Head("/s");
          auto v = log->Append("/s", Batch(absl::StrCat(t, "-", i)), head);
          if (v.ok()) break;
          ASSERT_EQ(v.status().code(), absl::StatusCode::kAborted);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  auto entries = log->ReadAfter("/s", 0, 1000);
  ASSERT_EQ(entries->size(), size_t{kThreads * kPerThread});
  std::set<std::string> payloads;
  for (size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ((*entries)[i].version, i + 1);
    payloads.insert((*entries)[i].events[0].payload_json());
  }
  EXPECT_EQ(payloads.size(), size_t{kThreads * kPerThread});
}

TEST_F(FileEventLogTest, TornTailIsTruncatedAndReported) {
  auto log = OpenLog();
  for (const char* id : {"a", "b", "c"}) ASSERT_TRUE(log->Append("/s", Batch(id), std::nullopt).ok());
  const std::string path = log->PathOf("/s");
  log.reset();
  const auto good_size = std::filesystem::file_size(path);
  {
    // Half of a real record, as a crash mid-write leaves it.
    std::vector<std::string> scratch_notes;
    auto scratch = FileEventLog::Open(dir_ + "-scratch", &scratch_notes);
    ASSERT_TRUE(scratch.ok());
    ASSERT_TRUE((*scratch)->Append("/s", Batch("zzzzzzzzzz"), std::nullopt).ok());
    std::ifstream in((*scratch)->PathOf("/s"), std::ios::binary);
    std::string record((std::istreambuf_iterator<char>(in)), {});
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << record.substr(0, record.size() / 2);
    std::filesystem::remove_all(dir_ + "-scratch");
  }
  std::vector<std::string> notes;
  log = OpenLog(&notes);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("stream /s: truncated torn tail of"), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find("last good version 3"), std::string::npos) << notes[0];
  EXPECT_EQ(std::filesystem::file_size(path), good_size);
  EXPECT_EQ(log->Head("/s"), 3u);
  EXPECT_EQ(*log->Append("/s", Batch("d"), 3), 4u);
  EXPECT_EQ(log->ReadAfter("/s", 3, 10)->at(0).events[0].payload_json(), R"({"Id":"d"})");
}

TEST_F(FileEventLogTest, CorruptionInTheMiddleFailsTheOpen) {
  auto log = OpenLog();
  for (const char* id : {"a", "b", "c"}) ASSERT_TRUE(log->Append("/s", Batch(id), std::nullopt).ok());
  const std::string path = log->PathOf("/s");
  log.reset();
  // Flip one payload byte of the second record.
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(f)), {});
  const size_t second = data.find("ERL1", 1);
  ASSERT_NE(second, std::string::npos);
  data[second + 20] ^= 0x55;
  f.seekp(0);
  f.write(data.data(), data.size());
  f.close();
  std::vector<std::string> notes;
  auto reopened = FileEventLog::Open(dir_, &notes);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(reopened.status().message().find(absl::StrCat("corrupt record at offset ", second)),
            std::string::npos)
      << reopened.status();
  EXPECT_NE(reopened.status().message().find("after version 1"), std::string::npos);
}

TEST_F(FileEventLogTest, WatchDeliversBacklogThenNewEntriesUntilCancelled) {
  auto log = OpenLog();
  ASSERT_TRUE(log->Append("/s", Batch("a"), std::nullopt).ok());
  ASSERT_TRUE(log->Append("/s", Batch("b"), std::nullopt).ok());
  std::vector<uint64_t> seen;
  auto handle = log->Watch("/s", 1, [&](const LogEntry& e) { seen.push_back(e.version); });
  ASSERT_TRUE(handle.ok());
  EXPECT_EQ(seen, std::vector<uint64_t>{2});
  ASSERT_TRUE(log->Append("/s", Batch("c"), std::nullopt).ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{2, 3}));
  handle->reset();
  ASSERT_TRUE(log->Append("/s", Batch("d"), std::nullopt).ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{2, 3}));
}

}  // namespace
}  // namespace edgerouter::controlplane
