#include "controlplane/eventlog/eventhorizon/store.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace edgerouter::eventhorizon {
namespace {

using nlohmann::json;

constexpr char kNotExists[] = "attribute_not_exists(s) AND attribute_not_exists(v)";
constexpr absl::Duration kTableActiveTimeout = absl::Seconds(60);

json S(absl::string_view s) { return json{{"S", std::string(s)}}; }
json N(int64_t n) { return json{{"N", absl::StrCat(n)}}; }

}  // namespace

absl::Duration JitteredBackoff(int attempt, absl::Duration base, absl::Duration cap) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  absl::Duration d = base * (1 << std::min(attempt, 16));
  if (d > cap) d = cap;
  return d * std::uniform_real_distribution<double>(0.5, 1.0)(rng);
}

Store::Store(DynamoDbClient* client, std::string table, int transient_attempts)
    : client_(client), table_(std::move(table)), transient_attempts_(std::max(1, transient_attempts)) {}

DynamoResult<json> Store::CallRetrying(absl::string_view operation, const json& request) {
  DynamoResult<json> r;
  for (int attempt = 0; attempt < transient_attempts_; ++attempt) {
    if (attempt > 0) absl::SleepFor(JitteredBackoff(attempt - 1, absl::Milliseconds(50), absl::Seconds(2)));
    r = client_->Call(operation, request);
    if (r.ok() || !r.error.IsTransient()) return r;
  }
  return r;
}

absl::StatusOr<std::optional<int64_t>> Store::Head(absl::string_view stream) {
  const json request = {{"TableName", table_},
                        {"KeyConditionExpression", "s = :s"},
                        {"ExpressionAttributeValues", {{":s", S(stream)}}},
                        {"ScanIndexForward", false},
                        {"Limit", 1},
                        {"ConsistentRead", true}};
  DynamoResult<json> r = CallRetrying("Query", request);
  if (!r.ok()) return r.error.ToStatus(absl::StrCat("eventhorizon head of ", stream));
  const json& items = r.value["Items"];
  if (!items.is_array() || items.empty()) return std::optional<int64_t>();
  absl::StatusOr<std::pair<std::string, int64_t>> key = DecodeKey(items[0]);
  if (!key.ok()) return absl::DataLossError(absl::StrCat("eventhorizon head of ", stream, ": ", key.status().message()));
  return std::optional<int64_t>(key->second);
}

DynamoResult<QueryPage> Store::QueryAfter(absl::string_view stream, int64_t after, int limit, bool consistent) {
  const json request = {{"TableName", table_},
                        {"KeyConditionExpression", "s = :s AND v > :v"},
                        {"ExpressionAttributeValues", {{":s", S(stream)}, {":v", N(after)}}},
                        {"Limit", limit},
                        {"ConsistentRead", consistent}};
  DynamoResult<json> r = client_->Call("Query", request);
  DynamoResult<QueryPage> out;
  out.error = std::move(r.error);
  if (!out.ok()) return out;
  if (r.value.contains("Items") && r.value["Items"].is_array()) {
    for (json& item : r.value["Items"]) out.value.items.push_back(std::move(item));
  }
  out.value.more = r.value.contains("LastEvaluatedKey") && !r.value["LastEvaluatedKey"].empty();
  return out;
}

absl::StatusOr<std::vector<json>> Store::ReadAll(absl::string_view stream, int64_t after) {
  std::vector<json> all;
  while (true) {
    DynamoResult<QueryPage> page;
    for (int attempt = 0; attempt < transient_attempts_; ++attempt) {
      if (attempt > 0) absl::SleepFor(JitteredBackoff(attempt - 1, absl::Milliseconds(50), absl::Seconds(2)));
      page = QueryAfter(stream, after, kQueryLimit, /*consistent=*/true);
      if (page.ok() || !page.error.IsTransient()) break;
    }
    if (!page.ok()) return page.error.ToStatus(absl::StrCat("eventhorizon read ", stream, "@", after));
    if (page.value.items.empty()) break;
    absl::StatusOr<std::pair<std::string, int64_t>> last = DecodeKey(page.value.items.back());
    if (!last.ok()) return absl::DataLossError(absl::StrCat("eventhorizon read ", stream, ": ", last.status().message()));
    after = last->second;
    for (json& item : page.value.items) all.push_back(std::move(item));
    if (!page.value.more) break;
  }
  return all;
}

