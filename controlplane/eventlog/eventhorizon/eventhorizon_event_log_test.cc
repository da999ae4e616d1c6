// The EventHorizon log against a real dynalite, with an independent botocore writer/reader
// (test/eh_botocore.py) and a proxy (test/dynamo_proxy.py) in front of dynalite that throttles, and
// answers TransactWriteItems as DynamoDB does (dynalite has no transactions).
#include "controlplane/eventlog/eventhorizon/eventhorizon_event_log.h"

#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/event_line.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testenv/dynamodb/dynalite.h"

namespace edgerouter::eventhorizon {
namespace {

using controlplane::LogEntry;
using edgerouter::testing::Dynalite;
using edgerouter::testing::PickFreeLoopbackPort;
using edgerouter::testing::RunfilePath;
using nlohmann::json;

constexpr char kTable[] = "dev_eh_events";

struct PyResult {
  int exit_code = -1;
  std::string output;
  // The last line that is a JSON object (our scripts print one; Python warnings go elsewhere).
  json LastJson() const {
    size_t pos = output.rfind("\n{");
    return json::parse(output.substr(pos == std::string::npos ? 0 : pos + 1), nullptr, false);
  }
};

// test/dynamo_proxy.py in front of dynalite: throttling on request, and TransactWriteItems
// (which dynalite lacks) with DynamoDB's semantics when `transactions`.
struct DynamoProxy {
  std::unique_ptr<Subprocess> process;
  std::string endpoint;

  static absl::StatusOr<std::unique_ptr<DynamoProxy>> Start(int upstream_port, bool transactions) {
    const int port = PickFreeLoopbackPort();
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     RunfilePath("controlplane/eventlog/eventhorizon/test/dynamo_proxy.py"),
                                     absl::StrCat(port), absl::StrCat(upstream_port)};
    if (transactions) argv.push_back("--transactions");
    auto p = Subprocess::Start(argv);
    if (!p.ok()) return p.status();
    if (absl::Status s = (*p)->WaitForLine("dynamo proxy listening", absl::Seconds(20)).status(); !s.ok()) {
      return absl::UnavailableError(absl::StrCat("dynamo proxy: ", s.message(), "\n", (*p)->Output()));
    }
    auto proxy = std::make_unique<DynamoProxy>();
    proxy->process = *std::move(p);
    proxy->endpoint = absl::StrCat("http://127.0.0.1:", port);
    return proxy;
  }
  // GET (empty body) or POST to one of the proxy's control paths; its JSON answer.
  json Control(const std::string& path, const std::string& body) const {
    auto curl = Subprocess::Start(
        {"/usr/bin/curl", "-s", "-X", body.empty() ? "GET" : "POST", "--data-binary", body, endpoint + path});
    if (!curl.ok()) return json();
    if (!(*curl)->Wait(absl::Seconds(10)).ok()) return json();
    std::string out = (*curl)->Output();
    const size_t brace = out.find('{');
    return json::parse(brace == std::string::npos ? "" : out.substr(brace), nullptr, false);
  }
};

class EventHorizonLogTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto d = Dynalite::Start();
    ASSERT_TRUE(d.ok()) << d.status();
    dynalite_ = d->release();
    PyResult r = Py(dynalite_->endpoint(), {"create-table"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete dynalite_;
    dynalite_ = nullptr;
  }

  static PyResult Py(const std::string& endpoint, std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/env", "AWS_ACCESS_KEY_ID=ak", "AWS_SECRET_ACCESS_KEY=sk",
                                     "/usr/bin/python3",
                                     RunfilePath("controlplane/eventlog/eventhorizon/test/eh_botocore.py"),
                                     endpoint, kTable};
    argv.insert(argv.end(), args.begin(), args.end());
    PyResult r;
    auto p = Subprocess::Start(argv);
    if (!p.ok()) return r;
    absl::StatusOr<int> status = (*p)->Wait(absl::Seconds(60));
    r.output = (*p)->Output();
    if (status.ok() && WIFEXITED(*status)) r.exit_code = WEXITSTATUS(*status);
    return r;
  }
  static PyResult Py(std::vector<std::string> args) { return Py(dynalite_->endpoint(), std::move(args)); }

