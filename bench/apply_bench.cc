// Data-plane config-apply benchmark: a real control plane and a real data plane; N apps loaded
// through the event stream (100 events per append), then one app changed at a time, measuring
// from the start of the append until the data plane serves the change (polled over HTTP with
// that app's Host: its redirect target names the change). Two sizes in the same run (the data
// plane keeps running while the second size is loaded), so the ratio of the two is the figure.
// Prints a Markdown report; data-plane RSS from /proc.
//
//   apply_bench --controlplane_binary=PATH --dataplane_binary=PATH
//               [--small=1000 --large=100000 --changes=200 --workers=2 --trace_dir=DIR]
//
// --changes is high enough by default that p99 is a percentile, not the single slowest change
// (printed apart as max). Both processes log at debug level (per-stage times of each append,
// build, push, apply and persist); --trace_dir keeps those logs and a per-change CSV there.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench/bench_util.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "dataplane/test/http_test_client.h"
#include "grpcpp/grpcpp.h"
#include "proto/admin.grpc.pb.h"

ABSL_FLAG(std::string, controlplane_binary, "", "path to the controlplane binary");
ABSL_FLAG(std::string, dataplane_binary, "", "path to the dataplane binary");
ABSL_FLAG(int, small, 1000, "apps in the first measurement");
ABSL_FLAG(int, large, 100000, "apps in the second measurement (0 = skip)");
ABSL_FLAG(int, changes, 200, "single-app changes measured at each size");
ABSL_FLAG(int, workers, 2, "data-plane worker threads");
ABSL_FLAG(int, change_timeout_s, 30, "a change not served within this ends the measurement");
ABSL_FLAG(std::string, trace_dir, "", "keep the logs (debug level) and changes.csv here");

namespace edgerouter::bench {
namespace {

// Loaded apps proxy to loopback origins nobody listens on (they are never requested): what
// matters is what the data plane compiles for them.
std::string ProxyApp(int i) {
  return absl::StrFormat(
      "{\"id\":\"app-%d\",\"frontends\":[{\"kind\":\"hostname\",\"hostname\":\"app-%d.example.com\","
      "\"path_prefix\":\"/\",\"allow_insecure_http\":true}],\"backend\":{\"kind\":\"reverse_proxy\","
      "\"reverse_proxy_opts\":{\"origins\":[\"http://127.0.0.1:%d\",\"http://127.0.0.1:%d\"],"
      "\"pass_host_header\":true}}}",
      i, i, 20000 + i % 1000, 21000 + i % 1000);
}

// A changed app: a redirect whose target names the change.
std::string RedirectApp(int i, const std::string& marker) {
  return absl::StrFormat(
      "{\"id\":\"app-%d\",\"frontends\":[{\"kind\":\"hostname\",\"hostname\":\"app-%d.example.com\","
      "\"path_prefix\":\"/\",\"allow_insecure_http\":true}],\"backend\":{\"kind\":\"redirect\","
      "\"redirect_opts\":{\"to\":\"http://127.0.0.1/%s\"}}}",
      i, i, marker);
}

std::string Line(const std::string& app_json) {
  return absl::StrCat("2026-03-05T10:00:00.000Z AppUpdated    {\"Application\":", app_json, "}");
}

class Bench {
 public:
  Bench(std::unique_ptr<admin::v1::Admin::Stub> admin, int http_port) : admin_(std::move(admin)), http_port_(http_port) {}

  bool Append(const std::vector<std::string>& lines) {
    grpc::ClientContext ctx;
    admin::v1::AppendStreamRequest req;
    req.set_stream("/t-1/loadbalancer");
    for (const std::string& l : lines) req.add_lines(l);
    admin::v1::AppendStreamResponse resp;
    grpc::Status s = admin_->AppendStream(&ctx, req, &resp);
    if (!s.ok()) std::fprintf(stderr, "append: %s\n", s.error_message().c_str());
    return s.ok();
  }

  bool Load(int from, int to) {
    for (int i = from; i < to; i += 100) {
      std::vector<std::string> lines;
      for (int j = i; j < std::min(to, i + 100); ++j) lines.push_back(Line(ProxyApp(j)));
      if (!Append(lines)) return false;
    }
    return true;
  }