DynamoError Store::PutNew(const Item& item, bool* ambiguous) {
  const json request = {{"TableName", table_}, {"Item", EncodeItem(item)}, {"ConditionExpression", kNotExists}};
  DynamoResult<json> r;
  for (int attempt = 0; attempt < transient_attempts_; ++attempt) {
    if (attempt > 0) absl::SleepFor(JitteredBackoff(attempt - 1, absl::Milliseconds(50), absl::Seconds(2)));
    r = client_->Call("PutItem", request);
    if (ambiguous != nullptr && r.error.IsAmbiguous()) *ambiguous = true;
    if (r.ok() || !r.error.IsTransient()) break;
  }
  return r.error;
}

absl::StatusOr<std::optional<json>> Store::GetItem(absl::string_view stream, int64_t version) {
  const json request = {{"TableName", table_},
                        {"Key", {{"s", S(stream)}, {"v", N(version)}}},
                        {"ConsistentRead", true}};
  DynamoResult<json> r = CallRetrying("GetItem", request);
  if (!r.ok()) return r.error.ToStatus(absl::StrCat("eventhorizon get ", stream, "@", version));
  if (!r.value.contains("Item") || !r.value["Item"].is_object()) return std::optional<json>();
  return std::optional<json>(r.value["Item"]);
}

absl::Status Store::CreateStream(absl::string_view path) {
  const std::string parent = ParentOf(path);
  const std::string context = absl::StrCat("eventhorizon create stream ", path);
  if (parent.empty()) {  // the root: only its v0
    Item root{std::string(path), 0, StreamStartedEvent(""), {}};
    DynamoError e = PutNew(root);
    if (e.IsConditionFailed()) return absl::AlreadyExistsError(absl::StrCat(context, ": already exists"));
    return e.ok() ? absl::OkStatus() : e.ToStatus(context);
  }
  for (int attempt = 0; attempt < 8; ++attempt) {
    absl::StatusOr<std::optional<int64_t>> parent_head = Head(parent);
    if (!parent_head.ok()) return parent_head.status();
    if (!parent_head->has_value()) {
      return absl::NotFoundError(absl::StrCat(context, ": parent stream ", parent, " does not exist"));
    }
    if (!transactions_supported_.load()) return CreateWithoutTransaction(path, parent);
    Item link{parent, **parent_head + 1, ChildStreamCreatedEvent(path), {}};
    Item child{std::string(path), 0, StreamStartedEvent(parent), {}};
    const json request = {
        {"TransactItems",
         {{{"Put", {{"TableName", table_}, {"Item", EncodeItem(link)}, {"ConditionExpression", kNotExists}}}},
          {{"Put", {{"TableName", table_}, {"Item", EncodeItem(child)}, {"ConditionExpression", kNotExists}}}}}}};
    DynamoResult<json> r = CallRetrying("TransactWriteItems", request);
    if (r.ok()) return absl::OkStatus();
    if (r.error.IsUnknownOperation()) {
      transactions_supported_.store(false);
      return CreateWithoutTransaction(path, parent);
    }
    if (r.error.code != "TransactionCanceledException") return r.error.ToStatus(context);
    // Which put failed: the child's v0 means the stream exists; the parent's means it moved on.
    const json& reasons = r.value.contains("CancellationReasons") ? r.value["CancellationReasons"] : json::array();
    auto failed = [&](size_t i) {
      return reasons.is_array() && reasons.size() > i && reasons[i].is_object() &&
             reasons[i].value("Code", "") == "ConditionalCheckFailed";
    };
    if (failed(1)) return absl::AlreadyExistsError(absl::StrCat(context, ": already exists"));
    if (!failed(0)) return r.error.ToStatus(context);
    absl::SleepFor(JitteredBackoff(attempt, absl::Milliseconds(20), absl::Milliseconds(500)));
  }
  return absl::AbortedError(absl::StrCat(context, ": parent ", parent, " kept changing"));
}