  static Config ConfigFor(const std::string& endpoint) {
    Config c;
    c.env = "dev";
    c.tenant = "1";
    c.region = "us-east-1";
    c.credentials = {"ak", "sk", ""};
    c.endpoints.dynamodb = endpoint;
    return c;
  }
  static std::unique_ptr<EventHorizonEventLog> NewLog(const std::string& endpoint, absl::Duration poll) {
    EventLogOptions o;
    o.poll_interval = poll;
    o.max_backoff = absl::Milliseconds(400);
    return EventHorizonEventLog::Create(ConfigFor(endpoint), o);
  }

  static Dynalite* dynalite_;
};

Dynalite* EventHorizonLogTest::dynalite_ = nullptr;

// Collects watched entries.
struct Collector {
  absl::Mutex mu;
  std::vector<LogEntry> entries;
  std::function<void(const LogEntry&)> Callback() {
    return [this](const LogEntry& e) {
      absl::MutexLock lock(&mu);
      entries.push_back(e);
    };
  }
  bool WaitForVersion(uint64_t v, absl::Duration timeout) {
    absl::MutexLock lock(&mu);
    auto reached = [&]() { return !entries.empty() && entries.back().version >= v; };
    return mu.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }
  std::vector<LogEntry> Snapshot() {
    absl::MutexLock lock(&mu);
    return entries;
  }
};

bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

std::vector<events::v1::Event> Batch(std::initializer_list<std::string> payload_ids) {
  std::vector<events::v1::Event> out;
  for (const std::string& id : payload_ids) out.push_back(MakeSystemEvent("AppDeleted", json{{"Id", id}}.dump()));
  return out;
}

TEST_F(EventHorizonLogTest, ReadsItemsWrittenByBotocore) {
  const std::string line1 = "2026-03-05T10:00:00.000Z AppDeleted    {\"Id\":\"a.example\"}";
  const std::string line2 = "2026-03-05T10:00:01.000Z AppDeleted u1   {\"Id\":\"b.example\",\"Extra\":1}";
  const std::string line3 = "2026-03-05T10:00:02.000Z AppDeleted    {\"Id\":\"c.example\"}";
  ASSERT_EQ(Py({"write", "/t-read/loadbalancer", line1}).exit_code, 0);
  ASSERT_EQ(Py({"write", "/t-read/loadbalancer", line2, line3}).exit_code, 0);

  auto log = NewLog(dynalite_->endpoint(), absl::Milliseconds(50));
  EXPECT_EQ(log->Head("/t-read/loadbalancer"), 2u);
  Collector seen;
  auto watch = log->Watch("/t-read/loadbalancer", 0, seen.Callback());
  ASSERT_TRUE(watch.ok()) << watch.status();
  std::vector<LogEntry> backlog = seen.Snapshot();  // delivered before Watch returned
  ASSERT_EQ(backlog.size(), 2u);
  EXPECT_EQ(backlog[0].version, 1u);
  ASSERT_EQ(backlog[0].events.size(), 1u);
  EXPECT_EQ(FormatEventLine(backlog[0].events[0]), line1);
  EXPECT_EQ(backlog[1].version, 2u);
  ASSERT_EQ(backlog[1].events.size(), 2u);
  EXPECT_EQ(backlog[1].events[0].user_id(), "u1");
  EXPECT_EQ(FormatEventLine(backlog[1].events[1]), line3);

  // New items arrive through the poller, in order, exactly once.
  ASSERT_EQ(Py({"write", "/t-read/loadbalancer", line1}).exit_code, 0);
  ASSERT_TRUE(seen.WaitForVersion(3, absl::Seconds(10)));
  EXPECT_EQ(seen.Snapshot().size(), 3u);

  // The parent's ChildStreamCreated meta item is a version without events.
  absl::StatusOr<std::vector<LogEntry>> parent = log->ReadAfter("/t-read", 0, 100);
  ASSERT_TRUE(parent.ok()) << parent.status();
  ASSERT_EQ(parent->size(), 1u);
  EXPECT_EQ((*parent)[0].version, 1u);
  EXPECT_TRUE((*parent)[0].events.empty());
  absl::StatusOr<std::vector<LogEntry>> tail = log->ReadAfter("/t-read/loadbalancer", 1, 1);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 1u);
  EXPECT_EQ((*tail)[0].version, 2u);
  EXPECT_FALSE(log->status().stale);
  EXPECT_TRUE(log->status().caught_up);
}

