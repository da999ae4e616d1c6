// EventHorizon log benchmark on a local dynalite: latency of one append (head Query + conditional
// PutItem) p50/p99, appends/s with parallel writers on separate streams, and with the same
// writers contending on one stream (conflicts retried at the new head). Prints Markdown.
//
//   bazel run -c opt //bench:eventhorizon_bench -- [--appends=300 --writers=4]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "bench/bench_util.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/event_line.h"
#include "controlplane/eventlog/eventhorizon/eventhorizon_event_log.h"
#include "testenv/dynamodb/dynalite.h"

ABSL_FLAG(int, appends, 300, "sequential appends measured for latency");
ABSL_FLAG(int, writers, 4, "parallel writers");
ABSL_FLAG(int, per_writer, 100, "appends per parallel writer");

namespace edgerouter::bench {
namespace {

using eventhorizon::EventHorizonEventLog;

std::vector<events::v1::Event> OneEvent(int i) {
  return {MakeSystemEvent("AppDeleted", absl::StrCat("{\"Id\":\"app-", i, "\"}"))};
}

int Run() {
  auto dynalite = testing::Dynalite::Start();
  if (!dynalite.ok()) {
    std::fprintf(stderr, "dynalite: %s\n", std::string(dynalite.status().message()).c_str());
    return 1;
  }
  eventhorizon::Config config;
  config.env = "dev";
  config.tenant = "1";
  config.region = "us-east-1";
  config.credentials = {"ak", "sk", ""};
  config.endpoints.dynamodb = (*dynalite)->endpoint();
  auto log = EventHorizonEventLog::Create(config, eventhorizon::EventLogOptions());
  if (absl::Status s = log->store()->CreateTable(); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  if (absl::Status s = log->store()->EnsureStream("/t-1/loadbalancer"); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }

  std::vector<double> ms;
  for (int i = 0; i < absl::GetFlag(FLAGS_appends); ++i) {
    const absl::Time start = absl::Now();
    absl::StatusOr<uint64_t> v = log->Append("/t-1/loadbalancer", OneEvent(i), std::nullopt);
    if (!v.ok()) {
      std::fprintf(stderr, "%s\n", std::string(v.status().message()).c_str());
      return 1;
    }
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }

  const int writers = absl::GetFlag(FLAGS_writers);
  const int per_writer = absl::GetFlag(FLAGS_per_writer);
  auto parallel = [&](bool same_stream) {
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    const absl::Time start = absl::Now();
    for (int w = 0; w < writers; ++w) {
      threads.emplace_back([&, w] {
        const std::string stream = same_stream ? "/t-1/contended" : absl::StrCat("/t-1/writer-", w);
        for (int i = 0; i < per_writer; ++i) {
          if (!log->Append(stream, OneEvent(i), std::nullopt).ok()) failed++;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    return std::make_pair(writers * per_writer / seconds, failed.load());
  };
  // Streams exist before timing (creation is a one-off).
  for (int w = 0; w < writers; ++w) (void)log->store()->EnsureStream(absl::StrCat("/t-1/writer-", w));
  (void)log->store()->EnsureStream("/t-1/contended");
  auto [separate_rate, separate_failed] = parallel(false);
  auto [contended_rate, contended_failed] = parallel(true);
  const uint64_t contended_head = log->Head("/t-1/contended");

  std::printf("## EventHorizon log on dynalite 4.0.0 (loopback)\n\n");
  std::printf("| measure | value |\n|---|---|\n");
  std::printf("| append latency, sequential (n=%zu) | p50 %.2f ms, p99 %.2f ms |\n", ms.size(), Percentile(ms, 0.5),
              Percentile(ms, 0.99));
  std::printf("| appends/s, %d writers on separate streams | %.0f (%d failed) |\n", writers, separate_rate,
              separate_failed);
  std::printf("| appends/s, %d writers on one stream (conflicts retried) | %.0f (%d failed, head %llu of %d) |\n",
              writers, contended_rate, contended_failed, static_cast<unsigned long long>(contended_head),
              writers * per_writer);
  return 0;
}

}  // namespace
}  // namespace edgerouter::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return edgerouter::bench::Run();
}
