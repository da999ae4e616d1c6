// EtcdEventLog against a real 3-member etcd cluster on loopback (started per test).
#include "controlplane/eventlog/etcd/etcd_event_log.h"

#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "controlplane/eventlog/etcd/test/etcd_cluster.h"
#include "gtest/gtest.h"

namespace edgerouter::controlplane::etcd {
namespace {

using testing::EtcdCluster;

events::v1::Event MakeEvent(const std::string& id) {
  events::v1::Event e;
  e.set_type("AppUpdated");
  e.set_timestamp("2026-03-05T10:00:00.000Z");
  e.set_payload_json(absl::StrCat("{\"Application\":{\"id\":\"", id, "\"}}"));
  return e;
}

// Collects watched entries; waits for a count with a deadline.
class Recorder {
 public:
  EventLog::EntryCallback Callback() {
    return [this](const LogEntry& e) {
      absl::MutexLock lock(&mu_);
      versions_.push_back(e.version);
      ids_.push_back(e.events.empty() ? "" : e.events[0].payload_json());
    };
  }
  bool WaitFor(size_t n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return versions_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  std::vector<uint64_t> versions() {
    absl::MutexLock lock(&mu_);
    return versions_;
  }

 private:
  absl::Mutex mu_;
  std::vector<uint64_t> versions_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> ids_ ABSL_GUARDED_BY(mu_);
};

std::vector<uint64_t> Sequence(uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (uint64_t v = from; v <= to; ++v) out.push_back(v);
  return out;
}

class EtcdEventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string tmpl = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/er-etcd-XXXXXX");
    dir_ = mkdtemp(tmpl.data());
    auto cluster = EtcdCluster::Start(dir_);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
  }
  void TearDown() override {
    cluster_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<EtcdEventLog> OpenLog(absl::Duration call_timeout = absl::Seconds(5)) {
    EtcdEventLogOptions options;
    options.client.endpoints = cluster_->endpoint_list();
    options.client.call_timeout = call_timeout;
    options.prefix = "/er-test";
    auto log = EtcdEventLog::Open(options);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *std::move(log) : nullptr;
  }

  std::string dir_;
  std::unique_ptr<EtcdCluster> cluster_;
};

TEST_F(EtcdEventLogTest, AppendReadHeadAndStreams) {
  auto log = OpenLog();
  const std::string lb = "/t-1/loadbalancer";
  EXPECT_EQ(log->Head(lb), 0u);
  for (int i = 1; i <= 3; ++i) {
    auto v = log->Append(lb, {MakeEvent(absl::StrCat("a", i)), MakeEvent("b")}, std::nullopt);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(*v, static_cast<uint64_t>(i));
  }
  // Nested streams (EventHorizon has them) never mix with their parent's versions.
  ASSERT_TRUE(log->Append("/t-1", {MakeEvent("parent")}, 0).ok());
  ASSERT_TRUE(log->Append("/t-1/loadbalancer/x", {MakeEvent("child")}, 0).ok());
  ASSERT_TRUE(log->Append("/t-1/loadbalancer/x", {MakeEvent("child2")}, 1).ok());
  EXPECT_EQ(log->Head(lb), 3u);
  EXPECT_EQ(log->Head("/t-1"), 1u);
  EXPECT_EQ(log->Head("/t-1/loadbalancer/x"), 2u);

  auto all = log->ReadAfter(lb, 0, 100);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*all)[i].version, static_cast<uint64_t>(i + 1));
    ASSERT_EQ((*all)[i].events.size(), 2u);
    EXPECT_EQ((*all)[i].events[0].payload_json(), absl::StrCat("{\"Application\":{\"id\":\"a", i + 1, "\"}}"));
    EXPECT_EQ((*all)[i].events[0].type(), "AppUpdated");
  }
  auto middle = log->ReadAfter(lb, 1, 1);
  ASSERT_TRUE(middle.ok());
  ASSERT_EQ(middle->size(), 1u);
  EXPECT_EQ((*middle)[0].version, 2u);
  auto none = log->ReadAfter(lb, 3, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  auto stale = log->Append(lb, {MakeEvent("late")}, 1);
  ASSERT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(stale.status().message(),
            "version conflict on /t-1/loadbalancer: expected version 1, stream is at version 3");
  auto ahead = log->Append(lb, {MakeEvent("ahead")}, 7);
  ASSERT_EQ(ahead.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(log->Head(lb), 3u);  // neither conflicting append left anything behind

  std::vector<std::string> streams = log->Streams();
  std::sort(streams.begin(), streams.end());
  EXPECT_EQ(streams, (std::vector<std::string>{"/t-1", "/t-1/loadbalancer", "/t-1/loadbalancer/x"}));

  EXPECT_EQ(log->Append("no-slash", {MakeEvent("x")}, std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);

  // A second process (another client) sees the same log.
  auto other = OpenLog();
  EXPECT_EQ(other->Head(lb), 3u);
}

TEST_F(EtcdEventLogTest, ConcurrentAppendersExactlyOneWinsEachVersion) {
  auto a = OpenLog();
  auto b = OpenLog();
  const std::string s = "/t-1/race";
  for (uint64_t round = 0; round < 20; ++round) {
    std::atomic<bool> go{false};
    absl::StatusOr<uint64_t> ra, rb;
    std::thread ta([&] { while (!go) {} ra = a->Append(s, {MakeEvent("from-a")}, round); });
    std::thread tb([&] { while (!go) {} rb = b->Append(s, {MakeEvent("from-b")}, round); });
    go = true;
    ta.join();
    tb.join();
    ASSERT_NE(ra.ok(), rb.ok()) << "round " << round << ": " << ra.status() << " / " << rb.status();
    const absl::Status& loser = ra.ok() ? rb.status() : ra.status();
    EXPECT_EQ(loser.code(), absl::StatusCode::kAborted);
    EXPECT_EQ(loser.message(), absl::StrCat("version conflict on /t-1/race: expected version ", round,
                                            ", stream is at version ", round + 1));
    EXPECT_EQ(ra.ok() ? *ra : *rb, round + 1);
  }
  // Without an expected version every append lands, at distinct contiguous versions.
  std::vector<std::thread> writers;
  absl::Mutex mu;
  std::vector<uint64_t> got;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto& log = w % 2 ? a : b;
      for (int i = 0; i < 10; ++i) {
        auto v = log->Append(s, {MakeEvent(absl::StrCat("w", w, "-", i))}, std::nullopt);
        ASSERT_TRUE(v.ok()) << v.status();
        absl::MutexLock lock(&mu);
        got.push_back(*v);
      }
    });
  }
  for (auto& t : writers) t.join();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, Sequence(21, 60));
  EXPECT_EQ(a->Head(s), 60u);
}

