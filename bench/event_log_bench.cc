// Append latency and throughput of the event logs: the embedded file log vs etcd (3 members on
// loopback, started here). One writer measures latency (p50/p99 of each acknowledged append);
// N writers without expected versions measure appends/s (on etcd, racing appenders retry at the
// new head, which is part of the cost being measured).
//
//   bazel build --config=opt //bench:event_log_bench
//   .build/bin/bench/event_log_bench --appends=2000 --writers=8
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <thread>

#include "bench/bench_util.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "controlplane/eventlog/etcd/etcd_event_log.h"
#include "controlplane/eventlog/etcd/test/etcd_cluster.h"
#include "controlplane/file_event_log.h"

ABSL_FLAG(int, appends, 2000, "appends per measurement");
ABSL_FLAG(int, writers, 8, "concurrent writers for the throughput run");
ABSL_FLAG(int, payload_bytes, 400, "size of each event's JSON payload (a typical app)");

namespace edgerouter::controlplane {
namespace {

using bench::Percentile;

events::v1::Event MakeEvent(int i) {
  events::v1::Event e;
  e.set_type("AppUpdated");
  e.set_timestamp("2026-12-06T00:00:00.000Z");
  std::string payload = absl::StrCat("{\"Application\":{\"id\":\"bench-", i, "\",\"pad\":\"");
  payload.append(std::max(0, absl::GetFlag(FLAGS_payload_bytes) - static_cast<int>(payload.size()) - 4), 'x');
  payload += "\"}}";
  e.set_payload_json(payload);
  return e;
}

void Measure(const char* name, EventLog* log) {
  const int n = absl::GetFlag(FLAGS_appends);
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    const absl::Time start = absl::Now();
    auto v = log->Append("/bench/latency", {MakeEvent(i)}, std::nullopt);
    if (!v.ok()) {
      std::fprintf(stderr, "%s: %s\n", name, v.status().ToString().c_str());
      std::exit(1);
    }
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  const int writers = absl::GetFlag(FLAGS_writers);
  const int per_writer = n / writers;
  std::vector<std::thread> threads;
  const absl::Time start = absl::Now();
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < per_writer; ++i) {
        auto v = log->Append("/bench/throughput", {MakeEvent(w * per_writer + i)}, std::nullopt);
        if (!v.ok()) {
          std::fprintf(stderr, "%s: %s\n", name, v.status().ToString().c_str());
          std::exit(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  // Separate streams per writer: no races, the store's own parallelism.
  threads.clear();
  const absl::Time start_split = absl::Now();
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < per_writer; ++i) {
        if (!log->Append(absl::StrCat("/bench/split-", w), {MakeEvent(i)}, std::nullopt).ok()) std::exit(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  const double split_seconds = absl::ToDoubleSeconds(absl::Now() - start_split);
  std::printf("| %s | %.2f ms | %.2f ms | %.0f | %.0f | %.0f |\n", name, Percentile(ms, 0.5),
              Percentile(ms, 0.99), n / std::accumulate(ms.begin(), ms.end(), 0.0) * 1000,
              per_writer * writers / seconds, per_writer * writers / split_seconds);
}

int Main() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/er-log-bench-XXXXXX");
  const std::string dir = mkdtemp(tmpl.data());
  std::printf("%d appends of one ~%d-byte event; %d writers for the concurrent columns\n\n",
              absl::GetFlag(FLAGS_appends), absl::GetFlag(FLAGS_payload_bytes), absl::GetFlag(FLAGS_writers));
  std::printf("| log | append p50 | append p99 | appends/s, 1 writer | appends/s, %d writers, one stream | appends/s, %d writers, own streams |\n|---|---|---|---|---|---|\n",
              absl::GetFlag(FLAGS_writers), absl::GetFlag(FLAGS_writers));
  {
    std::vector<std::string> notes;
    auto file = FileEventLog::Open(dir + "/file", &notes);
    if (!file.ok()) return 1;
    Measure("file (fdatasync)", file->get());
  }
  {
    auto cluster = testing::EtcdCluster::Start(dir + "/etcd");
    if (!cluster.ok()) {
      std::fprintf(stderr, "etcd: %s\n", cluster.status().ToString().c_str());
      return 1;
    }
    etcd::EtcdEventLogOptions options;
    options.client.endpoints = (*cluster)->endpoint_list();
    auto log = etcd::EtcdEventLog::Open(options);
    if (!log.ok()) return 1;
    Measure("etcd, 3 members", log->get());
  }
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace edgerouter::controlplane

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return edgerouter::controlplane::Main();
}