TEST_F(EventHorizonLogTest, AppendsAreReadBackByBotocoreInEventHorizonFormat) {
  auto log = NewLog(dynalite_->endpoint(), absl::Seconds(1));
  // The stream and its parent do not exist: the first append creates them as EventHorizon does.
  absl::StatusOr<uint64_t> v1 = log->Append("/t-app/loadbalancer", Batch({"one"}), 0);
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(*v1, 1u);
  absl::StatusOr<uint64_t> v2 = log->Append("/t-app/loadbalancer", Batch({"two", "three"}), std::nullopt);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(*v2, 2u);
  absl::StatusOr<uint64_t> stale = log->Append("/t-app/loadbalancer", Batch({"x"}), 1);
  ASSERT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(stale.status().message(), "version conflict on /t-app/loadbalancer: expected version 1, stream is at version 2");

  PyResult dump = Py({"dump", "/t-app/loadbalancer"});
  ASSERT_EQ(dump.exit_code, 0) << dump.output;
  json d = dump.LastJson();
  ASSERT_EQ(d["entries"].size(), 3u) << dump.output;
  EXPECT_EQ(d["entries"][0]["meta"]["type"], "StreamStarted");
  EXPECT_EQ(d["entries"][0]["meta"]["payload"], json::parse(R"({"Parent":"/t-app"})"));
  EXPECT_EQ(d["entries"][1]["events"][0]["payload"], json::parse(R"({"Id":"one"})"));
  EXPECT_EQ(d["entries"][2]["events"].size(), 2u);
  EXPECT_EQ(d["entries"][2]["events"][1]["type"], "AppDeleted");
  EXPECT_EQ(d["entries"][2]["events"][1]["user"], "");
  // The parent chain: / (bootstrapped, with /_sub), /t-app, each linked from its parent.
  for (const char* s : {"/", "/_sub", "/t-app"}) {
    PyResult p = Py({"dump", s});
    EXPECT_EQ(p.exit_code, 0) << s << ": " << p.output;
  }
  EXPECT_TRUE(absl::StrContains(Py({"children", "/"}).output, "/t-app"));
  EXPECT_TRUE(absl::StrContains(Py({"children", "/"}).output, "/_sub"));
  EXPECT_TRUE(absl::StrContains(Py({"children", "/t-app"}).output, "/t-app/loadbalancer"));
  EXPECT_FALSE(log->store()->transactions_supported());  // dynalite: the fallback was used
  const std::vector<std::string> streams = log->Streams();
  for (const char* s : {"/", "/_sub", "/t-app", "/t-app/loadbalancer"}) {
    EXPECT_NE(std::find(streams.begin(), streams.end(), s), streams.end()) << s;
  }
}

