#include "dataplane/xds/xds_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/net/host_port.h"

namespace edgerouter::xds {
namespace {

using discovery::v1::DiscoveryRequest;
using discovery::v1::DiscoveryResponse;

// An apply error with no text would make an indistinguishable NACK.
absl::Status WithText(const absl::Status& s) {
  if (s.ok() || !s.message().empty()) return s;
  return absl::Status(s.code(), s.ToString());
}

}  // namespace

XdsClient::XdsClient(XdsClientOptions options, ApplyFn apply)
    : options_(std::move(options)), apply_(std::move(apply)) {
  if (!options_.state_dir.empty()) {
    store_ = std::make_unique<SnapshotStore>(options_.state_dir, options_.journal_min_compact_bytes);
    // The store is Load()ed on the caller's thread before Start, then written only by this.
    writer_ = std::make_unique<SnapshotWriter>(
        [store = store_.get()](const DiscoveryResponse& response, const std::string& version,
                               const ResourceMap& resources) { return store->Record(response, version, resources); });
  }
}

XdsClient::~XdsClient() { Stop(); }

std::string XdsClient::persisted_path() const {
  return options_.state_dir.empty() ? "" : options_.state_dir + "/snapshot.pb";
}

absl::Status XdsClient::LoadPersisted() {
  if (options_.state_dir.empty()) return absl::NotFoundError("no state_dir: nothing persisted");
  if (thread_.joinable()) {
    return absl::FailedPreconditionError("LoadPersisted must be called before Start");
  }
  const std::string path = persisted_path();
  SnapshotView view;
  ResourceMap loaded;
  if (absl::Status s = store_->Load(&view.version, &loaded); !s.ok()) return s;
  view.resources = &loaded;
  view.full_state = true;
  if (absl::Status applied = WithText(apply_(view)); !applied.ok()) {
    return absl::Status(applied.code(), absl::StrCat(path, ": rejected: ", applied.message()));
  }
  resources_ = std::move(loaded);
  applied_version_ = view.version;
  log::Info("persisted snapshot applied").Kv("path", path).Kv("version", applied_version_).Kv("resources", resources_.size());
  absl::MutexLock lock(&mu_);
  status_.applied_version = applied_version_;
  status_.last_apply = absl::Now();
  status_.applies++;
  return absl::OkStatus();
}

void XdsClient::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void XdsClient::Stop() {
  {
    // Under mu_ so the thread cannot miss it between checking stopping_ and waiting/reading.
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (active_context_ != nullptr) active_context_->TryCancel();
    stop_cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  if (writer_ != nullptr) writer_->Flush();  // what was ACKed is on disk when Stop returns
}

XdsStatus XdsClient::status() {
  absl::MutexLock lock(&mu_);
  return status_;
}

bool XdsClient::AwaitStatus(const std::function<bool(const XdsStatus&)>& pred,
                            absl::Duration timeout) {
  auto holds = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return pred(status_); };
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&holds), timeout);
}

std::vector<XdsClient::Target> XdsClient::ResolveTargets() {
  std::vector<Target> targets;
  absl::StatusOr<std::vector<net::HostPort>> replicas = net::SplitHostPortList(options_.controlplane);
  if (!replicas.ok()) {
    log::Error("bad --controlplane").Kv("error", replicas.status().message());
    return targets;
  }
  for (const net::HostPort& replica : *replicas) {
    if (net::IsIpLiteral(replica.host)) {
      targets.push_back({replica.ToString(), ""});
      continue;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = getaddrinfo(replica.host.c_str(), nullptr, &hints, &found);
    if (rc != 0) {
      log::Warn("control plane name not resolved").Kv("controlplane", replica.ToString()).Kv("error", gai_strerror(rc));
      continue;
    }
    std::vector<std::string> seen;
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
      char ip[INET6_ADDRSTRLEN] = {};
      const void* raw = a->ai_family == AF_INET6
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr)
                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr);
      if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
          inet_ntop(a->ai_family, raw, ip, sizeof(ip)) == nullptr) {
        continue;
      }
      const std::string address = net::HostPort{ip, replica.port}.ToString();
      if (std::find(seen.begin(), seen.end(), address) != seen.end()) continue;
      seen.push_back(address);
      targets.push_back({absl::StrCat(a->ai_family == AF_INET6 ? "ipv6:" : "ipv4:", address), replica.host});
    }
    freeaddrinfo(found);
  }
  return targets;
}