  // One GET on the keep-alive connection (reopened when the data plane closed it).
  testing::HttpResponse Get(int app) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (conn_ == nullptr || !conn_->ok()) conn_ = std::make_unique<testing::TestConnection>(http_port_, 5000);
      if (conn_->Send(absl::StrCat("GET / HTTP/1.1\r\nHost: app-", app, ".example.com\r\n\r\n"))) {
        testing::HttpResponse r = conn_->Read();
        if (r.status != 0) return r;
      }
      conn_.reset();
    }
    return {};
  }

  // Polls until `done(response)` or the deadline; false on timeout.
  bool PollUntil(int app, absl::Duration timeout, const std::function<bool(const testing::HttpResponse&)>& done) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (done(Get(app))) return true;
      absl::SleepFor(absl::Microseconds(200));
    }
    return false;
  }

  // `changes` single-app changes among apps [0, apps): latencies in ms. Each change is also
  // written to `trace` (when open) with its start time, for matching against the logs.
  bool Measure(int apps, int changes, const std::string& tag, std::vector<double>* served_ms,
               std::vector<double>* append_ms, std::FILE* trace) {
    for (int c = 0; c < changes; ++c) {
      absl::SleepFor(absl::Milliseconds(50));  // beyond the control plane's coalescing window
      const int app = static_cast<int>((static_cast<int64_t>(c) * 7919 + 13) % apps);
      const std::string marker = absl::StrCat(tag, "-", c);
      const absl::Time t0 = absl::Now();
      if (!Append({Line(RedirectApp(app, marker))})) return false;
      append_ms->push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
      const absl::Duration timeout = absl::Seconds(absl::GetFlag(FLAGS_change_timeout_s));
      const bool ok = PollUntil(app, timeout, [&](const testing::HttpResponse& r) {
        auto it = r.headers.find("location");
        return r.status == 302 && it != r.headers.end() && absl::EndsWith(it->second, marker);
      });
      if (!ok) {
        std::fprintf(stderr, "change %s of app-%d not served within %s\n", marker.c_str(), app,
                     absl::FormatDuration(timeout).c_str());
        return false;
      }
      served_ms->push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
      if (trace != nullptr) {
        std::fprintf(trace, "%s,%d,%s,%.3f,%.3f\n", tag.c_str(), app,
                     absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t0, absl::UTCTimeZone()).c_str(),
                     append_ms->back(), served_ms->back());
      }
    }
    return true;
  }

 private:
  std::unique_ptr<admin::v1::Admin::Stub> admin_;
  const int http_port_;
  std::unique_ptr<testing::TestConnection> conn_;
};

// The 1-minute load average: the machine may be shared, and the tail follows it.
std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one.empty() ? "?" : one;
}

// User + system CPU seconds of `pid` so far (/proc/<pid>/stat fields 14 and 15).
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> f = absl::StrSplit(stat.substr(close + 2), ' ');
  if (f.size() < 13) return 0;
  return (std::stod(f[11]) + std::stod(f[12])) / sysconf(_SC_CLK_TCK);
}

