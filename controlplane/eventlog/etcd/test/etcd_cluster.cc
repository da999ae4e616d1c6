#include "controlplane/eventlog/etcd/test/etcd_cluster.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/test_util.h"
#include "dataplane/test/tls_test_util.h"

namespace edgerouter::testing {

using controlplane::etcd::EtcdClient;
using controlplane::etcd::EtcdClientOptions;

absl::StatusOr<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(const std::string& dir, int members,
                                                                bool tls) {
  std::unique_ptr<EtcdCluster> cluster(new EtcdCluster());
  cluster->dir_ = dir;
  cluster->tls_ = tls;
  if (tls) {
    const std::string certs = dir + "/tls";
    std::filesystem::create_directories(certs);
    const std::string out = Shell(absl::StrCat(
        "cd ", certs, " && ", MakeCaScript("ca"),
        MakeLeafScript("server", "etcd", "ca", "subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth"),
        MakeLeafScript("client", "controlplane", "ca", "extendedKeyUsage=clientAuth"),
        "test -s server.crt && test -s client.crt"));
    if (!absl::EndsWith(out, "EXIT=0")) return absl::InternalError("making etcd test certificates: " + out);
    cluster->server_tls_ = {certs + "/server.crt", certs + "/server.key", certs + "/ca.pem"};
    cluster->client_tls_ = {certs + "/client.crt", certs + "/client.key", certs + "/ca.pem"};
  }
  cluster->token_ = absl::StrCat("er-test-", getpid(), "-", absl::ToUnixNanos(absl::Now()));
  std::vector<std::string> peers;
  for (int i = 0; i < members; ++i) {
    Member m;
    m.name = absl::StrCat("m", i + 1);
    m.client_port = PickFreeLoopbackPort();
    m.peer_port = PickFreeLoopbackPort();
    m.data_dir = absl::StrCat(dir, "/", m.name);
    peers.push_back(absl::StrCat(m.name, "=http://127.0.0.1:", m.peer_port));
    EtcdClientOptions options;
    options.endpoints = {absl::StrCat("127.0.0.1:", m.client_port)};
    options.tls = cluster->client_tls_;
    options.attempt_timeout = absl::Milliseconds(500);
    options.call_timeout = absl::Milliseconds(500);
    auto client = EtcdClient::Create(options);
    if (!client.ok()) return client.status();
    m.client = *std::move(client);
    cluster->members_.push_back(std::move(m));
  }
  cluster->initial_cluster_ = absl::StrJoin(peers, ",");
  EtcdClientOptions options;
  options.endpoints = cluster->endpoint_list();
  options.tls = cluster->client_tls_;
  options.attempt_timeout = absl::Milliseconds(500);
  options.call_timeout = absl::Seconds(1);
  auto client = EtcdClient::Create(options);
  if (!client.ok()) return client.status();
  cluster->cluster_client_ = *std::move(client);
  for (int i = 0; i < members; ++i) {
    if (absl::Status s = cluster->Launch(i, "new"); !s.ok()) return s;
  }
  const absl::Time start = absl::Now();
  for (Member& m : cluster->members_) {
    auto ready = m.process->WaitForLine("serving client traffic", absl::Seconds(20));
    if (!ready.ok()) return absl::Status(ready.status().code(), absl::StrCat(m.name, ": ", ready.status().message()));
  }
  if (absl::Status s = cluster->WaitHealthy(absl::Seconds(20)); !s.ok()) return s;
  std::fprintf(stderr, "etcd test cluster of %d healthy after %.0f ms: %s\n", members,
               absl::ToDoubleMilliseconds(absl::Now() - start), cluster->endpoints().c_str());
  return cluster;
}

EtcdCluster::~EtcdCluster() {
  for (Member& m : members_) m.process.reset();  // SIGKILL by PID (SIGTERM of all takes ~7 s)
}

absl::Status EtcdCluster::Launch(int index, const std::string& state) {
  Member& m = members_[index];
  const std::string client_url = absl::StrCat(tls_ ? "https" : "http", "://127.0.0.1:", m.client_port);
  const std::string peer_url = absl::StrCat("http://127.0.0.1:", m.peer_port);
  std::vector<std::string> argv = {
      "/usr/bin/etcd",
      "--name", m.name,
      "--data-dir", m.data_dir,
      "--listen-client-urls", client_url,
      "--advertise-client-urls", client_url,
      "--listen-peer-urls", peer_url,
      "--initial-advertise-peer-urls", peer_url,
      "--initial-cluster", initial_cluster_,
      "--initial-cluster-state", state,
      "--initial-cluster-token", token_,
      "--heartbeat-interval", "50",
      "--election-timeout", "250",
      "--logger", "zap",
      "--log-level", "info",  // for the "serving client traffic" line
  };
  if (tls_) {
    argv.insert(argv.end(), {"--cert-file", server_tls_.cert, "--key-file", server_tls_.key,
                             "--trusted-ca-file", server_tls_.ca, "--client-cert-auth"});
  }
  auto process = Subprocess::Start(argv, absl::StrCat(dir_, "/", m.name, ".log"));
  if (!process.ok()) return process.status();
  m.process = *std::move(process);
  return absl::OkStatus();
}

std::vector<std::string> EtcdCluster::endpoint_list() const {
  std::vector<std::string> out;
  for (const Member& m : members_) out.push_back(absl::StrCat("127.0.0.1:", m.client_port));
  return out;
}

std::string EtcdCluster::endpoints() const { return absl::StrJoin(endpoint_list(), ","); }

std::string EtcdCluster::Output(int index) {
  return members_[index].process ? members_[index].process->Output() : "(not running)";
}

void EtcdCluster::Kill(int index) {
  if (members_[index].process == nullptr) return;
  members_[index].process->Signal(SIGKILL);
  members_[index].process.reset();
}

absl::Status EtcdCluster::Restart(int index) {
  if (members_[index].process != nullptr) return absl::FailedPreconditionError("member still runs");
  return Launch(index, "existing");
}

absl::StatusOr<int> EtcdCluster::Leader(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last = "no member answered";
  while (true) {
    uint64_t leader = 0;
    bool agreed = true;
    int leader_index = -1;
    for (size_t i = 0; i < members_.size() && agreed; ++i) {
      if (members_[i].process == nullptr) continue;
      auto status = members_[i].client->Status(0);
      if (!status.ok()) {
        last = std::string(status.status().message());
        agreed = false;
        break;
      }
      if (status->leader() == 0 || (leader != 0 && status->leader() != leader)) {
        last = absl::StrCat(members_[i].name, " names leader ", status->leader());
        agreed = false;
        break;
      }
      leader = status->leader();
      if (status->header().member_id() == leader) leader_index = static_cast<int>(i);
    }
    if (agreed && leader_index >= 0) return leader_index;
    if (agreed && leader != 0) last = "the named leader is not a running member";
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("etcd cluster has no agreed leader: ", last));
    }
    absl::SleepFor(absl::Milliseconds(20));  // polling a condition, not a timing guess
  }
}

absl::Status EtcdCluster::WaitHealthy(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<int> leader = Leader(timeout);
  if (!leader.ok()) return leader.status();
  etcdserverpb::RangeRequest probe;
  probe.set_key("/health-probe");
  while (true) {
    auto read = cluster_client_->Range(probe, "etcd health probe");
    if (read.ok()) return absl::OkStatus();
    if (absl::Now() >= deadline) return read.status();
    absl::SleepFor(absl::Milliseconds(20));
  }
}

}  // namespace edgerouter::testing
