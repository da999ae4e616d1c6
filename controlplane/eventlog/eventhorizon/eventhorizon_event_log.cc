#include "controlplane/eventlog/eventhorizon/eventhorizon_event_log.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "controlplane/eventlog/eventhorizon/items.h"

namespace edgerouter::eventhorizon {
namespace {

using controlplane::LogEntry;
using nlohmann::json;

constexpr size_t kSkippedKept = 100;

}  // namespace

class EventHorizonEventLog::Handle : public controlplane::WatchHandle {
 public:
  Handle(EventHorizonEventLog* log, uint64_t id) : log_(log), id_(id) {}
  ~Handle() override { log_->RemoveWatcher(id_); }

 private:
  EventHorizonEventLog* log_;
  uint64_t id_;
};

std::unique_ptr<EventHorizonEventLog> EventHorizonEventLog::Create(const Config& config, EventLogOptions options) {
  DynamoDbClientOptions client;
  client.region = config.region;
  client.credentials = config.credentials;
  client.endpoints = config.endpoints;
  client.request_timeout = options.request_timeout;
  return std::unique_ptr<EventHorizonEventLog>(
      new EventHorizonEventLog(std::move(client), config.events_table(), options));
}

EventHorizonEventLog::EventHorizonEventLog(DynamoDbClientOptions client_options, std::string table,
                                           EventLogOptions options)
    : options_(options), client_(std::move(client_options)), store_(&client_, std::move(table)) {
  poller_ = std::thread([this] { PollLoop(); });
}

EventHorizonEventLog::~EventHorizonEventLog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  poller_.join();
}

void EventHorizonEventLog::Kick() {
  absl::MutexLock lock(&mu_);
  kicked_ = true;
}

void EventHorizonEventLog::NoteHead(const std::string& stream, uint64_t version) {
  absl::MutexLock lock(&mu_);
  uint64_t& head = known_heads_[stream];
  head = std::max(head, version);
}

LogEntry EventHorizonEventLog::ToEntry(const std::string& stream, const json& raw, int64_t version) {
  LogEntry entry;
  entry.version = static_cast<uint64_t>(version);
  absl::StatusOr<Item> item = DecodeItem(raw);
  if (item.ok()) {
    entry.events = std::move(item->events);
    return entry;
  }
  const std::string where = absl::StrCat(stream, "@", version);
  absl::MutexLock lock(&mu_);
  // Several watches (and ReadAfter) may meet the same item: report it once.
  for (const std::string& s : skipped_) {
    if (s.compare(0, where.size() + 1, where + ":") == 0) return entry;
  }
  const std::string note = absl::StrCat(where, ": ", item.status().message());
  log::Warn("eventhorizon item skipped").Kv("where", where).Kv("reason", item.status().message());
  skipped_.push_back(note);
  if (skipped_.size() > kSkippedKept) skipped_.pop_front();
  ++status_.skipped_items;
  return entry;
}

DynamoError EventHorizonEventLog::CatchUp(Watcher* w, bool registered) {
  while (true) {
    DynamoResult<QueryPage> page = store_.QueryAfter(w->stream, static_cast<int64_t>(w->cursor), kQueryLimit,
                                                     /*consistent=*/true);
    if (!page.ok()) return page.error;
    std::vector<LogEntry> entries;
    for (const json& raw : page.value.items) {
      absl::StatusOr<std::pair<std::string, int64_t>> key = DecodeKey(raw);
      if (!key.ok() || key->second <= static_cast<int64_t>(w->cursor)) continue;  // keys are typed by the table
      entries.push_back(ToEntry(w->stream, raw, key->second));
    }
    if (!entries.empty()) NoteHead(w->stream, entries.back().version);
    if (registered) {
      absl::MutexLock deliver(&deliver_mu_);
      if (w->removed) return DynamoError();
      for (const LogEntry& e : entries) {
        w->callback(e);
        w->cursor = e.version;
      }
    } else {
      for (const LogEntry& e : entries) {
        w->callback(e);
        w->cursor = e.version;
      }
    }
    if (entries.empty() || !page.value.more) break;
  }
  w->caught_up = true;
  return DynamoError();
}

void EventHorizonEventLog::RecordFailure(const DynamoError& error, absl::string_view context) {
  absl::MutexLock lock(&mu_);
  if (!status_.stale) {
    log::Warn("eventhorizon read failing; serving the last good state")
        .Kv("error", absl::StrCat(context, ": ", error.Describe()));
  }
  status_.stale = true;
  ++status_.consecutive_failures;
  ++status_.read_failures;
  if (error.IsThrottle()) ++status_.throttled;
  status_.last_error = absl::StrCat(context, ": ", error.Describe());
}

