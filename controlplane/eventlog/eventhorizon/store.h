// The EventHorizon operations on one `<env>_eh_events` table, shared by the event log and
// `edgerouterctl eventhorizon`: head lookup, paged reads, conditional puts, stream creation
// (TransactWriteItems, with a documented fallback where transactions are unknown), bootstrap
// and table creation.
#ifndef EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_STORE_H_
#define EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_STORE_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/eventlog/eventhorizon/dynamodb_client.h"
#include "controlplane/eventlog/eventhorizon/items.h"

namespace edgerouter::eventhorizon {

// Items per Query, as EventHorizon reads.
inline constexpr int kQueryLimit = 100;

struct QueryPage {
  std::vector<nlohmann::json> items;  // raw attribute maps, in version order
  bool more = false;                  // LastEvaluatedKey was present: re-query after the last one
};

class Store {
 public:
  // `transient_attempts`: how often a call that failed transiently (throttling, 5xx, no answer)
  // is tried in all by the write and creation paths (jittered exponential backoff from 50 ms).
  Store(DynamoDbClient* client, std::string table, int transient_attempts = 5);

  const std::string& table() const { return table_; }
  DynamoDbClient* client() const { return client_; }

  // Latest version of `stream` (Query descending, Limit 1, consistent); nullopt when the stream
  // has no items, i.e. does not exist (every existing stream has its v0).
  absl::StatusOr<std::optional<int64_t>> Head(absl::string_view stream);
  // One Query page: `s = :s AND v > :after`, Limit `limit`. No retries: readers back off.
  DynamoResult<QueryPage> QueryAfter(absl::string_view stream, int64_t after, int limit, bool consistent);
  // Every item of `stream` after `after`, paging; for small streams (parents, the CLI).
  absl::StatusOr<std::vector<nlohmann::json>> ReadAll(absl::string_view stream, int64_t after);
  // PutItem with attribute_not_exists(s) AND attribute_not_exists(v): error.IsConditionFailed()
  // when that version exists. Transient errors are retried here; `ambiguous` (optional) is set
  // when an attempt may have been applied without us seeing the answer (timeout, 5xx), so a
  // later "exists" may be our own write.
  DynamoError PutNew(const Item& item, bool* ambiguous = nullptr);
  // The item at stream@version, read consistently; nullopt if absent.
  absl::StatusOr<std::optional<nlohmann::json>> GetItem(absl::string_view stream, int64_t version);

  // Creates `path` under its existing parent: ChildStreamCreated at the parent's head+1 and
  // StreamStarted at the child's v0, in one TransactWriteItems. Where the endpoint has no
  // transactions (UnknownOperationException, e.g. dynalite), falls back to: conditional put of
  // the child's v0, then the parent's link unless the parent already holds it (each step
  // idempotent, so re-running repairs an interrupted creation). AlreadyExists if `path` exists
  // (after repairing its link in the fallback); NotFound if the parent does not exist.
  absl::Status CreateStream(absl::string_view path);
  // `path` and every missing ancestor, creating the root by Bootstrap(); OK if it exists.
  absl::Status EnsureStream(absl::string_view path);
  // EventHorizon's bootstrap: "/" (StreamStarted with empty parent) and "/_sub". Idempotent.
  absl::Status Bootstrap();
  // CreateTable (hash s:S, range v:N, on-demand billing), then waits until ACTIVE. OK if the
  // table exists.
  absl::Status CreateTable();

  // Whether TransactWriteItems is used (false once the endpoint said it does not know it).
  bool transactions_supported() const { return transactions_supported_.load(); }

 private:
  DynamoResult<nlohmann::json> CallRetrying(absl::string_view operation, const nlohmann::json& request);
  absl::Status CreateWithoutTransaction(absl::string_view path, absl::string_view parent);
  absl::Status EnsureLink(absl::string_view parent, absl::string_view child);

  DynamoDbClient* const client_;
  const std::string table_;
  const int transient_attempts_;
  std::atomic<bool> transactions_supported_{true};
};

// Sleep before retry `attempt` (0-based): 50 ms · 2^attempt, capped at `cap`, scaled by a random
// factor in [0.5, 1] so that competing clients spread out.
absl::Duration JitteredBackoff(int attempt, absl::Duration base, absl::Duration cap);

}  // namespace edgerouter::eventhorizon

#endif  // EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_STORE_H_
