#include "dataplane/xds/xds_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/net/host_port.h"

namespace edgerouter::xds {
namespace {

using discovery::DiscoveryRequest;
using discovery::DiscoveryResponse;

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("write", path);
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadAll(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no persisted snapshot at ", path));
    return ErrnoError("open", path);
  }
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status error = ErrnoError("read", path);
      close(fd);
      return error;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

// Damaged protobuf bytes can still parse, so a loaded snapshot must also look like one we wrote;
// the same check guards what a response assembles into.
absl::Status Validate(const snapshot::Snapshot& s) {
  if (s.version().empty()) return absl::InvalidArgumentError("snapshot has no version");
  for (int i = 0; i < s.resources_size(); ++i) {
    const std::string& name = s.resources(i).name();
    if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("resource ", i, " has no name"));
    if (i > 0 && s.resources(i - 1).name() >= name) {
      return absl::InvalidArgumentError(absl::StrCat("resources not sorted by name at ", name));
    }
  }
  return absl::OkStatus();
}

// An apply error with no text would make an indistinguishable NACK.
absl::Status WithText(const absl::Status& s) {
  if (s.ok() || !s.message().empty()) return s;
  return absl::Status(s.code(), s.ToString());
}

}  // namespace

XdsClient::XdsClient(XdsClientOptions options, ApplyFn apply)
    : options_(std::move(options)), apply_(std::move(apply)) {}

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
  absl::StatusOr<std::string> bytes = ReadAll(path);
  if (!bytes.ok()) return bytes.status();
  snapshot::Snapshot snap;
  if (!snap.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat(path, ": not a valid snapshot (", bytes->size(), " bytes)"));
  }
  if (absl::Status valid = Validate(snap); !valid.ok()) {
    return absl::DataLossError(absl::StrCat(path, ": ", valid.message()));
  }
  if (absl::Status applied = WithText(apply_(snap)); !applied.ok()) {
    return absl::Status(applied.code(), absl::StrCat(path, ": rejected: ", applied.message()));
  }
  resources_.clear();
  for (snapshot::Resource& r : *snap.mutable_resources()) {
    std::string name = r.name();
    resources_.emplace(std::move(name), std::move(r));
  }
  applied_version_ = snap.version();
  std::fprintf(stderr, "level=INFO msg=\"persisted snapshot applied\" path=%s version=%s resources=%zu\n",
               path.c_str(), applied_version_.c_str(), resources_.size());
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
    std::fprintf(stderr, "level=ERROR msg=\"bad --controlplane\" error=\"%s\"\n",
                 absl::CEscape(replicas.status().message()).c_str());
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
      std::fprintf(stderr, "level=WARN msg=\"control plane name not resolved\" controlplane=%s error=\"%s\"\n",
                   replica.ToString().c_str(), gai_strerror(rc));
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
    std::fprintf(stderr,
                 "level=WARN msg=\"discovery stream ended\" controlplane=%s code=%d error=\"%s\" "
                 "retry_ms=%lld\n",
                 dialled.c_str(), static_cast<int>(ended.error_code()),
                 absl::CEscape(ended.error_message()).c_str(),
                 static_cast<long long>(absl::ToInt64Milliseconds(wait)));
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
  std::unique_ptr<discovery::Discovery::Stub> stub = discovery::Discovery::NewStub(
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
  for (const auto& [name, resource] : resources_) known[name] = resource.version();

  bool broken = !stream->Write(first);
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
      std::fprintf(stderr,
                   "level=INFO msg=\"discovery stream open\" controlplane=%s replica=%s node=%s version=%s "
                   "resources=%zu\n",
                   target.address.c_str(), replica_id.c_str(), options_.node_id.c_str(), applied_version_.c_str(),
                   resources_.size());
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
      if (!stream->Write(answer)) {
        broken = true;
        break;
      }
    }
  }
  // Finish would wait for the server to end a call we can no longer write to.
  if (broken) context.TryCancel();
  grpc::Status status = stream->Finish();
  absl::MutexLock lock(&mu_);
  active_context_ = nullptr;
  status_.connected = false;
  return status;
}

