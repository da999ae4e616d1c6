#include "controlplane/discovery_server.h"


#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/slice.h"

namespace edgerouter::controlplane {

using discovery::v1::DiscoveryRequest;
using discovery::v1::DiscoveryResponse;

ResourceVersions VersionsOf(const BuiltSnapshot& snapshot) {
  ResourceVersions out;
  out.reserve(snapshot.resources.size());
  for (const ResourcePtr& r : snapshot.resources) out.emplace_back(r->name(), r->version());
  return out;
}

void ComputeDelta(const ResourceVersions& known, const BuiltSnapshot& target,
                  DiscoveryResponse* response) {
  size_t k = 0;
  for (const ResourcePtr& ptr : target.resources) {
    const snapshot::v1::Resource& r = *ptr;
    while (k < known.size() && known[k].first < r.name()) {
      response->add_removed_resources(std::string(known[k++].first));
    }
    if (k < known.size() && known[k].first == r.name()) {
      if (known[k].second != r.version()) *response->add_resources() = r;
      ++k;
    } else {
      *response->add_resources() = r;
    }
  }
  for (; k < known.size(); ++k) response->add_removed_resources(std::string(known[k].first));
}

void ComputeDelta(const BuiltSnapshot& from, const BuiltSnapshot& target, DiscoveryResponse* response) {
  DiffSets(
      from.resources, target.resources,
      [](const ResourcePtr& x, const ResourcePtr& y) { return x->version() == y->version(); },
      [&](const ResourcePtr& x) { response->add_removed_resources(x->name()); },
      [&](const ResourcePtr*, const ResourcePtr& y) { *response->add_resources() = *y; });
}

class DiscoveryServer::NodeStream : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  NodeStream(DiscoveryServer* server, grpc::CallbackServerContext* context)
      : server_(server), context_(context), peer_(context->peer()) {
    context_->AddInitialMetadata(kReplicaMetadataKey, server_->replica_id_.empty() ? "-" : server_->replica_id_);
    StartSendInitialMetadata();
    StartRead(&request_bytes_);
  }

  // A new snapshot exists: push it unless a response is still unanswered.
  void Notify() { Act(Decide()); }