TEST_F(EventHorizonLogTest, ConcurrentAppendsAtTheSameVersionExactlyOneWins) {
  auto a = NewLog(dynalite_->endpoint(), absl::Seconds(1));
  auto b = NewLog(dynalite_->endpoint(), absl::Seconds(1));
  ASSERT_TRUE(a->Append("/t-race/loadbalancer", Batch({"seed"}), std::nullopt).ok());
  for (int round = 0; round < 10; ++round) {
    const uint64_t head = a->Head("/t-race/loadbalancer");
    std::atomic<int> go{0};
    absl::StatusOr<uint64_t> ra, rb;
    std::thread ta([&] {
      while (go.load() == 0) {}
      ra = a->Append("/t-race/loadbalancer", Batch({"a"}), head);
    });
    std::thread tb([&] {
      while (go.load() == 0) {}
      rb = b->Append("/t-race/loadbalancer", Batch({"b"}), head);
    });
    go = 1;
    ta.join();
    tb.join();
    ASSERT_NE(ra.ok(), rb.ok()) << ra.status() << " / " << rb.status();
    const absl::Status& loser = ra.ok() ? rb.status() : ra.status();
    EXPECT_EQ(loser.code(), absl::StatusCode::kAborted) << loser;
    EXPECT_TRUE(absl::StrContains(loser.message(), absl::StrCat("expected version ", head))) << loser;
    EXPECT_TRUE(absl::StrContains(loser.message(), absl::StrCat("stream is at version ", head + 1))) << loser;
    EXPECT_EQ(ra.ok() ? *ra : *rb, head + 1);
  }
  // Without an expected version both land, at distinct versions.
  absl::StatusOr<uint64_t> ra, rb;
  std::thread ta([&] { ra = a->Append("/t-race/loadbalancer", Batch({"a"}), std::nullopt); });
  std::thread tb([&] { rb = b->Append("/t-race/loadbalancer", Batch({"b"}), std::nullopt); });
  ta.join();
  tb.join();
  ASSERT_TRUE(ra.ok() && rb.ok()) << ra.status() << " / " << rb.status();
  EXPECT_NE(*ra, *rb);
  PyResult dump = Py({"dump", "/t-race/loadbalancer"});
  EXPECT_EQ(dump.exit_code, 0) << dump.output;
  EXPECT_EQ(dump.LastJson()["entries"].size(), 14u);  // v0 + seed + 10 winners + 2
}

TEST_F(EventHorizonLogTest, ThrottlingBacksOffReportsStaleAndRecoversWithoutLossOrDuplicates) {
  auto proxy = DynamoProxy::Start(dynalite_->port(), /*transactions=*/false);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  const std::string proxied = (*proxy)->endpoint;
  auto control = [&](const std::string& path, const std::string& body) { return (*proxy)->Control(path, body); };

  const std::string stream = "/t-throttle/loadbalancer";
  ASSERT_EQ(Py({"write", stream, "2026-03-05T10:00:00.000Z AppDeleted    {\"Id\":\"v1\"}"}).exit_code, 0);
  auto log = NewLog(proxied, absl::Milliseconds(50));
  Collector seen;
  auto watch = log->Watch(stream, 0, seen.Callback());
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_EQ(seen.Snapshot().size(), 1u);

  control("/__throttle", "1000000");  // every request, until lifted below
  const absl::Time throttle_start = absl::Now();
  ASSERT_TRUE(WaitUntil([&] { return log->status().stale; }, absl::Seconds(10)));
  // Written while the log is throttled (straight to dynalite).
  for (int i = 2; i <= 4; ++i) {
    ASSERT_EQ(Py({"write", stream, absl::StrCat("2026-03-05T10:00:00.000Z AppDeleted    {\"Id\":\"v", i, "\"}")})
                  .exit_code,
              0);
  }
  EXPECT_FALSE(seen.WaitForVersion(2, absl::Milliseconds(300))) << "delivered while every read is throttled";
  EXPECT_TRUE(log->status().stale);
  const int throttled = control("/__stats", "")["throttled"];
  EXPECT_GE(throttled, 2);
  // Backoff: 50 ms doubling to the 400 ms cap, times [0.5, 1], so after the first few reads at
  // most one per 200 ms (instead of one per 50 ms poll).
  EXPECT_LE(throttled, absl::ToInt64Milliseconds(absl::Now() - throttle_start) / 200 + 6);
  control("/__throttle", "0");
  ASSERT_TRUE(seen.WaitForVersion(4, absl::Seconds(20))) << log->status().last_error;
  ASSERT_TRUE(WaitUntil([&] { return !log->status().stale; }, absl::Seconds(10)));
  const LogStatus status = log->status();
  EXPECT_GE(status.throttled, 2u);
  EXPECT_TRUE(absl::StrContains(status.last_error, "ThrottlingException")) << status.last_error;
  std::vector<LogEntry> entries = seen.Snapshot();
  ASSERT_EQ(entries.size(), 4u);
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].version, i + 1);
    ASSERT_EQ(entries[i].events.size(), 1u);
    EXPECT_EQ(entries[i].events[0].payload_json(), absl::StrCat("{\"Id\":\"v", i + 1, "\"}"));
  }

  // Appends retry throttling on their own and land exactly once.
  control("/__throttle", "2");
  absl::StatusOr<uint64_t> v = log->Append(stream, Batch({"v5"}), 4);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, 5u);
  ASSERT_TRUE(seen.WaitForVersion(5, absl::Seconds(10)));
  EXPECT_EQ(seen.Snapshot().size(), 5u);
}