TEST_F(EtcdEventLogTest, WatchDeliversBacklogThenLiveEntriesExactlyOnceInOrder) {
  auto log = OpenLog();
  auto writer = OpenLog();
  const std::string s = "/t-1/loadbalancer";
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(writer->Append(s, {MakeEvent("old")}, std::nullopt).ok());
  Recorder rec;
  auto handle = log->Watch(s, 2, rec.Callback());
  ASSERT_TRUE(handle.ok()) << handle.status();
  EXPECT_EQ(rec.versions(), Sequence(3, 5));  // the backlog is delivered before Watch returns
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(writer->Append(s, {MakeEvent("new")}, std::nullopt).ok());
  ASSERT_TRUE(rec.WaitFor(43, absl::Seconds(10)));
  handle->reset();
  // Nothing after the handle is gone.
  ASSERT_TRUE(writer->Append(s, {MakeEvent("after")}, std::nullopt).ok());
  EXPECT_EQ(rec.versions(), Sequence(3, 45));
  EXPECT_EQ(log->watch_stats().compactions.load(), 0u);
}

TEST_F(EtcdEventLogTest, WatchRecoversFromCompactionWithoutGapsOrDuplicates) {
  auto log = OpenLog();
  auto writer = OpenLog();
  const std::string s = "/t-1/loadbalancer";
  ASSERT_TRUE(writer->Append(s, {MakeEvent("first")}, std::nullopt).ok());
  Recorder rec;
  bool compacted = false;
  // While the backlog is being delivered (before the etcd watch exists), more versions land and
  // the store is compacted past the revision the watch will start from: etcd cancels that watch
  // with compact_revision, and the watcher must re-read from the last version it delivered.
  auto record = rec.Callback();
  auto handle = log->Watch(s, 0, [&](const LogEntry& e) {
    record(e);
    if (compacted) return;
    compacted = true;
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(writer->Append(s, {MakeEvent("mid")}, std::nullopt).ok());
    etcdserverpb::RangeRequest probe;
    probe.set_key("/er-test/none");
    auto rev = writer->client()->Range(probe, "revision");
    ASSERT_TRUE(rev.ok()) << rev.status();
    etcdserverpb::CompactionRequest compact;
    compact.set_revision(rev->header().revision());
    compact.set_physical(true);
    ASSERT_TRUE(writer->client()->Compact(compact, "compact").ok());
  });
  ASSERT_TRUE(handle.ok()) << handle.status();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer->Append(s, {MakeEvent("late")}, std::nullopt).ok());
  ASSERT_TRUE(rec.WaitFor(41, absl::Seconds(10))) << rec.versions().size();
  EXPECT_EQ(log->watch_stats().compactions.load(), 1u);
  // A fresh append still arrives through the re-established watch.
  ASSERT_TRUE(writer->Append(s, {MakeEvent("last")}, std::nullopt).ok());
  ASSERT_TRUE(rec.WaitFor(42, absl::Seconds(10)));
  handle->reset();
  EXPECT_EQ(rec.versions(), Sequence(1, 42));
}

