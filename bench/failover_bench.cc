// Control-plane failover benchmark: R replicas on equal inputs, one data-plane xDS client (the
// real XdsClient) connected to all of them. Repeatedly kill -9 the replica the client is on,
// time until its stream is open on another replica, then restart the killed one. Reports the
// distribution and whether any failover cost a full-state resend. Prints a Markdown report.
//
//   failover_bench --controlplane_binary=PATH [--replicas=3 --rounds=30]
//                  [--controlplane_flags="--event_log=etcd --etcd_endpoints=…"]
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench/bench_util.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "dataplane/xds/xds_client.h"

ABSL_FLAG(std::string, controlplane_binary, "", "path to the controlplane binary");
ABSL_FLAG(int, replicas, 3, "control-plane replicas");
ABSL_FLAG(int, rounds, 30, "failovers to measure");
ABSL_FLAG(std::string, controlplane_flags, "", "extra flags for every replica, space separated");

namespace edgerouter::bench {
namespace {

int Run() {
  char tmpl[] = "/tmp/er-failover-bench-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  // Equal inputs on every replica: the same applications.json (and, with a shared log, the
  // same streams), so they build the same snapshot versions.
  std::ofstream(dir + "/applications.json")
      << R"({"apps":[{"id":"a","frontends":[{"kind":"hostname","hostname":"a.example.com","path_prefix":"/"}],)"
         R"("backend":{"kind":"redirect","redirect_opts":{"to":"https://b/"}}}]})";
  const int n = std::max(2, absl::GetFlag(FLAGS_replicas));
  std::vector<std::unique_ptr<Subprocess>> replicas(n);
  std::vector<std::string> addrs(n);
  auto start = [&](int r) -> bool {
    std::vector<std::string> argv = {absl::GetFlag(FLAGS_controlplane_binary),
                                     "--grpc_listen=" + (addrs[r].empty() ? "127.0.0.1:0" : addrs[r]),
                                     "--http_listen=127.0.0.1:0", absl::StrCat("--data_dir=", dir, "/data", r),
                                     "--apps_file=" + dir + "/applications.json",
                                     absl::StrCat("--replica_id=cp-", r)};
    for (absl::string_view f : absl::StrSplit(absl::GetFlag(FLAGS_controlplane_flags), ' ', absl::SkipEmpty())) {
      argv.emplace_back(f);
    }
    auto p = Subprocess::Start(argv, absl::StrCat(dir, "/cp", r, ".log"));
    if (!p.ok()) return false;
    auto ready = (*p)->WaitForLine("control plane ready", absl::Seconds(30));
    if (!ready.ok()) return false;
    addrs[r] = LogField(*ready, "grpc");
    replicas[r] = *std::move(p);
    return true;
  };
  for (int r = 0; r < n; ++r) {
    if (!start(r)) return 1;
  }
  xds::XdsClientOptions options;
  options.controlplane = absl::StrJoin(addrs, ",");
  options.node_id = "failover-bench";
  options.initial_backoff = absl::Milliseconds(50);
  xds::XdsClient client(options, [](const xds::SnapshotView&) { return absl::OkStatus(); });
  client.Start();
  if (!client.AwaitStatus([](const xds::XdsStatus& s) { return s.connected && s.applies == 1; },
                          absl::Seconds(30))) {
    return 1;
  }

  std::vector<double> ms;
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    const std::string on = client.status().controlplane;
    const int r = static_cast<int>(std::find(addrs.begin(), addrs.end(), on) - addrs.begin());
    if (r == n) return 1;
    const absl::Time killed = absl::Now();
    replicas[r]->Signal(SIGKILL);
    replicas[r].reset();
    if (!client.AwaitStatus([&](const xds::XdsStatus& s) { return s.connected && s.controlplane != on; },
                            absl::Seconds(30))) {
      return 1;
    }
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - killed));
    if (!start(r)) return 1;  // same address again
  }
  const xds::XdsStatus s = client.status();
  std::printf("| failover (kill -9 of the node's replica → stream open on another), %d replicas, n=%zu | "
              "p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms |\n",
              n, ms.size(), Percentile(ms, 0.5), Percentile(ms, 0.9), Percentile(ms, 0.99),
              *std::max_element(ms.begin(), ms.end()));
  std::printf("| full-state responses after the first / responses in all | %llu / %llu |\n",
              static_cast<unsigned long long>(s.full_states - 1), static_cast<unsigned long long>(s.responses));
  client.Stop();
  for (auto& p : replicas) {
    if (p) p->Signal(SIGTERM);
  }
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace edgerouter::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return edgerouter::bench::Run();
}