void EventHorizonEventLog::PollLoop() {
  absl::Duration wait = options_.poll_interval;
  while (true) {
    std::vector<std::shared_ptr<Watcher>> watchers;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || kicked_; };
      mu_.AwaitWithTimeout(absl::Condition(&ready), wait);
      if (stopping_) return;
      kicked_ = false;
      for (const auto& [id, w] : watchers_) watchers.push_back(w);
    }
    bool failed = false;
    for (const std::shared_ptr<Watcher>& w : watchers) {
      DynamoError e = CatchUp(w.get(), /*registered=*/true);
      if (!e.ok()) {
        RecordFailure(e, absl::StrCat("eventhorizon read ", w->stream, "@", w->cursor));
        failed = true;
        break;  // the endpoint is unhappy: do not hammer it with the other streams
      }
    }
    absl::MutexLock lock(&mu_);
    if (failed) {
      wait = JitteredBackoff(status_.consecutive_failures - 1, options_.poll_interval, options_.max_backoff);
      continue;
    }
    if (status_.stale) {
      log::Info("eventhorizon read recovered").Kv("failures", status_.consecutive_failures);
    }
    status_.stale = false;
    status_.consecutive_failures = 0;
    status_.last_success = absl::Now();
    wait = options_.poll_interval;
  }
}

LogStatus EventHorizonEventLog::status() const {
  absl::MutexLock lock(&mu_);
  LogStatus s = status_;
  s.skipped.assign(skipped_.begin(), skipped_.end());
  s.caught_up = true;
  for (const auto& [id, w] : watchers_) s.caught_up = s.caught_up && w->caught_up;
  return s;
}

absl::StatusOr<std::unique_ptr<controlplane::WatchHandle>> EventHorizonEventLog::Watch(
    absl::string_view stream, uint64_t after_version, EntryCallback on_entry) {
  if (absl::Status s = controlplane::ValidateStreamName(stream); !s.ok()) return s;
  auto w = std::make_shared<Watcher>();
  w->stream = std::string(stream);
  w->cursor = after_version;
  w->callback = std::move(on_entry);
  // The backlog on this thread, so the caller starts from a complete state when it can.
  DynamoError e = CatchUp(w.get(), /*registered=*/false);
  if (!e.ok()) {
    const std::string context = absl::StrCat("eventhorizon watch ", stream, "@", w->cursor);
    // Wrong table, credentials or request: fail now. Throttling or an unreachable endpoint:
    // start anyway, reported as stale until the poller catches up.
    if (!e.IsTransient()) return e.ToStatus(context);
    RecordFailure(e, context);
  }
  absl::MutexLock lock(&mu_);
  w->id = next_watcher_id_++;
  watchers_[w->id] = w;
  if (!e.ok()) kicked_ = true;
  return std::unique_ptr<controlplane::WatchHandle>(new Handle(this, w->id));
}

void EventHorizonEventLog::RemoveWatcher(uint64_t id) {
  absl::MutexLock deliver(&deliver_mu_);
  absl::MutexLock lock(&mu_);
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return;
  it->second->removed = true;
  watchers_.erase(it);
}

absl::StatusOr<uint64_t> EventHorizonEventLog::Append(absl::string_view stream, std::vector<events::v1::Event> batch,
                                                      std::optional<uint64_t> expected_version) {
  if (absl::Status s = controlplane::ValidateStreamName(stream); !s.ok()) return s;
  if (batch.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("eventhorizon append ", stream, ": empty batch"));
  }
  Item item{std::string(stream), 0, std::nullopt, std::move(batch)};
  for (int attempt = 0; attempt < options_.conflict_attempts; ++attempt) {
    absl::StatusOr<std::optional<int64_t>> head = store_.Head(stream);
    if (!head.ok()) return head.status();
    if (!head->has_value()) {
      if (expected_version.has_value() && *expected_version != 0) {
        return absl::AbortedError(absl::StrCat("version conflict on ", stream, ": expected version ",
                                               *expected_version, ", stream does not exist (version 0)"));
      }
      // As EventHorizon's stream-create would: StreamStarted at v0 plus the parent's link.
      if (absl::Status s = store_.EnsureStream(stream); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("eventhorizon append ", stream, ": ", s.message()));
      }
      *head = 0;
    }
    const uint64_t at = static_cast<uint64_t>(**head);
    if (expected_version.has_value() && *expected_version != at) {
      return absl::AbortedError(absl::StrCat("version conflict on ", stream, ": expected version ",
                                             *expected_version, ", stream is at version ", at));
    }
    item.version = static_cast<int64_t>(at + 1);
    const std::string context = absl::StrCat("eventhorizon append ", stream, "@", item.version);
    const size_t bytes = EncodeItem(item).dump().size();
    if (bytes > kMaxItemBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(context, ": batch of ", bytes, " bytes is over DynamoDB's ", kMaxItemBytes, "-byte item limit"));
    }
    bool ambiguous = false;
    DynamoError e = store_.PutNew(item, &ambiguous);
    if (e.IsConditionFailed() && ambiguous) {
      // An attempt may have landed without us hearing back: if the item there is ours, it is.
      absl::StatusOr<std::optional<json>> there = store_.GetItem(stream, item.version);
      if (there.ok() && there->has_value() && (**there)["e"] == EncodeItem(item)["e"]) e = DynamoError();
    }
    if (e.ok()) {
      NoteHead(item.stream, item.version);
      Kick();
      return static_cast<uint64_t>(item.version);
    }
    if (!e.IsConditionFailed()) return e.ToStatus(context);
    if (expected_version.has_value()) {
      absl::StatusOr<std::optional<int64_t>> now = store_.Head(stream);
      const std::string now_text = now.ok() && now->has_value() ? absl::StrCat(**now) : absl::StrCat(">", at);
      return absl::AbortedError(absl::StrCat("version conflict on ", stream, ": expected version ",
                                             *expected_version, ", stream is at version ", now_text));
    }
    absl::SleepFor(JitteredBackoff(attempt, absl::Milliseconds(5), absl::Milliseconds(200)));
  }
  return absl::AbortedError(absl::StrCat("eventhorizon append ", stream, ": still conflicting after ",
                                         options_.conflict_attempts, " attempts (too many concurrent writers)"));
}