absl::Status XdsClient::Handle(const DiscoveryResponse& response) {
  // The next state as pointers, so resources_ stays as it was if the snapshot is rejected.
  std::map<std::string, const snapshot::Resource*> next;
  if (!response.full_state()) {
    for (const auto& [name, resource] : resources_) next.emplace(name, &resource);
  }
  for (const snapshot::Resource& r : response.resources()) next[r.name()] = &r;
  for (const std::string& name : response.removed_resources()) next.erase(name);

  snapshot::Snapshot snap;
  snap.set_version(response.version_info());
  snap.mutable_resources()->Reserve(static_cast<int>(next.size()));
  for (const auto& [name, resource] : next) *snap.add_resources() = *resource;
  next.clear();

  absl::Status result = Validate(snap);
  if (result.ok()) result = WithText(apply_(snap));
  if (!result.ok()) {
    std::fprintf(stderr,
                 "level=WARN msg=\"snapshot rejected\" version=%s applied=%s full_state=%d "
                 "error=\"%s\"\n",
                 response.version_info().c_str(), applied_version_.c_str(), response.full_state(),
                 absl::CEscape(result.message()).c_str());
    absl::MutexLock lock(&mu_);
    status_.responses++;
    status_.last_full_state = response.full_state();
    status_.full_states += response.full_state();
    status_.nacks++;
    status_.last_nack = std::string(result.message());
    return result;
  }

  // The config is live whatever happens to the file: a failed write costs only a cold restart.
  if (absl::Status persisted = Persist(snap); !persisted.ok()) {
    std::fprintf(stderr, "level=WARN msg=\"snapshot not persisted\" version=%s error=\"%s\"\n",
                 snap.version().c_str(), absl::CEscape(persisted.message()).c_str());
  }
  resources_.clear();
  for (snapshot::Resource& r : *snap.mutable_resources()) {
    std::string name = r.name();
    resources_.emplace(std::move(name), std::move(r));
  }
  applied_version_ = snap.version();
  std::fprintf(stderr,
               "level=INFO msg=\"snapshot applied\" version=%s full_state=%d resources=%zu "
               "changed=%d removed=%d\n",
               applied_version_.c_str(), response.full_state(), resources_.size(),
               response.resources_size(), response.removed_resources_size());
  absl::MutexLock lock(&mu_);
  status_.responses++;
  status_.last_full_state = response.full_state();
  status_.full_states += response.full_state();
  status_.applied_version = applied_version_;
  status_.last_apply = absl::Now();
  status_.applies++;
  return absl::OkStatus();
}

absl::Status XdsClient::Persist(const snapshot::Snapshot& snap) {
  if (options_.state_dir.empty()) return absl::OkStatus();
  std::error_code ec;
  std::filesystem::create_directories(options_.state_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("create ", options_.state_dir, ": ", ec.message()));
  std::string bytes;
  if (!snap.SerializeToString(&bytes)) return absl::InternalError("cannot serialize snapshot");

  // Write aside, make it durable, then rename: a crash leaves the old file or the new one.
  const std::string path = persisted_path();
  const std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("open", tmp);
  absl::Status written = WriteAll(fd, bytes, tmp);
  if (written.ok() && fsync(fd) != 0) written = ErrnoError("fsync", tmp);
  if (close(fd) != 0 && written.ok()) written = ErrnoError("close", tmp);
  if (!written.ok()) return written;
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("rename ", tmp, " to ", path, ": ", std::strerror(errno)));
  }

  // The rename itself lives in the directory entry.
  int dir = open(options_.state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return ErrnoError("open", options_.state_dir);
  absl::Status synced = fsync(dir) == 0 ? absl::OkStatus() : ErrnoError("fsync", options_.state_dir);
  close(dir);
  return synced;
}

}  // namespace edgerouter::xds