int Run() {
  const std::string load_at_start = LoadAverage();
  const int small = absl::GetFlag(FLAGS_small);
  const int large = absl::GetFlag(FLAGS_large);
  const int changes = absl::GetFlag(FLAGS_changes);
  char tmpl[] = "/tmp/er-apply-bench-XXXXXX";
  const std::string trace_dir = absl::GetFlag(FLAGS_trace_dir);
  std::string dir = trace_dir;
  if (dir.empty()) {
    dir = mkdtemp(tmpl);
  } else {
    std::filesystem::create_directories(dir);
  }
  // Debug: the per-stage lines (append, build, push, persist) the report and the trace read.
  const std::string log_level = "--log_level=debug";
  std::FILE* trace = trace_dir.empty() ? nullptr : std::fopen((dir + "/changes.csv").c_str(), "w");
  if (trace != nullptr) std::fprintf(trace, "size,app,start,append_ms,served_ms\n");

  auto cp = Subprocess::Start({absl::GetFlag(FLAGS_controlplane_binary), "--grpc_listen=127.0.0.1:0",
                               "--http_listen=127.0.0.1:0", "--docker_url=off", "--data_dir=" + dir + "/cp", log_level},
                              dir + "/controlplane.log");
  if (!cp.ok()) return 1;
  auto cp_ready = (*cp)->WaitForLine("control plane ready", absl::Seconds(30));
  if (!cp_ready.ok()) {
    std::fprintf(stderr, "%s\n", std::string(cp_ready.status().message()).c_str());
    return 1;
  }
  const std::string cp_addr = LogField(*cp_ready, "grpc");
  auto admin = admin::v1::Admin::NewStub(grpc::CreateChannel(cp_addr, grpc::InsecureChannelCredentials()));

  // Size 1 is loaded before the data plane starts (it gets it as its first full state).
  absl::Time t = absl::Now();
  {
    std::unique_ptr<admin::v1::Admin::Stub> loader = admin::v1::Admin::NewStub(
        grpc::CreateChannel(cp_addr, grpc::InsecureChannelCredentials()));
    Bench pre(std::move(loader), 0);
    if (!pre.Load(0, small)) return 1;
  }
  auto dp = Subprocess::Start({absl::GetFlag(FLAGS_dataplane_binary), "--controlplane=" + cp_addr,
                               "--http_listen=127.0.0.1:0", "--https_listen=", "--admin_listen=127.0.0.1:0",
                               absl::StrCat("--workers=", absl::GetFlag(FLAGS_workers)), "--node_id=bench-dp",
                               "--state_dir=" + dir + "/dp-state", "--access_log=off", log_level},
                              dir + "/dataplane.log");
  if (!dp.ok()) return 1;
  auto dp_ready = (*dp)->WaitForLine("data plane ready", absl::Seconds(30));
  if (!dp_ready.ok()) {
    std::fprintf(stderr, "%s\n", std::string(dp_ready.status().message()).c_str());
    return 1;
  }
  const std::string http = LogField(*dp_ready, "http");
  const int http_port = std::stoi(http.substr(http.rfind(':') + 1));
  Bench b(std::move(admin), http_port);
  auto serves = [](const testing::HttpResponse& r) { return r.status != 0 && r.status != 404 && r.status != 503; };
  if (!b.PollUntil(small - 1, absl::Seconds(60), serves)) {
    std::fprintf(stderr, "data plane never served app-%d\n", small - 1);
    return 1;
  }
  const double small_ready_s = absl::ToDoubleSeconds(absl::Now() - t);
  const long rss_small = RssKb((*dp)->pid());
  std::vector<double> small_served, small_append;
  // CPU of each process over a measurement (per change: it includes whatever they do meanwhile).
  struct Cpu {
    double cp = 0, dp = 0;
  };
  auto cpu_now = [&] { return Cpu{CpuSeconds((*cp)->pid()), CpuSeconds((*dp)->pid())}; };
  Cpu small_cpu = cpu_now(), large_cpu;
  bool complete = b.Measure(small, changes, "s", &small_served, &small_append, trace);
  {
    const Cpu end = cpu_now();
    small_cpu = {end.cp - small_cpu.cp, end.dp - small_cpu.dp};
  }

  std::vector<double> large_served, large_append;
  long rss_large = -1, rss_end = -1;
  double large_ready_s = 0;
  if (complete && large > small) {
    t = absl::Now();
    if (!b.Load(small, large)) return 1;
    if (!b.PollUntil(large - 1, absl::Seconds(600), serves)) {
      std::fprintf(stderr, "data plane never served app-%d\n", large - 1);
      return 1;
    }
    large_ready_s = absl::ToDoubleSeconds(absl::Now() - t);
    rss_large = RssKb((*dp)->pid());
    large_cpu = cpu_now();
    complete = b.Measure(large, changes, "l", &large_served, &large_append, trace);
    const Cpu end = cpu_now();
    large_cpu = {end.cp - large_cpu.cp, end.dp - large_cpu.dp};
    rss_end = RssKb((*dp)->pid());
  }

  // The data plane's own share, from its log: compile + publish of each single-app delta, and
  // the journal append after it.
  auto from_log = [&](const char* needle, const char* field, int apps) {
    std::vector<double> out;
    for (absl::string_view line : absl::StrSplit((*dp)->Output(), '\n')) {
      const std::string l(line);
      if (absl::StrContains(l, needle) && absl::StrContains(l, absl::StrCat("resources=", apps, " ")) &&
          absl::StrContains(l, "changed=1 ")) {
        const std::string value = LogField(l, field);
        if (!value.empty()) out.push_back(std::stod(value));
      }
    }
    return out;
  };
  auto row = [&](int apps, const std::vector<double>& served, const std::vector<double>& append, const Cpu& cpu) {
    if (served.empty()) return;
    std::vector<double> after_append;
    for (size_t i = 0; i < served.size(); ++i) after_append.push_back(served[i] - append[i]);
    const std::vector<double> compile = from_log("config published", "compile_ms", apps);
    const std::vector<double> persist = from_log("snapshot persisted", "persist_ms", apps);
    std::printf("| %d apps: one-app change → data plane serves it (n=%zu) | p50 %.1f ms, p99 %.1f ms, max %.1f ms |\n",
                apps, served.size(), Percentile(served, 0.5), Percentile(served, 0.99),
                *std::max_element(served.begin(), served.end()));
    std::printf("| %d apps: of which AppendStream returned (control plane: append + snapshot build) | p50 %.1f ms, p99 %.1f ms |\n", apps,
                Percentile(append, 0.5), Percentile(append, 0.99));
    std::printf("| %d apps: AppendStream returned → served (push + data plane) | p50 %.1f ms, p99 %.1f ms |\n", apps,
                Percentile(after_append, 0.5), Percentile(after_append, 0.99));
    if (!compile.empty()) {
      std::printf("| %d apps: data plane compile + publish of a one-app delta (n=%zu) | p50 %.3f ms, p99 %.3f ms |\n",
                  apps, compile.size(), Percentile(compile, 0.5), Percentile(compile, 0.99));
    }
    std::printf("| %d apps: CPU per change (user + system, 50 ms apart), control plane / data plane | %.2f / %.2f ms |\n",
                apps, cpu.cp * 1000 / served.size(), cpu.dp * 1000 / served.size());
    if (!persist.empty()) {
      std::printf("| %d apps: data plane persist of it (own thread, after the ACK) | p50 %.3f ms, p99 %.3f ms |\n", apps,
                  Percentile(persist, 0.5), Percentile(persist, 0.99));
    }
  };
  std::printf("| metric (%d workers) | value |\n|---|---|\n", absl::GetFlag(FLAGS_workers));
  std::printf("| %d apps loaded, data plane started → serves the last | %.2f s |\n", small, small_ready_s);
  row(small, small_served, small_append, small_cpu);
  if (!complete) std::printf("| **incomplete**: a change was not served within --change_timeout_s | |\n");
  if (!large_served.empty() && !small_served.empty()) {
    std::printf("| %d more apps loaded (data plane running) → serves the last | %.2f s |\n", large - small,
                large_ready_s);
    row(large, large_served, large_append, large_cpu);
    std::printf("| ratio %d / %d apps (p50, p99) | %.2f×, %.2f× |\n", large, small,
                Percentile(large_served, 0.5) / Percentile(small_served, 0.5),
                Percentile(large_served, 0.99) / Percentile(small_served, 0.99));
  }
  std::printf("| data-plane RSS: %d apps / %d apps / end | %.1f / %.1f / %.1f MB |\n", small, large, rss_small / 1024.0,
              rss_large / 1024.0, rss_end / 1024.0);
  std::printf("| load average (1 min) at start / end | %s / %s |\n", load_at_start.c_str(), LoadAverage().c_str());

  (*dp)->Signal(SIGTERM);
  (*cp)->Signal(SIGTERM);
  if (trace != nullptr) std::fclose(trace);
  if (trace_dir.empty()) std::filesystem::remove_all(dir);
  return complete ? 0 : 1;
}

}  // namespace
}  // namespace edgerouter::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return edgerouter::bench::Run();
}