absl::Status Store::CreateWithoutTransaction(absl::string_view path, absl::string_view parent) {
  const std::string context = absl::StrCat("eventhorizon create stream ", path);
  // Child first: an interruption leaves a readable stream without its parent link (which any
  // later creation attempt repairs), never a link to a stream that does not exist.
  DynamoError e = PutNew(Item{std::string(path), 0, StreamStartedEvent(parent), {}});
  const bool existed = e.IsConditionFailed();
  if (!existed && !(e.ok())) return e.ToStatus(context);
  if (absl::Status s = EnsureLink(parent, path); !s.ok()) return s;
  return existed ? absl::AlreadyExistsError(absl::StrCat(context, ": already exists")) : absl::OkStatus();
}

absl::Status Store::EnsureLink(absl::string_view parent, absl::string_view child) {
  const std::string context = absl::StrCat("eventhorizon link ", child, " in ", parent);
  for (int attempt = 0; attempt < 8; ++attempt) {
    absl::StatusOr<std::vector<json>> items = ReadAll(parent, -1);
    if (!items.ok()) return items.status();
    int64_t head = -1;
    for (const json& raw : *items) {
      absl::StatusOr<Item> item = DecodeItem(raw);
      if (!item.ok()) {
        absl::StatusOr<std::pair<std::string, int64_t>> key = DecodeKey(raw);
        if (key.ok()) head = key->second;
        continue;
      }
      head = item->version;
      if (item->meta_event.has_value() && ChildStreamOf(*item->meta_event) == child) return absl::OkStatus();
    }
    if (head < 0) return absl::NotFoundError(absl::StrCat(context, ": parent stream does not exist"));
    DynamoError e = PutNew(Item{std::string(parent), head + 1, ChildStreamCreatedEvent(child), {}});
    if (e.ok()) return absl::OkStatus();
    if (!e.IsConditionFailed()) return e.ToStatus(context);
    // Someone appended to the parent meanwhile (maybe this very link): look again.
  }
  return absl::AbortedError(absl::StrCat(context, ": parent kept changing"));
}

absl::Status Store::EnsureStream(absl::string_view path) {
  absl::StatusOr<std::optional<int64_t>> head = Head(path);
  if (!head.ok()) return head.status();
  if (head->has_value()) return absl::OkStatus();
  const std::string parent = ParentOf(path);
  if (parent.empty() || parent == "/") {
    if (absl::Status s = Bootstrap(); !s.ok()) return s;
    if (parent.empty()) return absl::OkStatus();
  } else if (absl::Status s = EnsureStream(parent); !s.ok()) {
    return s;
  }
  absl::Status s = CreateStream(path);
  return s.ok() || absl::IsAlreadyExists(s) ? absl::OkStatus() : s;
}

absl::Status Store::Bootstrap() {
  absl::Status root = CreateStream("/");
  if (!root.ok() && !absl::IsAlreadyExists(root)) return root;
  absl::Status sub = CreateStream("/_sub");
  return sub.ok() || absl::IsAlreadyExists(sub) ? absl::OkStatus() : sub;
}

absl::Status Store::CreateTable() {
  const std::string context = absl::StrCat("eventhorizon create table ", table_);
  const json request = {
      {"TableName", table_},
      {"AttributeDefinitions", {{{"AttributeName", "s"}, {"AttributeType", "S"}},
                                {{"AttributeName", "v"}, {"AttributeType", "N"}}}},
      {"KeySchema", {{{"AttributeName", "s"}, {"KeyType", "HASH"}}, {{"AttributeName", "v"}, {"KeyType", "RANGE"}}}},
      {"BillingMode", "PAY_PER_REQUEST"}};
  DynamoResult<json> r = CallRetrying("CreateTable", request);
  if (!r.ok() && r.error.code != "ResourceInUseException") return r.error.ToStatus(context);
  const absl::Time deadline = absl::Now() + kTableActiveTimeout;
  while (true) {
    DynamoResult<json> d = CallRetrying("DescribeTable", json{{"TableName", table_}});
    if (!d.ok()) return d.error.ToStatus(context);
    const std::string status = d.value.contains("Table") ? d.value["Table"].value("TableStatus", "") : "";
    if (status == "ACTIVE") return absl::OkStatus();
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(context, ": still ", status, " after ",
                                                      absl::FormatDuration(kTableActiveTimeout)));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

}  // namespace edgerouter::eventhorizon