TEST_F(EventHorizonLogTest, MalformedItemIsSkippedAloneAndReported) {
  const std::string stream = "/t-bad/loadbalancer";
  ASSERT_EQ(Py({"write", stream, "2026-03-05T10:00:00.000Z AppDeleted    {\"Id\":\"ok1\"}"}).exit_code, 0);
  ASSERT_EQ(Py({"put-raw", json{{"s", {{"S", stream}}}, {"v", {{"N", "2"}}}, {"meta_event", {{"NULL", true}}},
                                {"e", {{"L", {{{"S", "not an event line"}}}}}}}
                               .dump()})
                .exit_code,
            0);
  ASSERT_EQ(Py({"write", stream, "2026-03-05T10:00:00.000Z AppDeleted    {\"Id\":\"ok3\"}"}).exit_code, 0);
  auto log = NewLog(dynalite_->endpoint(), absl::Milliseconds(50));
  Collector seen;
  auto watch = log->Watch(stream, 0, seen.Callback());
  ASSERT_TRUE(watch.ok()) << watch.status();
  std::vector<LogEntry> entries = seen.Snapshot();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].events.size(), 1u);
  EXPECT_EQ(entries[1].version, 2u);
  EXPECT_TRUE(entries[1].events.empty());
  ASSERT_EQ(entries[2].events.size(), 1u);
  EXPECT_EQ(entries[2].events[0].payload_json(), "{\"Id\":\"ok3\"}");
  const LogStatus status = log->status();
  EXPECT_EQ(status.skipped_items, 1u);
  ASSERT_EQ(status.skipped.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(status.skipped[0], "/t-bad/loadbalancer@2: e[0]: event line")) << status.skipped[0];
  EXPECT_FALSE(status.stale);
}