  void Close() {
    Act(RequestFinish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "control plane shutting down")));
    // The pending read would otherwise hold the call open until the server's shutdown deadline.
    context_->TryCancel();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // client closed its side, or the call is cancelled
      Act(RequestFinish(grpc::Status::OK));
      return;
    }
    request_.Clear();
    // Deserialize consumes the buffer, so the next read may reuse it.
    grpc::Status parsed = grpc::SerializationTraits<DiscoveryRequest>::Deserialize(&request_bytes_, &request_);
    Action action = parsed.ok() ? HandleRequest() : RequestFinish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT, "discovery request from " + peer_ + " is not a DiscoveryRequest"));
    if (!action.finish && !finish_requested()) StartRead(&request_bytes_);
    Act(std::move(action));
  }

  void OnWriteDone(bool ok) override {
    Action action;
    {
      absl::MutexLock lock(&mu_);
      write_in_flight_ = false;
      if (!ok) finishing_ = true;
      if (finishing_ && !finish_called_) {
        finish_called_ = true;
        action.finish = true;
        action.status = ok ? finish_status_ : grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed");
      }
    }
    // The node may have ACKed before this completion ran, and a snapshot published meanwhile
    // found the write still in flight: decide again, or that node would wait for the next one.
    if (!action.finish) action = Decide();
    Act(std::move(action));
  }

  void OnCancel() override { Act(RequestFinish(grpc::Status::CANCELLED)); }

  void OnDone() override {
    server_->Unregister(this);
    if (!node_id_.empty()) {
      server_->UpdateStatus(node_id_, [](admin::v1::NodeStatus* s) {
        s->set_connected(false);
        s->clear_pending_version();
        s->set_disconnected_unix_ms(absl::ToUnixMillis(absl::Now()));
      });
    }
    delete this;
  }

 private:
  // What to do once the lock is released: gRPC calls are never made under mu_.
  struct Action {
    bool write = false;
    bool finish = false;
    grpc::Status status;
  };

  void Act(Action action) {
    // writing_ is replaced only after OnWriteDone, so the buffer outlives the write; every
    // stream writes the same const buffer (gRPC takes slice references, no copy).
    if (action.write) StartWrite(&writing_->wire);
    if (action.finish) Finish(action.status);
  }

  bool finish_requested() {
    absl::MutexLock lock(&mu_);
    return finishing_;
  }

  Action RequestFinish(grpc::Status status) {
    absl::MutexLock lock(&mu_);
    Action action;
    if (finishing_) return action;
    finishing_ = true;
    finish_status_ = std::move(status);
    if (!write_in_flight_ && !finish_called_) {
      finish_called_ = true;
      action.finish = true;
      action.status = finish_status_;
    }
    return action;
  }

  Action HandleRequest() {
    bool first = false;
    {
      absl::MutexLock lock(&mu_);
      if (node_id_.empty()) {
        if (request_.node_id().empty()) {
          finishing_ = finish_called_ = true;
          return {false, true,
                  grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "first request needs node_id")};
        }
        first = true;
        node_id_ = request_.node_id();
        for (const auto& [name, version] : request_.initial_resource_versions()) {
          initial_known_.emplace(name, version);
        }
        applied_version_ = request_.version_info();
      } else if (!outstanding_nonce_.empty() && request_.response_nonce() == outstanding_nonce_) {
        std::shared_ptr<const BuiltSnapshot> answered = std::move(outstanding_);
        outstanding_nonce_.clear();
        if (request_.has_error_detail()) {
          parked_version_ = answered->version;
          const std::string message = request_.error_detail().message();
          server_->stats_->OnNack();
          server_->UpdateStatus(node_id_, [&](admin::v1::NodeStatus* s) {
            s->set_last_nack_version(answered->version);
            s->set_last_nack_message(message);
            s->clear_pending_version();
          });
          // Logged after the status is recorded: the line means "visible in ListNodes".
          log::Warn("snapshot NACKed").Kv("node", node_id_).Kv("version", parked_version_).Kv("error", message);
        } else {
          acked_ = answered;
          initial_known_.clear();
          applied_version_ = answered->version;
          server_->stats_->OnAck(absl::ToDoubleSeconds(absl::Now() - answered->built_at));
          server_->UpdateStatus(node_id_, [&](admin::v1::NodeStatus* s) {
            s->set_last_acked_version(answered->version);
            s->clear_pending_version();
          });
        }
      }
      // Anything else is a stale nonce (xDS: ignore it).
    }
    if (request_.has_report()) StoreReport();
    if (first) {
      server_->UpdateStatus(node_id_, [&](admin::v1::NodeStatus* s) {
        s->set_node_id(node_id_);
        s->set_peer(peer_);
        s->set_connected(true);
        s->clear_disconnected_unix_ms();
        s->set_connected_since_unix_ms(absl::ToUnixMillis(absl::Now()));
        s->clear_pending_version();
        if (!applied_version_.empty()) s->set_last_acked_version(applied_version_);
      });
      server_->Register(this);  // from now on Notify() reaches us
    }
    return Decide();
  }

  // Keeps the node's latest report (read chain only: node_id_ is set and no longer changes).
  void StoreReport() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    const size_t bytes = request_.report().ByteSizeLong();
    if (bytes > kMaxReportBytes) {
      log::Warn("node report too large: dropped").Kv("node", node_id_).Kv("bytes", bytes);
      return;
    }
    server_->UpdateStatus(node_id_, [&](admin::v1::NodeStatus* s) {
      s->mutable_report()->Swap(request_.mutable_report());
      s->set_report_received_unix_ms(absl::ToUnixMillis(absl::Now()));
    });
  }

  // Builds the next response if one is due. Takes mu_.
  Action Decide() {
    std::shared_ptr<const BuiltSnapshot> target = server_->current();
    absl::MutexLock lock(&mu_);
    Action action;
    if (target == nullptr || node_id_.empty() || finishing_ || write_in_flight_ ||
        !outstanding_nonce_.empty()) {
      return action;
    }
    const std::string& version = target->version;
    if (version == applied_version_ || version == parked_version_) return action;
    const absl::Time start = absl::Now();

    if (acked_ == nullptr && !initial_known_.empty()) {
      // Reconnect before any ACK on this stream: a delta against what the node reported.
      DiscoveryResponse own;
      ResourceVersions known(initial_known_.begin(), initial_known_.end());
      ComputeDelta(known, *target, &own);
      own.set_version_info(version);
      own.set_nonce(version);
      writing_ = Serialize(own);
    } else {
      writing_ = server_->ResponseFor(acked_, target);
    }
    outstanding_nonce_ = version;
    outstanding_ = target;
    write_in_flight_ = true;
    server_->stats_->OnPush(writing_->bytes, writing_->full_state);
    log::Debug("snapshot push")
        .Kv("node", node_id_)
        .Kv("version", version)
        .Kv("bytes", writing_->bytes)
        .Ms("delta_ms", absl::Now() - start)
        .Ms("since_build_ms", absl::Now() - target->built_at);
    server_->UpdateStatus(node_id_, [&](admin::v1::NodeStatus* s) { s->set_pending_version(version); });
    action.write = true;
    return action;
  }

  DiscoveryServer* const server_;
  grpc::CallbackServerContext* const context_;
  const std::string peer_;
  grpc::ByteBuffer request_bytes_;  // touched only by the read chain
  DiscoveryRequest request_;

  absl::Mutex mu_;
  std::string node_id_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const SharedResponse> writing_ ABSL_GUARDED_BY(mu_);
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
  std::string outstanding_nonce_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const BuiltSnapshot> outstanding_ ABSL_GUARDED_BY(mu_);
  // What the node holds: the last snapshot it ACKed, or (after a reconnect, before the first
  // ACK) the resource versions it reported.
  std::shared_ptr<const BuiltSnapshot> acked_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> initial_known_ ABSL_GUARDED_BY(mu_);
  std::string applied_version_ ABSL_GUARDED_BY(mu_);
  std::string parked_version_ ABSL_GUARDED_BY(mu_);
};

