// EtcdEventLog::Watch: backlog by range on the caller's thread, then one thread per watch that
// follows an etcd Watch stream. Every path back from trouble (compaction, a broken stream, a
// member without a leader, a gap) goes through CatchUp(), which re-reads by range from the last
// delivered version; versions at or below it are dropped, so delivery is exactly once, in order.
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "controlplane/eventlog/etcd/etcd_event_log.h"
#include "grpcpp/grpcpp.h"

namespace edgerouter::controlplane::etcd {

class EtcdEventLog::Watcher : public WatchHandle {
 public:
  Watcher(EtcdEventLog* log, absl::string_view stream, uint64_t after_version, EntryCallback on_entry)
      : log_(log), stream_(stream), on_entry_(std::move(on_entry)), delivered_(after_version) {}

  ~Watcher() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      if (context_ != nullptr) context_->TryCancel();
    }
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Start() {
    absl::StatusOr<int64_t> revision = CatchUp();
    if (!revision.ok()) return revision.status();
    thread_ = std::thread([this, r = *revision] { Run(r); });
    return absl::OkStatus();
  }

 private:
  enum class End { kStopped, kCompacted, kGap, kBroken };

  bool Stopping() {
    absl::MutexLock lock(&mu_);
    return stopping_;
  }

  // False once the watch is being destroyed.
  bool SleepUnlessStopped(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
    return !stopping_;
  }

  void Deliver(const LogEntry& entry) {
    if (entry.version != delivered_ + 1) {
      log::Warn("etcd: versions missing from stream")
          .Kv("stream", stream_)
          .Kv("from", delivered_ + 1)
          .Kv("to", entry.version - 1);
    }
    on_entry_(entry);
    delivered_ = entry.version;
    log_->NoteHead(stream_, entry.version);
  }

  // Delivers everything after the last delivered version; returns the revision it read at, from
  // which a watch misses nothing.
  absl::StatusOr<int64_t> CatchUp() {
    while (true) {
      absl::StatusOr<Page> page = log_->ReadPage(stream_, delivered_, log_->options_.page_size);
      if (!page.ok()) return page.status();
      for (const LogEntry& entry : page->entries) {
        if (entry.version <= delivered_) continue;
        if (Stopping()) return page->revision;
        Deliver(entry);
      }
      if (!page->more || page->entries.empty()) return page->revision;
    }
  }

  void Run(int64_t revision) {
    const absl::Duration first_backoff = absl::Milliseconds(50);
    absl::Duration backoff = first_backoff;
    while (true) {
      std::string why;
      bool established = false;
      const End end = Follow(revision + 1, &established, &why);
      if (end == End::kStopped) return;
      if (established) backoff = first_backoff;
      if (end == End::kCompacted) {
        log_->stats_.compactions.fetch_add(1);
        log::Info("etcd: watch compacted, re-reading").Kv("stream", stream_).Kv("after", delivered_).Kv("detail", why);
      } else if (end == End::kBroken) {
        log_->stats_.reconnects.fetch_add(1);
        log::Warn("etcd: watch broken, reconnecting").Kv("stream", stream_).Kv("after", delivered_).Kv("error", why);
        if (!SleepUnlessStopped(backoff)) return;
        backoff = std::min(backoff * 2, log_->options_.max_watch_backoff);
      }
      while (true) {
        if (Stopping()) return;
        absl::StatusOr<int64_t> caught_up = CatchUp();
        if (caught_up.ok()) {
          revision = *caught_up;
          break;
        }
        log::Warn("etcd: watch cannot re-read").Kv("stream", stream_).Kv("error", caught_up.status().message());
        if (!SleepUnlessStopped(backoff)) return;
        backoff = std::min(backoff * 2, log_->options_.max_watch_backoff);
      }
    }
  }

  // One Watch stream from `from_revision` until it ends.
  End Follow(int64_t from_revision, bool* established, std::string* why) {
    EtcdClient& client = *log_->client_;
    EtcdClient::Endpoint& endpoint = client.Current();
    grpc::ClientContext context;
    // etcd then ends the stream when this member loses its leader, instead of going silent.
    context.AddMetadata("hasleader", "true");
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return End::kStopped;
      context_ = &context;
    }
    std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>
        stream = endpoint.watch->Watch(&context);
    etcdserverpb::WatchRequest request;
    etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
    create->set_key(log_->StreamKeyPrefix(stream_));
    create->set_range_end(EtcdPrefixEnd(log_->StreamKeyPrefix(stream_)));
    create->set_start_revision(from_revision);
    End end = End::kBroken;
    bool server_ended = false;  // Read() returned false: Finish() has the server's status
    if (stream->Write(request)) {
      etcdserverpb::WatchResponse response;
      while (end == End::kBroken) {
        if (!stream->Read(&response)) {
          server_ended = true;
          break;
        }
        if (response.created()) *established = true;
        if (response.compact_revision() > 0) {
          *why = absl::StrCat("compacted at revision ", response.compact_revision(), ", watched from ", from_revision);
          end = End::kCompacted;
          break;
        }
        if (response.canceled()) {
          *why = absl::StrCat(endpoint.address, " canceled the watch: ", response.cancel_reason());
          break;
        }
        for (const mvccpb::Event& event : response.events()) {
          if (event.type() != mvccpb::Event::PUT) continue;
          std::optional<LogEntry> entry = log_->DecodeEntry(stream_, event.kv());
          if (!entry.has_value() || entry->version <= delivered_) continue;
          if (entry->version != delivered_ + 1) {
            end = End::kGap;
            break;
          }
          if (Stopping()) break;
          Deliver(*entry);
        }
      }
    }
    if (!server_ended) {
      context.TryCancel();
      etcdserverpb::WatchResponse ignored;
      while (stream->Read(&ignored)) {}
    }
    grpc::Status status = stream->Finish();
    {
      absl::MutexLock lock(&mu_);
      context_ = nullptr;
      if (stopping_) return End::kStopped;
    }
    if (end == End::kBroken) {
      if (why->empty()) why->assign(absl::StrCat(endpoint.address, ": ", status.error_message()));
      client.Failed(endpoint);
    }
    return end;
  }

  EtcdEventLog* const log_;
  const std::string stream_;
  const EntryCallback on_entry_;
  uint64_t delivered_;  // only the watch's own thread (or Start) touches it
  std::thread thread_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
};

absl::StatusOr<std::unique_ptr<WatchHandle>> EtcdEventLog::Watch(absl::string_view stream,
                                                                 uint64_t after_version,
                                                                 EntryCallback on_entry) {
  if (absl::Status s = ValidateStreamName(stream); !s.ok()) return s;
  auto watcher = std::make_unique<Watcher>(this, stream, after_version, std::move(on_entry));
  if (absl::Status s = watcher->Start(); !s.ok()) return s;
  return std::unique_ptr<WatchHandle>(std::move(watcher));
}

}  // namespace edgerouter::controlplane::etcd