TEST_F(EtcdEventLogTest, LeaderKillAppendsWorkAgainWithinTwoSecondsAndWatchMissesNothing) {
  auto log = OpenLog();
  auto writer = OpenLog();
  const std::string s = "/t-1/loadbalancer";
  Recorder rec;
  auto handle = log->Watch(s, 0, rec.Callback());
  ASSERT_TRUE(handle.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer->Append(s, {MakeEvent("before")}, std::nullopt).ok());
  auto leader = cluster_->Leader(absl::Seconds(5));
  ASSERT_TRUE(leader.ok()) << leader.status();
  const absl::Time kill = absl::Now();
  cluster_->Kill(*leader);
  absl::StatusOr<uint64_t> v;
  int failures = 0;
  while (!(v = writer->Append(s, {MakeEvent("after")}, std::nullopt)).ok()) {
    ++failures;
    ASSERT_LT(absl::Now() - kill, absl::Seconds(10)) << v.status();
  }
  const absl::Duration recovered = absl::Now() - kill;
  std::printf("etcd leader kill -9 → append acknowledged again after %.0f ms (%d failed calls)\n",
              absl::ToDoubleMilliseconds(recovered), failures);
  EXPECT_LT(recovered, absl::Seconds(2));
  EXPECT_EQ(*v, 11u);
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(writer->Append(s, {MakeEvent("after")}, std::nullopt).ok());
  ASSERT_TRUE(rec.WaitFor(20, absl::Seconds(10))) << rec.versions().size();
  handle->reset();
  EXPECT_EQ(rec.versions(), Sequence(1, 20));
}