DiscoveryServer::~DiscoveryServer() = default;

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* DiscoveryServer::StreamSnapshots(
    grpc::CallbackServerContext* context) {
  return new NodeStream(this, context);
}

std::shared_ptr<const DiscoveryServer::SharedResponse> DiscoveryServer::ResponseFor(
    const std::shared_ptr<const BuiltSnapshot>& from, const std::shared_ptr<const BuiltSnapshot>& to) {
  const std::pair<std::string, std::string> key(from ? from->version : "", to->version);
  absl::MutexLock lock(&cache_mu_);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  std::shared_ptr<const SharedResponse> response;
  if (from == nullptr) {
    response = SerializeFullState(*to);
  } else {
    DiscoveryResponse message;
    ComputeDelta(*from, *to, &message);
    message.set_version_info(to->version);
    message.set_nonce(to->version);
    response = Serialize(message);
  }
  cache_.emplace(key, response);
  return response;
}

// Written resource by resource into one buffer that the gRPC slice then owns: a message holding
// a copy of every resource (100,000 apps and as many certificates) doubled the memory while it
// was built, and the allocator kept what it once held. Fields in number order, as protobuf
// writes them, so the bytes are those of the equivalent message.
std::shared_ptr<const DiscoveryServer::SharedResponse> DiscoveryServer::SerializeFullState(const BuiltSnapshot& to) {
  using google::protobuf::internal::WireFormatLite;
  using google::protobuf::io::CodedOutputStream;
  DiscoveryResponse head;
  head.set_version_info(to.version);
  head.set_nonce(to.version);
  head.set_full_state(true);
  auto* wire = new std::string(head.SerializeAsString());
  const uint32_t tag =
      WireFormatLite::MakeTag(DiscoveryResponse::kResourcesFieldNumber, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  size_t total = wire->size();
  for (const ResourcePtr& r : to.resources) {
    const size_t size = r->ByteSizeLong();  // cached in the message for the write below
    total += CodedOutputStream::VarintSize32(tag) + CodedOutputStream::VarintSize32(static_cast<uint32_t>(size)) + size;
  }
  wire->reserve(total);
  {
    google::protobuf::io::StringOutputStream stream(wire);
    CodedOutputStream out(&stream);
    for (const ResourcePtr& r : to.resources) {
      out.WriteTag(tag);
      out.WriteVarint32(static_cast<uint32_t>(r->GetCachedSize()));
      r->SerializeWithCachedSizes(&out);
    }
  }  // the streams give back what they did not use
  auto response = std::make_shared<SharedResponse>();
  response->bytes = wire->size();
  response->full_state = true;
  grpc::Slice slice(wire->data(), wire->size(), [](void* owned) { delete static_cast<std::string*>(owned); }, wire);
  response->wire = grpc::ByteBuffer(&slice, 1);
  return response;
}

std::shared_ptr<const DiscoveryServer::SharedResponse> DiscoveryServer::Serialize(const DiscoveryResponse& message) {
  auto response = std::make_shared<SharedResponse>();
  bool own_buffer = false;
  // The serialisation a typed stream's write would do, once; it cannot fail for a built message.
  grpc::Status status = grpc::SerializationTraits<DiscoveryResponse>::Serialize(message, &response->wire, &own_buffer);
  if (!status.ok()) log::Error("discovery response serialisation failed").Kv("version", message.version_info()).Kv("error", status.error_message());
  response->bytes = response->wire.Length();
  response->full_state = message.full_state();
  return response;
}

void DiscoveryServer::OnSnapshot(std::shared_ptr<const BuiltSnapshot> snapshot) {
  {
    // Responses towards older snapshots will not be sent again; nodes still writing one hold
    // their own reference.
    absl::MutexLock lock(&cache_mu_);
    for (auto it = cache_.begin(); it != cache_.end();) {
      it = it->first.second == snapshot->version ? std::next(it) : cache_.erase(it);
    }
  }
  {
    absl::MutexLock lock(&current_mu_);
    current_ = std::move(snapshot);
  }
  absl::MutexLock lock(&streams_mu_);
  for (NodeStream* stream : streams_) stream->Notify();
}

void DiscoveryServer::CloseAllStreams() {
  absl::MutexLock lock(&streams_mu_);
  for (NodeStream* stream : streams_) stream->Close();
}

void DiscoveryServer::Register(NodeStream* stream) {
  absl::MutexLock lock(&streams_mu_);
  streams_.insert(stream);
}

void DiscoveryServer::Unregister(NodeStream* stream) {
  absl::MutexLock lock(&streams_mu_);
  streams_.erase(stream);
}

void DiscoveryServer::UpdateStatus(const std::string& node_id,
                                   const std::function<void(admin::v1::NodeStatus*)>& f) {
  absl::MutexLock lock(&status_mu_);
  f(&status_[node_id]);
  // Pruning walks every node: at most once a second here, not once per push and ACK.
  const absl::Time now = absl::Now();
  if (now - last_prune_ >= absl::Seconds(1)) {
    last_prune_ = now;
    PruneLocked();
  }
}

void DiscoveryServer::PruneLocked() {
  const int64_t cutoff = absl::ToUnixMillis(absl::Now() - node_expiry_);
  for (auto it = status_.begin(); it != status_.end();) {
    const admin::v1::NodeStatus& s = it->second;
    it = !s.connected() && s.disconnected_unix_ms() != 0 && s.disconnected_unix_ms() <= cutoff
             ? status_.erase(it)
             : std::next(it);
  }
}

std::vector<admin::v1::NodeStatus> DiscoveryServer::Nodes() {
  absl::MutexLock lock(&status_mu_);
  PruneLocked();
  std::vector<admin::v1::NodeStatus> out;
  for (const auto& [id, status] : status_) out.push_back(status);
  return out;
}

size_t DiscoveryServer::connected_nodes() {
  absl::MutexLock lock(&streams_mu_);
  return streams_.size();
}

}  // namespace edgerouter::controlplane