absl::StatusOr<std::vector<LogEntry>> EventHorizonEventLog::ReadAfter(absl::string_view stream,
                                                                     uint64_t after_version, size_t max_entries) {
  if (absl::Status s = controlplane::ValidateStreamName(stream); !s.ok()) return s;
  std::vector<LogEntry> entries;
  const std::string name(stream);
  int64_t cursor = static_cast<int64_t>(after_version);
  while (entries.size() < max_entries) {
    const int limit = static_cast<int>(std::min<size_t>(kQueryLimit, max_entries - entries.size()));
    DynamoResult<QueryPage> page;
    for (int attempt = 0; attempt < 4; ++attempt) {
      if (attempt > 0) absl::SleepFor(JitteredBackoff(attempt - 1, absl::Milliseconds(50), absl::Seconds(1)));
      page = store_.QueryAfter(stream, cursor, limit, /*consistent=*/true);
      if (page.ok() || !page.error.IsTransient()) break;
    }
    if (!page.ok()) return page.error.ToStatus(absl::StrCat("eventhorizon read ", stream, "@", cursor));
    for (const json& raw : page.value.items) {
      absl::StatusOr<std::pair<std::string, int64_t>> key = DecodeKey(raw);
      if (!key.ok() || key->second <= cursor) continue;
      entries.push_back(ToEntry(name, raw, key->second));
      cursor = key->second;
    }
    if (page.value.items.empty() || !page.value.more) break;
  }
  if (!entries.empty()) NoteHead(name, entries.back().version);
  return entries;
}

uint64_t EventHorizonEventLog::Head(absl::string_view stream) {
  absl::StatusOr<std::optional<int64_t>> head = store_.Head(stream);
  if (head.ok()) {
    const uint64_t v = head->has_value() ? static_cast<uint64_t>(**head) : 0;
    NoteHead(std::string(stream), v);
    return v;
  }
  absl::MutexLock lock(&mu_);
  auto it = known_heads_.find(stream);
  return it == known_heads_.end() ? 0 : it->second;
}

std::vector<std::string> EventHorizonEventLog::Streams() {
  std::vector<std::string> names;
  json request = {{"TableName", store_.table()},
                  {"ProjectionExpression", "s"},
                  {"FilterExpression", "v = :zero"},
                  {"ExpressionAttributeValues", {{":zero", {{"N", "0"}}}}}};
  while (true) {
    DynamoResult<json> r = client_.Call("Scan", request);
    if (!r.ok()) break;
    if (r.value.contains("Items") && r.value["Items"].is_array()) {
      for (const json& item : r.value["Items"]) {
        // Lease items ("_lease/…") share the table but are not streams.
        if (item.contains("s") && item["s"].contains("S") && item["s"]["S"].get<std::string>().rfind('/', 0) == 0) {
          names.push_back(item["s"]["S"].get<std::string>());
        }
      }
    }
    if (!r.value.contains("LastEvaluatedKey") || r.value["LastEvaluatedKey"].empty()) break;
    request["ExclusiveStartKey"] = r.value["LastEvaluatedKey"];
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace edgerouter::eventhorizon