TEST_F(EtcdEventLogTest, MalformedRecordIsSkippedAloneAndTheStreamMovesOn) {
  auto log = OpenLog();
  const std::string s = "/t-1/loadbalancer";
  ASSERT_TRUE(log->Append(s, {MakeEvent("one")}, 0).ok());
  // Another writer puts bytes that are no LogRecord at version 2.
  etcdserverpb::TxnRequest txn;
  etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_key(log->VersionKey(s, 2));
  put->set_value("\xff\xffnot a record");
  ASSERT_TRUE(log->client()->Txn(txn, "corrupt").ok());
  ASSERT_TRUE(log->Append(s, {MakeEvent("three")}, 2).ok());
  auto all = log->ReadAfter(s, 0, 10);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1].version, 2u);
  EXPECT_TRUE((*all)[1].events.empty());
  EXPECT_EQ((*all)[2].events.size(), 1u);
  Recorder rec;
  auto handle = log->Watch(s, 0, rec.Callback());
  ASSERT_TRUE(handle.ok());
  EXPECT_EQ(rec.versions(), Sequence(1, 3));
  EXPECT_GE(log->watch_stats().skipped_records.load(), 2u);
}

TEST_F(EtcdEventLogTest, QuorumLossFailsAppendsWithinTheDeadline) {
  const absl::Duration call_timeout = absl::Seconds(3);
  auto log = OpenLog(call_timeout);
  const std::string s = "/t-1/loadbalancer";
  ASSERT_TRUE(log->Append(s, {MakeEvent("ok")}, std::nullopt).ok());
  auto leader = cluster_->Leader(absl::Seconds(5));
  ASSERT_TRUE(leader.ok());
  cluster_->Kill(*leader);
  cluster_->Kill((*leader + 1) % 3);
  const absl::Time start = absl::Now();
  auto v = log->Append(s, {MakeEvent("lost")}, 1);
  const absl::Duration took = absl::Now() - start;
  std::printf("append without quorum failed after %.0f ms: %s\n", absl::ToDoubleMilliseconds(took),
              v.status().ToString().c_str());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(v.status().message().find("etcd"), absl::string_view::npos);
  EXPECT_LT(took, call_timeout + absl::Seconds(1));
  // The error names what failed: the head read or the append of the stream.
  EXPECT_NE(v.status().message().find("/t-1/loadbalancer"), absl::string_view::npos) << v.status();
}

TEST(EtcdEventLogTlsTest, MutualTlsWorksAndClientsWithoutACertificateAreRefused) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string tmpl = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/er-etcd-tls-XXXXXX");
  const std::string dir = mkdtemp(tmpl.data());
  auto cluster = EtcdCluster::Start(dir, 3, /*tls=*/true);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto open = [&](GrpcTlsFiles tls) {
    EtcdEventLogOptions options;
    options.client.endpoints = (*cluster)->endpoint_list();
    options.client.tls = std::move(tls);
    options.client.call_timeout = absl::Seconds(2);
    return EtcdEventLog::Open(options);
  };
  auto log = open((*cluster)->client_tls());
  ASSERT_TRUE(log.ok()) << log.status();
  const std::string s = "/t-1/loadbalancer";
  ASSERT_TRUE((*log)->Append(s, {MakeEvent("tls")}, 0).ok());
  Recorder rec;
  auto handle = (*log)->Watch(s, 0, rec.Callback());
  ASSERT_TRUE(handle.ok()) << handle.status();
  ASSERT_TRUE((*log)->Append(s, {MakeEvent("tls2")}, 1).ok());
  ASSERT_TRUE(rec.WaitFor(2, absl::Seconds(10)));
  handle->reset();

  GrpcTlsFiles no_cert = (*cluster)->client_tls();
  no_cert.cert.clear();
  no_cert.key.clear();
  auto anonymous = open(no_cert);
  ASSERT_TRUE(anonymous.ok());
  EXPECT_FALSE((*anonymous)->Append(s, {MakeEvent("anon")}, std::nullopt).ok());
  auto plaintext = open(GrpcTlsFiles());
  ASSERT_TRUE(plaintext.ok());
  auto refused = (*plaintext)->Append(s, {MakeEvent("plain")}, std::nullopt);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_EQ((*log)->Head(s), 2u);

  GrpcTlsFiles half = (*cluster)->client_tls();
  half.key.clear();
  EXPECT_EQ(open(half).status().message(), "--etcd_tls_cert and --etcd_tls_key go together");
  cluster->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace edgerouter::controlplane::etcd