TEST_F(EventHorizonLogTest, StreamCreationFallbackIsIdempotentAndRepairsAMissingLink) {
  auto log = NewLog(dynalite_->endpoint(), absl::Seconds(1));
  Store* store = log->store();
  ASSERT_TRUE(store->Bootstrap().ok());
  ASSERT_TRUE(store->Bootstrap().ok());  // idempotent
  ASSERT_TRUE(store->CreateStream("/t-create").ok());
  EXPECT_EQ(store->CreateStream("/t-create").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store->CreateStream("/t-nope/x").code(), absl::StatusCode::kNotFound);
  // An interrupted creation: the child's v0 exists, the parent's link does not.
  ASSERT_EQ(Py({"put-raw", json{{"s", {{"S", "/t-create/orphan"}}}, {"v", {{"N", "0"}}},
                                {"meta_event", {{"S", "2026-03-05T10:00:00.000Z StreamStarted    {\"Parent\":\"/t-create\"}"}}},
                                {"e", {{"NULL", true}}}}
                               .dump()})
                .exit_code,
            0);
  EXPECT_FALSE(absl::StrContains(Py({"children", "/t-create"}).output, "/t-create/orphan"));
  EXPECT_EQ(store->CreateStream("/t-create/orphan").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(absl::StrContains(Py({"children", "/t-create"}).output, "/t-create/orphan"));
  PyResult parent = Py({"dump", "/t-create"});
  EXPECT_EQ(parent.exit_code, 0) << parent.output;
  EXPECT_EQ(parent.LastJson()["entries"].size(), 2u);  // v0 + exactly one link
  EXPECT_FALSE(store->transactions_supported());
}

// Real DynamoDB takes the transaction path (dynalite alone takes the fallback above): the request
// shape is checked by the proxy, and both cancellation reasons are handled as documented.
TEST_F(EventHorizonLogTest, StreamCreationUsesTransactWriteItemsAndItsCancellationReasons) {
  auto proxy = DynamoProxy::Start(dynalite_->port(), /*transactions=*/true);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  auto log = NewLog((*proxy)->endpoint, absl::Seconds(1));
  Store* store = log->store();
  ASSERT_TRUE(store->Bootstrap().ok());  // earlier tests bootstrapped this table: may cancel once
  auto cancelled = [&] { return (*proxy)->Control("/__stats", "")["cancelled"].get<int>(); };
  const int cancelled_before = cancelled();
  ASSERT_TRUE(store->CreateStream("/t-tx").ok());
  EXPECT_TRUE(store->transactions_supported());
  EXPECT_GE((*proxy)->Control("/__stats", "")["transactions"].get<int>(), 1);
  EXPECT_EQ(cancelled(), cancelled_before);
  EXPECT_TRUE(absl::StrContains(Py({"children", "/"}).output, "/t-tx"));

  // The child's v0 exists: reason [1] is ConditionalCheckFailed → "already exists", nothing written.
  EXPECT_EQ(store->CreateStream("/t-tx").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(cancelled(), cancelled_before + 1);

  // Another writer takes the parent's next version between our head read and the transaction:
  // reason [0] fails, and the creation retries at the new head.
  const json racer = {{"s", {{"S", "/t-tx"}}},
                      {"v", {{"N", "1"}}},
                      {"meta_event", {{"S", "2026-03-05T10:00:00.000Z ChildStreamCreated    {\"Stream\":\"/t-tx/other\"}"}}},
                      {"e", {{"NULL", true}}}};
  (*proxy)->Control("/__before_next_tx", racer.dump());
  ASSERT_TRUE(store->CreateStream("/t-tx/child").ok());
  EXPECT_EQ(cancelled(), cancelled_before + 2);
  PyResult parent = Py({"dump", "/t-tx"});
  ASSERT_EQ(parent.exit_code, 0) << parent.output;
  EXPECT_EQ(parent.LastJson()["entries"].size(), 3u) << parent.output;  // v0, the racer, our link at v2
  const std::string children = Py({"children", "/t-tx"}).output;
  EXPECT_TRUE(absl::StrContains(children, "/t-tx/child")) << children;
  EXPECT_TRUE(absl::StrContains(children, "/t-tx/other")) << children;
  PyResult child = Py({"dump", "/t-tx/child"});
  ASSERT_EQ(child.exit_code, 0) << child.output;
  EXPECT_EQ(child.LastJson()["entries"].size(), 1u);  // its StreamStarted
  EXPECT_TRUE(store->transactions_supported());
}

}  // namespace
}  // namespace edgerouter::eventhorizon
