// Control-plane benchmark: start R control-plane replicas on one event log, load N apps
// through the event stream, connect M light data-plane node clients (one gRPC connection
// each, spread over the replicas, callback API: no thread per node), then change one app at a
// time on replica 0 and measure how long until every node on every replica has received the
// change (and ACKed it). Prints a Markdown report.
//
//   controlplane_bench --controlplane_binary=PATH [--apps=10000 --nodes=100 --changes=60]
//                      [--replicas=3 --controlplane_flags="--event_log=etcd --etcd_endpoints=…"]
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bench/bench_util.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "grpcpp/grpcpp.h"
#include "proto/admin.grpc.pb.h"
#include "proto/discovery.grpc.pb.h"

ABSL_FLAG(std::string, controlplane_binary, "", "path to the controlplane binary");
ABSL_FLAG(int, apps, 10000, "apps to load");
ABSL_FLAG(int, nodes, 100, "node clients");
ABSL_FLAG(int, changes, 60, "single-app changes to measure");
ABSL_FLAG(int, replicas, 1, "control-plane replicas (more than one needs a shared --event_log)");
ABSL_FLAG(int, connect_wave, 0,
          "connect nodes in waves of this many, each waiting for its full state (0: all at once; at "
          "100k apps, 100 clients of this one process connecting at once did not all get it in 5 min)");
ABSL_FLAG(std::string, controlplane_flags, "", "extra flags for every replica, space separated");
ABSL_FLAG(int, certs, 0,
          "certificates put on the certbus stream after the apps, one per app hostname (app-<i>.example.com; "
          "known by their event fields: the PEM is a placeholder)");

namespace edgerouter::bench {
namespace {

std::string AppLine(int i, int generation) {
  return absl::StrFormat(
      "2026-03-05T10:00:00.000Z AppUpdated    {\"Application\":{\"id\":\"app-%d\",\"frontends\":[{\"kind\":"
      "\"hostname\",\"hostname\":\"app-%d.example.com\",\"path_prefix\":\"/\"}],\"backend\":{\"kind\":"
      "\"reverse_proxy\",\"reverse_proxy_opts\":{\"origins\":[\"http://127.0.0.1:%d\",\"http://127.0.0.1:%d\"],"
      "\"pass_host_header\":true,\"headers_to_origin\":{\"X-Gen\":\"%d\"}}}}}",
      i, i, 20000 + i % 1000, 21000 + i % 1000, generation);
}

std::string CertLine(int i) {
  return absl::StrFormat(
      "2026-03-05T10:00:00.000Z CertificateObtained    {\"Id\":\"cert-%d\",\"Reason\":\"new\",\"Domains\":"
      "[\"app-%d.example.com\"],\"Expires\":\"2999-01-01T00:00:00Z\",\"CertPemBundle\":\"-----BEGIN "
      "CERTIFICATE-----\\nplaceholder\\n-----END CERTIFICATE-----\\n\",\"PrivateKeyDekFingerprint\":\"SHA256:x\","
      "\"PrivateKeyCiphertext\":\"AAE=\"}",
      i, i);
}

// Receipt times of each snapshot version across all nodes.
struct Tracker {
  absl::Mutex mu;
  std::map<std::string, std::vector<absl::Time>> received;
};

// One node: first request, then an ACK for every response. A reactor, so a thousand nodes cost
// a thousand connections, not a thousand threads.
class Node : public grpc::ClientBidiReactor<discovery::v1::DiscoveryRequest, discovery::v1::DiscoveryResponse> {
 public:
  Node(const std::shared_ptr<grpc::Channel>& channel, int index, Tracker* tracker)
      : stub_(discovery::v1::Discovery::NewStub(channel)), tracker_(tracker) {
    stub_->async()->StreamSnapshots(&ctx_, this);
    out_.set_node_id(absl::StrCat("bench-node-", index));
    writing_ = true;
    StartWrite(&out_);
    StartRead(&in_);
    StartCall();
  }
  void Cancel() { ctx_.TryCancel(); }
  void AwaitDone() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    {
      absl::MutexLock lock(&tracker_->mu);
      tracker_->received[in_.version_info()].push_back(absl::Now());
    }
    discovery::v1::DiscoveryRequest ack;
    ack.set_version_info(in_.version_info());
    ack.set_response_nonce(in_.nonce());
    in_ = discovery::v1::DiscoveryResponse();  // a light node: a full state is not kept (10k apps ≈ 4 MB)
    {
      absl::MutexLock lock(&mu_);
      if (writing_) {
        pending_ = std::move(ack);
        has_pending_ = true;
      } else {
        out_ = std::move(ack);
        writing_ = true;
        StartWrite(&out_);
      }
    }
    StartRead(&in_);
  }
  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (ok && has_pending_) {
      out_ = std::move(pending_);
      has_pending_ = false;
      writing_ = true;
      StartWrite(&out_);
    }
  }
  void OnDone(const grpc::Status&) override {
    absl::MutexLock lock(&mu_);
    done_ = true;
  }