void XdsClient::Run() {
  absl::BitGen gen;
  absl::Duration backoff = options_.initial_backoff;
  // Nodes start on different replicas (by node id), so a fleet spreads over them.
  size_t next = std::hash<std::string>()(options_.node_id);
  size_t failed_in_a_row = 0;
  std::string previous;
  while (!stopping_) {
    const std::vector<Target> targets = ResolveTargets();
    grpc::Status ended(grpc::StatusCode::UNAVAILABLE, "no control-plane address resolved");
    bool served = false;
    std::string dialled;
    if (!targets.empty()) {
      const Target& target = targets[next % targets.size()];
      dialled = target.address;
      if (!previous.empty() && previous != dialled) {
        absl::MutexLock lock(&mu_);
        status_.failovers++;
      }
      previous = dialled;
      ended = RunStream(target, &served);
      next = next % targets.size() + 1;  // whatever ended the stream, the next try is elsewhere
    }
    // A stream that worked says the replicas are healthy: try the next one at once. Only a
    // whole round of replicas that gave nothing waits, with a growing backoff.
    absl::Duration wait = absl::ZeroDuration();
    if (served) {
      backoff = options_.initial_backoff;
      failed_in_a_row = 0;
    } else if (++failed_in_a_row >= std::max<size_t>(targets.size(), 1)) {
      failed_in_a_row = 0;
      wait = backoff * absl::Uniform(gen, 0.8, 1.2);
      backoff = std::min(backoff * 2, options_.max_backoff);
    }

    absl::MutexLock lock(&mu_);
    if (stopping_) break;
    status_.reconnects++;
    log::Warn("discovery stream ended")
        .Kv("controlplane", dialled)
        .Kv("code", static_cast<int>(ended.error_code()))
        .Kv("error", ended.error_message())
        .Kv("retry_ms", absl::ToInt64Milliseconds(wait));
    const absl::Time deadline = absl::Now() + wait;
    while (!stopping_ && wait > absl::ZeroDuration()) {
      if (stop_cv_.WaitWithDeadline(&mu_, deadline)) break;  // timed out
    }
  }
}

grpc::Status XdsClient::RunStream(const Target& target, bool* served) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // The default stops pinging after 2 pings without data: an idle stream would go unwatched.
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // A fresh channel with its own subchannel per stream, so our backoff decides when to redial,
  // not gRPC's shared reconnect backoff (which grows to 2 minutes).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(256 << 20);  // a full state with many certificates is large
  // The connection attempt's deadline is max(this, backoff): a dead replica is left quickly.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  if (!target.tls_name.empty()) args.SetSslTargetNameOverride(target.tls_name);
  std::unique_ptr<discovery::v1::Discovery::Stub> stub = discovery::v1::Discovery::NewStub(
      grpc::CreateCustomChannel(target.address,
                                options_.credentials != nullptr ? options_.credentials
                                                                : grpc::InsecureChannelCredentials(),
                                args));

  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return grpc::Status(grpc::StatusCode::CANCELLED, "stopping");
    active_context_ = &context;
  }
  auto stream = stub->StreamSnapshots(&context);

  DiscoveryRequest first;
  first.set_node_id(options_.node_id);
  first.set_version_info(applied_version_);
  auto& known = *first.mutable_initial_resource_versions();
  resources_.ForEach([&](const std::string& name, const std::shared_ptr<const snapshot::v1::Resource>& r) {
    known[name] = r->version();
  });

  // gRPC allows one writer at a time: the ACKs from this thread, the reports from another.
  absl::Mutex write_mu;
  auto write = [&](const DiscoveryRequest& request) {
    absl::MutexLock lock(&write_mu);
    return stream->Write(request);
  };
  absl::Mutex report_mu;
  bool report_done = false;
  std::thread reporter;
  bool broken = !write(first);
  if (!broken && options_.report && options_.report_interval > absl::ZeroDuration()) {
    reporter = std::thread([&] { ReportLoop(write, &report_mu, &report_done); });
  }
  if (!broken) {
    // Control planes announce themselves at once: that tells a live replica from a dead one
    // even when no snapshot is due (the node already holds the current version).
    stream->WaitForInitialMetadata();
    const auto& metadata = context.GetServerInitialMetadata();
    const auto replica = metadata.find("x-edgerouter-replica");
    const std::string replica_id =
        replica != metadata.end() ? std::string(replica->second.data(), replica->second.size()) : "";
    auto opened = [&] {
      *served = true;
      {
        absl::MutexLock lock(&mu_);
        status_.connected = true;
        status_.controlplane = target.address;
        status_.replica_id = replica_id;
      }
      log::Info("discovery stream open")
          .Kv("controlplane", target.address)
          .Kv("replica", replica_id)
          .Kv("node", options_.node_id)
          .Kv("version", applied_version_)
          .Kv("resources", resources_.size());
    };
    if (!replica_id.empty()) opened();
    DiscoveryResponse response;
    while (stream->Read(&response)) {
      if (!*served) opened();
      const absl::Status handled = Handle(response);
      DiscoveryRequest answer;
      // ACK: the new version; NACK: the version still serving.
      answer.set_version_info(applied_version_);
      answer.set_response_nonce(response.nonce());
      if (!handled.ok()) {
        answer.mutable_error_detail()->set_code(static_cast<int>(handled.code()));
        answer.mutable_error_detail()->set_message(std::string(handled.message()));
      }
      if (!write(answer)) {
        broken = true;
        break;
      }
    }
  }
  // Finish would wait for the server to end a call we can no longer write to.
  if (broken) context.TryCancel();
  if (reporter.joinable()) {
    {
      absl::MutexLock lock(&report_mu);
      report_done = true;
    }
    reporter.join();
  }
  grpc::Status status = stream->Finish();
  absl::MutexLock lock(&mu_);
  active_context_ = nullptr;
  status_.connected = false;
  return status;
}

