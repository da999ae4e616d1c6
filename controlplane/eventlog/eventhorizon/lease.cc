#include "controlplane/eventlog/eventhorizon/lease.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace edgerouter::eventhorizon {
namespace {

using nlohmann::json;

json Key(const std::string& name) { return {{"s", {{"S", "_lease/" + name}}}, {"v", {{"N", "0"}}}}; }

}  // namespace

DynamoLease::DynamoLease(DynamoDbClient* client, std::string table, std::string name, std::string holder_id,
                         absl::Duration ttl, absl::Duration safety)
    : client_(client),
      table_(std::move(table)),
      name_(std::move(name)),
      holder_id_(std::move(holder_id)),
      ttl_(ttl),
      safety_(safety) {}

absl::StatusOr<bool> DynamoLease::TryAcquire() {
  const absl::Time sent = absl::Now();
  json item = Key(name_);
  item["holder"] = {{"S", holder_id_}};
  item["expires_unix_ms"] = {{"N", absl::StrCat(absl::ToUnixMillis(sent + ttl_))}};
  const json request = {
      {"TableName", table_},
      {"Item", item},
      {"ConditionExpression", "attribute_not_exists(s) OR holder = :me OR expires_unix_ms < :now"},
      {"ExpressionAttributeValues",
       {{":me", {{"S", holder_id_}}}, {":now", {{"N", absl::StrCat(absl::ToUnixMillis(sent))}}}}}};
  DynamoResult<json> r = client_->Call("PutItem", request);
  absl::MutexLock lock(&mu_);
  if (r.ok()) {
    held_until_ = sent + ttl_ - safety_;
    return true;
  }
  if (r.error.IsConditionFailed()) {
    held_until_ = absl::InfinitePast();
    return false;
  }
  // Unknown outcome: keep the local deadline we had (it only runs out).
  return r.error.ToStatus(absl::StrCat("lease ", name_, " acquire by ", holder_id_));
}

bool DynamoLease::IsHeld() const {
  absl::MutexLock lock(&mu_);
  return absl::Now() < held_until_;
}

absl::StatusOr<std::string> DynamoLease::Holder() {
  DynamoResult<json> r =
      client_->Call("GetItem", {{"TableName", table_}, {"Key", Key(name_)}, {"ConsistentRead", true}});
  if (!r.ok()) return r.error.ToStatus(absl::StrCat("lease ", name_, " holder"));
  if (!r.value.contains("Item")) return std::string();
  const json& item = r.value["Item"];
  int64_t expires = 0;
  if (!item.contains("holder") || !item["holder"].contains("S") || !item.contains("expires_unix_ms") ||
      !item["expires_unix_ms"].contains("N") ||
      !absl::SimpleAtoi(item["expires_unix_ms"]["N"].get<std::string>(), &expires)) {
    return absl::DataLossError(absl::StrCat("lease ", name_, ": malformed lock item"));
  }
  if (expires < absl::ToUnixMillis(absl::Now())) return std::string();
  return item["holder"]["S"].get<std::string>();
}

absl::Status DynamoLease::Release() {
  {
    absl::MutexLock lock(&mu_);
    held_until_ = absl::InfinitePast();
  }
  DynamoResult<json> r = client_->Call(
      "DeleteItem", {{"TableName", table_},
                     {"Key", Key(name_)},
                     {"ConditionExpression", "holder = :me"},
                     {"ExpressionAttributeValues", {{":me", {{"S", holder_id_}}}}}});
  if (r.ok() || r.error.IsConditionFailed()) return absl::OkStatus();
  return r.error.ToStatus(absl::StrCat("lease ", name_, " release by ", holder_id_));
}

}  // namespace edgerouter::eventhorizon
