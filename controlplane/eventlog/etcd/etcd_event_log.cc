#include "controlplane/eventlog/etcd/etcd_event_log.h"


#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/log/log.h"
#include "controlplane/eventlog/etcd/etcd_record.h"

namespace edgerouter::controlplane::etcd {
namespace {

using etcdserverpb::Compare;
using etcdserverpb::RangeRequest;
using etcdserverpb::TxnRequest;

Compare CreateRevision(std::string key, Compare::CompareResult result, int64_t revision) {
  Compare c;
  c.set_key(std::move(key));
  c.set_target(Compare::CREATE);
  c.set_result(result);
  c.set_create_revision(revision);
  return c;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EtcdEventLog>> EtcdEventLog::Open(EtcdEventLogOptions options) {
  absl::StatusOr<std::unique_ptr<EtcdClient>> client = EtcdClient::Create(options.client);
  if (!client.ok()) return client.status();
  while (absl::EndsWith(options.prefix, "/")) options.prefix.pop_back();
  return std::unique_ptr<EtcdEventLog>(new EtcdEventLog(std::move(options), *std::move(client)));
}

EtcdEventLog::EtcdEventLog(EtcdEventLogOptions options, std::unique_ptr<EtcdClient> client)
    : options_(std::move(options)), client_(std::move(client)) {}

EtcdEventLog::~EtcdEventLog() = default;

std::string EtcdEventLog::StreamKeyPrefix(absl::string_view stream) const {
  return etcd::StreamKeyPrefix(options_.prefix, stream);
}

std::string EtcdEventLog::VersionKey(absl::string_view stream, uint64_t version) const {
  return etcd::VersionKey(options_.prefix, stream, version);
}

void EtcdEventLog::NoteHead(absl::string_view stream, uint64_t version) {
  absl::MutexLock lock(&mu_);
  auto it = known_heads_.find(stream);
  if (it == known_heads_.end()) {
    known_heads_.emplace(std::string(stream), version);
  } else if (it->second < version) {
    it->second = version;
  }
}

std::optional<LogEntry> EtcdEventLog::DecodeEntry(absl::string_view stream,
                                                  const mvccpb::KeyValue& kv) {
  const std::optional<uint64_t> version = ParseVersionKey(StreamKeyPrefix(stream), kv.key());
  if (!version.has_value()) {
    log::Warn("etcd: foreign key under a stream ignored").Kv("stream", stream).Kv("key", absl::CHexEscape(kv.key()));
    return std::nullopt;
  }
  LogEntry entry;
  entry.version = *version;
  absl::StatusOr<events::v1::LogRecord> record = DecodeRecord(stream, *version, kv.value());
  if (!record.ok()) {
    // Skipped alone: the version still counts, so the stream keeps moving past it.
    stats_.skipped_records.fetch_add(1);
    log::Warn("etcd: malformed record skipped").Kv("error", record.status().message());
    return entry;
  }
  for (events::v1::Event& e : *record->mutable_events()) entry.events.push_back(std::move(e));
  return entry;
}

absl::StatusOr<EtcdEventLog::Page> EtcdEventLog::ReadPage(absl::string_view stream,
                                                          uint64_t after_version, int64_t limit) {
  RangeRequest request;
  request.set_key(VersionKey(stream, after_version + 1));
  request.set_range_end(EtcdPrefixEnd(StreamKeyPrefix(stream)));
  request.set_limit(limit);
  absl::StatusOr<etcdserverpb::RangeResponse> response =
      client_->Range(request, absl::StrCat("etcd read ", stream, " after version ", after_version));
  if (!response.ok()) return response.status();
  Page page;
  page.revision = response->header().revision();
  page.more = response->more();
  for (const mvccpb::KeyValue& kv : response->kvs()) {
    if (std::optional<LogEntry> entry = DecodeEntry(stream, kv)) page.entries.push_back(*std::move(entry));
  }
  if (!page.entries.empty()) NoteHead(stream, page.entries.back().version);
  return page;
}

absl::StatusOr<uint64_t> EtcdEventLog::HeadOrError(absl::string_view stream) {
  if (absl::Status s = ValidateStreamName(stream); !s.ok()) return s;
  RangeRequest request;
  request.set_key(StreamKeyPrefix(stream));
  request.set_range_end(EtcdPrefixEnd(StreamKeyPrefix(stream)));
  request.set_limit(1);
  request.set_sort_order(RangeRequest::DESCEND);
  request.set_sort_target(RangeRequest::KEY);
  request.set_keys_only(true);
  absl::StatusOr<etcdserverpb::RangeResponse> response =
      client_->Range(request, absl::StrCat("etcd head ", stream));
  if (!response.ok()) return response.status();
  if (response->kvs().empty()) return 0;
  const std::optional<uint64_t> version = ParseVersionKey(StreamKeyPrefix(stream), response->kvs(0).key());
  if (!version.has_value()) {
    return absl::DataLossError(absl::StrCat("etcd head ", stream, ": unexpected key \"",
                                            absl::CHexEscape(response->kvs(0).key()), "\""));
  }
  NoteHead(stream, *version);
  return *version;
}

uint64_t EtcdEventLog::Head(absl::string_view stream) {
  absl::StatusOr<uint64_t> head = HeadOrError(stream);
  if (head.ok()) return *head;
  log::Warn("etcd: head unknown, using the last one seen").Kv("error", head.status().message());
  absl::MutexLock lock(&mu_);
  auto it = known_heads_.find(stream);
  return it == known_heads_.end() ? 0 : it->second;
}

absl::StatusOr<uint64_t> EtcdEventLog::Append(absl::string_view stream,
                                              std::vector<events::v1::Event> batch,
                                              std::optional<uint64_t> expected_version) {
  if (absl::Status s = ValidateStreamName(stream); !s.ok()) return s;
  uint64_t version = 0;
  if (expected_version.has_value()) {
    version = *expected_version + 1;
  } else {
    absl::StatusOr<uint64_t> head = HeadOrError(stream);
    if (!head.ok()) return head.status();
    version = *head + 1;
  }
  events::v1::LogRecord record;
  record.set_stream(std::string(stream));
  for (events::v1::Event& e : batch) *record.add_events() = std::move(e);
  // Without an expected version a lost race is retried at the new head, within the call timeout.
  const absl::Time deadline = absl::Now() + options_.client.call_timeout;
  while (true) {
    const std::string what = absl::StrCat("etcd append ", stream, "@", version);
    record.set_version(version);
    std::string value;
    record.SerializeToString(&value);
    const std::string key = VersionKey(stream, version);

    TxnRequest txn;
    *txn.add_compare() = CreateRevision(key, Compare::EQUAL, 0);
    if (version > 1) *txn.add_compare() = CreateRevision(VersionKey(stream, version - 1), Compare::GREATER, 0);
    etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
    put->set_key(key);
    put->set_value(value);
    if (version == 1) txn.add_success()->mutable_request_put()->set_key(absl::StrCat(options_.prefix, "/streams", stream));
    // On failure: what is at our key (our own earlier attempt?) and where the head is.
    txn.add_failure()->mutable_request_range()->set_key(key);
    RangeRequest* head = txn.add_failure()->mutable_request_range();
    head->set_key(StreamKeyPrefix(stream));
    head->set_range_end(EtcdPrefixEnd(StreamKeyPrefix(stream)));
    head->set_limit(1);
    head->set_sort_order(RangeRequest::DESCEND);
    head->set_keys_only(true);

    absl::StatusOr<etcdserverpb::TxnResponse> response = client_->Txn(txn, what);
    if (!response.ok()) return response.status();
    if (response->succeeded()) {
      NoteHead(stream, version);
      return version;
    }
    if (response->responses_size() != 2) {
      return absl::InternalError(absl::StrCat(what, ": unexpected Txn reply (", response->responses_size(), " results)"));
    }
    const auto& mine = response->responses(0).response_range().kvs();
    // A retried attempt whose first try committed but whose reply was lost: our bytes are there.
    if (!mine.empty() && mine[0].value() == value) {
      NoteHead(stream, version);
      return version;
    }
    uint64_t at = 0;
    const auto& top = response->responses(1).response_range().kvs();
    if (!top.empty()) {
      const std::optional<uint64_t> top_version = ParseVersionKey(StreamKeyPrefix(stream), top[0].key());
      if (!top_version.has_value()) {
        return absl::DataLossError(absl::StrCat(what, ": unexpected key \"", absl::CHexEscape(top[0].key()), "\""));
      }
      at = *top_version;
    }
    NoteHead(stream, at);
    if (expected_version.has_value()) {
      return absl::AbortedError(absl::StrCat("version conflict on ", stream, ": expected version ",
                                             *expected_version, ", stream is at version ", at));
    }
    if (absl::Now() >= deadline) {
      return absl::AbortedError(absl::StrCat(what, ": lost every race to concurrent appenders for ",
                                             absl::FormatDuration(options_.client.call_timeout),
                                             "; stream is at version ", at));
    }
    version = at + 1;
  }
}

absl::StatusOr<std::vector<LogEntry>> EtcdEventLog::ReadAfter(absl::string_view stream,
                                                              uint64_t after_version,
                                                              size_t max_entries) {
  if (absl::Status s = ValidateStreamName(stream); !s.ok()) return s;
  std::vector<LogEntry> out;
  // Pages are read at the latest revision each: versions are immutable and contiguous, so the
  // pages still join into one gap-free sequence.
  while (out.size() < max_entries) {
    const int64_t limit = std::min<int64_t>(options_.page_size, max_entries - out.size());
    const uint64_t after = out.empty() ? after_version : out.back().version;
    absl::StatusOr<Page> page = ReadPage(stream, after, limit);
    if (!page.ok()) return page.status();
    for (LogEntry& e : page->entries) out.push_back(std::move(e));
    if (!page->more || page->entries.empty()) break;
  }
  return out;
}

std::vector<std::string> EtcdEventLog::Streams() {
  const std::string prefix = absl::StrCat(options_.prefix, "/streams/");
  std::vector<std::string> names;
  RangeRequest request;
  request.set_key(prefix);
  request.set_range_end(EtcdPrefixEnd(prefix));
  request.set_keys_only(true);
  absl::StatusOr<etcdserverpb::RangeResponse> response = client_->Range(request, "etcd list streams");
  if (!response.ok()) {
    log::Warn("etcd: cannot list streams").Kv("error", response.status().message());
    return names;
  }
  for (const mvccpb::KeyValue& kv : response->kvs()) {
    names.push_back(kv.key().substr(prefix.size() - 1));  // keeps the stream's leading '/'
  }
  return names;
}

}  // namespace edgerouter::controlplane::etcd