void XdsClient::ReportLoop(const std::function<bool(const DiscoveryRequest&)>& write,
                           absl::Mutex* done_mu, const bool* done) {
  do {
    DiscoveryRequest request;
    *request.mutable_report() = options_.report();
    if (!write(request)) return;  // the stream is ending: its reader sees why
    absl::MutexLock lock(&mu_);
    status_.reports++;
  } while (![&] {
    absl::MutexLock lock(done_mu);
    return done_mu->AwaitWithTimeout(absl::Condition(done), options_.report_interval);
  }());
}

absl::Status XdsClient::Handle(const DiscoveryResponse& response) {
  // The next state shares all untouched shards of resources_, which stays as it was if the
  // response is rejected.
  const absl::Time received = absl::Now();
  ResourceMap next = response.full_state() ? ResourceMap() : resources_;
  SnapshotView view;
  view.version = response.version_info();
  view.full_state = response.full_state() || applied_version_.empty();
  absl::Status result;
  if (view.version.empty()) result = absl::InvalidArgumentError("snapshot has no version");
  for (int i = 0; i < response.resources_size() && result.ok(); ++i) {
    const snapshot::v1::Resource& r = response.resources(i);
    if (r.name().empty()) {
      result = absl::InvalidArgumentError(absl::StrCat("resource ", i, " has no name"));
      break;
    }
    next.Set(r.name(), std::make_shared<const snapshot::v1::Resource>(r));
    if (!view.full_state) view.changed.push_back(r.name());
  }
  if (!response.full_state()) {
    for (const std::string& name : response.removed_resources()) {
      if (next.Erase(name) && !view.full_state) view.removed.push_back(name);
    }
  }
  for (std::vector<std::string>* names : {&view.changed, &view.removed}) {  // a name listed twice counts once
    std::sort(names->begin(), names->end());
    names->erase(std::unique(names->begin(), names->end()), names->end());
  }
  view.resources = &next;
  if (result.ok()) result = WithText(apply_(view));
  if (!result.ok()) {
    log::Warn("snapshot rejected")
        .Kv("version", response.version_info())
        .Kv("applied", applied_version_)
        .Kv("full_state", static_cast<int>(response.full_state()))
        .Kv("error", result.message());
    absl::MutexLock lock(&mu_);
    status_.responses++;
    status_.last_full_state = response.full_state();
    status_.full_states += response.full_state();
    status_.nacks++;
    status_.last_nack = std::string(result.message());
    return result;
  }

  resources_ = std::move(next);
  applied_version_ = view.version;
  // The config is live whatever happens to the file: a failed write costs only a cold restart.
  // Written on the writer's thread, so the ACK does not wait for the disk.
  if (writer_ != nullptr) writer_->Submit(response, applied_version_, resources_);
  log::Info("snapshot applied")
      .Kv("version", applied_version_)
      .Kv("full_state", static_cast<int>(response.full_state()))
      .Kv("resources", resources_.size())
      .Kv("changed", response.resources_size())
      .Kv("removed", response.removed_resources_size())
      .Ms("handle_ms", absl::Now() - received);
  absl::MutexLock lock(&mu_);
  status_.responses++;
  status_.last_full_state = response.full_state();
  status_.full_states += response.full_state();
  status_.applied_version = applied_version_;
  status_.last_apply = absl::Now();
  status_.applies++;
  return absl::OkStatus();
}

}  // namespace edgerouter::xds