 private:
  std::unique_ptr<discovery::v1::Discovery::Stub> stub_;
  Tracker* const tracker_;
  grpc::ClientContext ctx_;
  discovery::v1::DiscoveryResponse in_;
  absl::Mutex mu_;
  discovery::v1::DiscoveryRequest out_ ABSL_GUARDED_BY(mu_);
  discovery::v1::DiscoveryRequest pending_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool has_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

int Run() {
  const int apps = absl::GetFlag(FLAGS_apps);
  const int nodes = absl::GetFlag(FLAGS_nodes);
  const int changes = absl::GetFlag(FLAGS_changes);
  const int replica_count = std::max(1, absl::GetFlag(FLAGS_replicas));
  const std::string extra = absl::GetFlag(FLAGS_controlplane_flags);
  if (replica_count > 1 && !absl::StrContains(extra, "--event_log=")) {
    std::fprintf(stderr, "--replicas>1 needs a shared log: --controlplane_flags=\"--event_log=…\"\n");
    return 2;
  }
  char tmpl[] = "/tmp/er-cp-bench-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::vector<std::unique_ptr<Subprocess>> replicas;
  std::vector<std::string> addrs;
  for (int r = 0; r < replica_count; ++r) {
    std::vector<std::string> argv = {absl::GetFlag(FLAGS_controlplane_binary), "--grpc_listen=127.0.0.1:0",
                                     "--http_listen=127.0.0.1:0", absl::StrCat("--data_dir=", dir, "/data", r)};
    for (absl::string_view f : absl::StrSplit(extra, ' ', absl::SkipEmpty())) argv.emplace_back(f);
    auto started = Subprocess::Start(argv, absl::StrCat(dir, "/controlplane", r, ".log"));
    if (!started.ok()) return 1;
    auto ready = (*started)->WaitForLine("control plane ready", absl::Seconds(30));
    if (!ready.ok()) {
      std::fprintf(stderr, "%s\n", std::string(ready.status().message()).c_str());
      return 1;
    }
    addrs.push_back(LogField(*ready, "grpc"));
    replicas.push_back(*std::move(started));
  }
  std::unique_ptr<Subprocess>& cp = replicas[0];
  const std::string addr = addrs[0];
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  auto channel = grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), args);
  auto admin = admin::v1::Admin::NewStub(channel);
  const long rss_empty = RssKb(cp->pid());

  // Load: batches of 100 AppUpdated events per append.
  absl::Time start = absl::Now();
  for (int i = 0; i < apps; i += 100) {
    grpc::ClientContext ctx;
    admin::v1::AppendStreamRequest req;
    req.set_stream("/t-1/loadbalancer");
    for (int j = i; j < std::min(apps, i + 100); ++j) req.add_lines(AppLine(j, 0));
    admin::v1::AppendStreamResponse resp;
    grpc::Status s = admin->AppendStream(&ctx, req, &resp);
    if (!s.ok()) {
      std::fprintf(stderr, "append: %s\n", s.error_message().c_str());
      return 1;
    }
  }
  const int certs = absl::GetFlag(FLAGS_certs);
  for (int i = 0; i < certs; i += 100) {
    grpc::ClientContext ctx;
    admin::v1::AppendStreamRequest req;
    req.set_stream("/t-1/certbus");
    for (int j = i; j < std::min(certs, i + 100); ++j) req.add_lines(CertLine(j));
    admin::v1::AppendStreamResponse resp;
    if (grpc::Status s = admin->AppendStream(&ctx, req, &resp); !s.ok()) {
      std::fprintf(stderr, "certbus append: %s\n", s.error_message().c_str());
      return 1;
    }
  }
  const double load_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  // A full rebuild of all apps, as after a restart: time it through the build log line.
  const long rss_loaded = RssKb(cp->pid());

  // Nodes: each on its own connection (as separate data planes would be), round robin over
  // the replicas.
  Tracker tracker;
  std::vector<std::unique_ptr<Node>> node_clients;
  grpc::ChannelArguments node_args = args;
  node_args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // ListNodes names the current version without copying the whole snapshot.
  grpc::ClientContext snap_ctx;
  admin::v1::ListNodesResponse snap;
  if (grpc::Status s = admin->ListNodes(&snap_ctx, admin::v1::ListNodesRequest(), &snap); !s.ok()) {
    std::fprintf(stderr, "ListNodes: %s\n", s.error_message().c_str());
    return 1;
  }
  auto received = [&](const std::string& version) {
    absl::MutexLock lock(&tracker.mu);
    return tracker.received[version].size();
  };
  auto all_received = [&](const std::string& version) { return received(version) >= static_cast<size_t>(nodes); };
  const absl::Time full_deadline = absl::Now() + absl::Minutes(5);
  auto await_full_state = [&](size_t count) {
    while (received(snap.current_version()) < count) {
      if (absl::Now() > full_deadline) {
        absl::MutexLock lock(&tracker.mu);
        std::fprintf(stderr, "full state %s not received by %zu nodes within 5 min:", snap.current_version().c_str(), count);
        for (const auto& [version, times] : tracker.received) std::fprintf(stderr, " %s×%zu", version.c_str(), times.size());
        std::fprintf(stderr, "\n");
        return false;
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  };
  const int wave = absl::GetFlag(FLAGS_connect_wave);
  start = absl::Now();
  for (int n = 0; n < nodes; ++n) {
    auto node_channel = grpc::CreateCustomChannel(addrs[n % addrs.size()], grpc::InsecureChannelCredentials(),
                                                  node_args);
    node_clients.push_back(std::make_unique<Node>(node_channel, n, &tracker));
    if (wave > 0 && (n + 1) % wave == 0 && !await_full_state(n + 1)) return 1;
  }
  if (!await_full_state(nodes)) return 1;
  const double full_state_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const long rss_nodes = RssKb(cp->pid());

  std::vector<double> latencies_ms, append_ms, first_ms;
  const double cpu_start = CpuSeconds(cp->pid());
  for (int c = 0; c < changes; ++c) {
    // Changes spaced beyond the coalescing quiet window, as operator changes are; back-to-back
    // changes are coalesced by design (see docs/benchmarks.md).
    absl::SleepFor(absl::Milliseconds(50));
    const absl::Time t0 = absl::Now();
    grpc::ClientContext ctx;
    admin::v1::AppendStreamRequest req;
    req.set_stream("/t-1/loadbalancer");
    req.add_lines(AppLine((c * 7919) % apps, c + 1));
    admin::v1::AppendStreamResponse resp;
    if (!admin->AppendStream(&ctx, req, &resp).ok()) return 1;
    append_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    // ListNodes names the current version without copying the 10k-resource snapshot.
    grpc::ClientContext sctx;
    admin::v1::ListNodesResponse s;
    admin->ListNodes(&sctx, admin::v1::ListNodesRequest(), &s);
    const std::string version = s.current_version();
    while (!all_received(version)) absl::SleepFor(absl::Microseconds(200));
    absl::MutexLock lock(&tracker.mu);
    const auto& times = tracker.received[version];
    latencies_ms.push_back(absl::ToDoubleMilliseconds(*std::max_element(times.begin(), times.end()) - t0));
    first_ms.push_back(absl::ToDoubleMilliseconds(*std::min_element(times.begin(), times.end()) - t0));
  }
  // Includes the 50 ms pauses (idle) and the admin calls: a per-change cost of replica 0.
  const double cpu_per_change_ms = (CpuSeconds(cp->pid()) - cpu_start) * 1000 / changes;
  const long rss_end = RssKb(cp->pid());

  std::string build_line;
  for (const auto& line : absl::StrSplit(cp->Output(), '\n')) {
    if (absl::StrContains(line, absl::StrCat("resources=", apps, " "))) build_line = std::string(line);
  }
  const size_t log_flag = extra.find("--event_log=");
  const std::string log_kind =
      log_flag == std::string::npos ? "file" : extra.substr(log_flag + 12, extra.find(' ', log_flag) - log_flag - 12);
  std::printf("| metric (%d replica%s, %s log) | value |\n|---|---|\n", replica_count, replica_count > 1 ? "s" : "",
              log_kind.c_str());
  std::printf("| apps (and %d certificates) loaded through the streams (100 per append) | %d in %.2f s |\n", certs, apps,
              load_seconds);
  std::printf("| snapshot build at %d apps (the last one: a one-app change) | %s s |\n", apps, LogField(build_line, "seconds").c_str());
  std::printf("| full state to %d nodes (connect → all received) | %.3f s |\n", nodes, full_state_seconds);
  std::printf("| one-app change → all %d nodes received (n=%d) | p50 %.1f ms, p99 %.1f ms, max %.1f ms |\n",
              nodes, changes, Percentile(latencies_ms, 0.5), Percentile(latencies_ms, 0.99),
              *std::max_element(latencies_ms.begin(), latencies_ms.end()));
  std::printf("| of which: append durable + snapshot built (AppendStream returns) | p50 %.1f ms, p99 %.1f ms |\n",
              Percentile(append_ms, 0.5), Percentile(append_ms, 0.99));
  std::printf("| of which: first node received | p50 %.1f ms, p99 %.1f ms |\n", Percentile(first_ms, 0.5),
              Percentile(first_ms, 0.99));
  std::printf("| control-plane CPU (user+system, replica 0) per change | %.1f ms |\n", cpu_per_change_ms);
  std::printf("| control-plane RSS: empty / %d apps / + %d nodes / end | %.1f / %.1f / %.1f / %.1f MB |\n", apps,
              nodes, rss_empty / 1024.0, rss_loaded / 1024.0, rss_nodes / 1024.0, rss_end / 1024.0);

  for (auto& node : node_clients) node->Cancel();
  for (auto& node : node_clients) node->AwaitDone();
  for (auto& replica : replicas) replica->Signal(SIGTERM);
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace edgerouter::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return edgerouter::bench::Run();
}
