#include "cli/ctl_node_commands.h"

#include <algorithm>
#include <map>
#include <ostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/ctl_format.h"
#include "cli/ctl_s3_http.h"

namespace edgerouter::ctl {
namespace {

std::string Dash(const std::string& s) { return s.empty() ? "-" : s; }

// Requests per second over a report's interval.
double Rate(uint64_t n, int64_t interval_ms) {
  return interval_ms > 0 ? static_cast<double>(n) * 1000.0 / static_cast<double>(interval_ms) : 0;
}

std::string Ms(double seconds) { return absl::StrFormat("%.1fms", seconds * 1000); }

// "12s" / "5m" / "3h" / "40d"; negative = in the past ("-2d").
std::string Span(int64_t seconds) {
  const char* sign = seconds < 0 ? "-" : "";
  const int64_t s = std::abs(seconds);
  if (s < 120) return absl::StrCat(sign, s, "s");
  if (s < 7200) return absl::StrCat(sign, s / 60, "m");
  if (s < 172800) return absl::StrCat(sign, s / 3600, "h");
  return absl::StrCat(sign, s / 86400, "d");
}

const discovery::v1::AppTraffic* AllTraffic(const discovery::v1::NodeReport& report) {
  for (const discovery::v1::AppTraffic& a : report.apps()) {
    if (a.app() == "_all") return &a;
  }
  return nullptr;
}

}  // namespace

std::string FormatNodeReports(const admin::v1::ListNodesResponse& response, int64_t now_unix_ms) {
  // The free-text NACK column comes last, so the others stay aligned.
  std::vector<std::vector<std::string>> rows = {{"NODE", "STATE", "PEER", "SINCE", "SERVING", "ACKED", "PENDING",
                                                 "REPORT", "CONNS", "RPS", "5XX/S", "P99", "ORIGINS DOWN", "CERTS",
                                                 "LAST NACK"}};
  for (const admin::v1::NodeStatus& node : response.nodes()) {
    const discovery::v1::NodeReport& r = node.report();
    const bool reported = node.has_report();
    const discovery::v1::AppTraffic* all = AllTraffic(r);
    int down = 0;
    for (const discovery::v1::OriginHealth& o : r.origins()) down += o.healthy() ? 0 : 1;
    std::string nack = "-";
    if (!node.last_nack_version().empty() || !node.last_nack_message().empty()) {
      nack = absl::StrCat(Dash(node.last_nack_version()), ": ", OneLine(node.last_nack_message()));
    }
    rows.push_back({
        Dash(node.node_id()),
        node.connected() ? "up" : "gone",
        Dash(node.peer()),
        node.connected() ? FormatUnixMs(node.connected_since_unix_ms()) : "-",
        reported ? Dash(r.version_served()) : "-",
        Dash(node.last_acked_version()),
        Dash(node.pending_version()),
        reported ? Span((now_unix_ms - node.report_received_unix_ms()) / 1000) + " ago" : "-",
        reported ? absl::StrCat(r.connections_open()) : "-",
        all ? absl::StrFormat("%.1f", Rate(all->requests(), r.interval_ms())) : "-",
        all ? absl::StrFormat("%.1f", Rate(all->errors(), r.interval_ms())) : "-",
        all && all->requests() > 0 ? Ms(all->p99_seconds()) : "-",
        reported ? absl::StrCat(down, "/", r.origins_size()) : "-",
        reported ? absl::StrCat(r.certificates_size()) : "-",
        nack,
    });
  }
  return absl::StrCat(FormatTable(rows), "current version ", Dash(response.current_version()), "\n");
}

std::string FormatTop(const admin::v1::ListNodesResponse& response, int64_t now_unix_ms) {
  struct Sum {
    double rps = 0, err_rps = 0, p50 = 0, p99 = 0;
    uint64_t total = 0;
    int nodes = 0;
  };
  std::map<std::string, Sum> apps;
  struct Origin {
    std::string node;
    discovery::v1::OriginHealth health;
  };
  std::vector<Origin> down;
  std::map<std::string, discovery::v1::CertificateInUse> certs;  // by id: nodes hold the same ones
  int reporting = 0;
  for (const admin::v1::NodeStatus& node : response.nodes()) {
    if (!node.connected() || !node.has_report()) continue;
    const discovery::v1::NodeReport& r = node.report();
    ++reporting;
    for (const discovery::v1::AppTraffic& a : r.apps()) {
      Sum& s = apps[a.app()];
      s.rps += Rate(a.requests(), r.interval_ms());
      s.err_rps += Rate(a.errors(), r.interval_ms());
      s.p50 = std::max(s.p50, a.p50_seconds());  // the worst node's
      s.p99 = std::max(s.p99, a.p99_seconds());
      s.total += a.requests_total();
      s.nodes++;
    }
    for (const discovery::v1::OriginHealth& o : r.origins()) {
      if (!o.healthy()) down.push_back({node.node_id(), o});
    }
    for (const discovery::v1::CertificateInUse& c : r.certificates()) certs.emplace(c.id(), c);
  }
  std::vector<std::pair<std::string, Sum>> sorted(apps.begin(), apps.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second.rps != b.second.rps ? a.second.rps > b.second.rps : a.second.total > b.second.total;
  });
  std::vector<std::vector<std::string>> rows = {{"APP", "RPS", "5XX/S", "P50", "P99", "TOTAL", "NODES"}};
  for (const auto& [name, s] : sorted) {
    rows.push_back({name, absl::StrFormat("%.1f", s.rps), absl::StrFormat("%.1f", s.err_rps), Ms(s.p50),
                    Ms(s.p99), absl::StrCat(s.total), absl::StrCat(s.nodes)});
  }
  std::string out = absl::StrCat(reporting, " of ", response.nodes_size(), " nodes reporting\n", FormatTable(rows));
  if (!down.empty()) {
    std::vector<std::vector<std::string>> origin_rows = {{"ORIGIN DOWN", "NODE", "FAILURES", "EJECTIONS"}};
    for (const Origin& o : down) {
      origin_rows.push_back({o.health.origin(), o.node, absl::StrCat(o.health.failures(), " (", o.health.failures_total(), " total)"),
                             absl::StrCat(o.health.ejections_total())});
    }
    absl::StrAppend(&out, "\n", FormatTable(origin_rows));
  }
  if (!certs.empty()) {
    std::vector<const discovery::v1::CertificateInUse*> by_expiry;
    for (const auto& [id, c] : certs) by_expiry.push_back(&c);
    std::sort(by_expiry.begin(), by_expiry.end(),
              [](const auto* a, const auto* b) { return a->not_after_unix() < b->not_after_unix(); });
    std::vector<std::vector<std::string>> cert_rows = {{"CERTIFICATE", "DOMAINS", "EXPIRES IN", "ERROR"}};
    for (const auto* c : by_expiry) {
      cert_rows.push_back({c->id(), absl::StrJoin(c->domains(), ","),
                           c->not_after_unix() ? Span(c->not_after_unix() - now_unix_ms / 1000) : "-",
                           Dash(OneLine(c->error()))});
    }
    absl::StrAppend(&out, "\n", FormatTable(cert_rows));
  }
  return out;
}

bool IsNodeCommand(Command command) { return command == Command::kNodes || command == Command::kTop; }

int RunNodeCommand(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& out,
                   std::ostream& err) {
  admin::v1::ListNodesResponse response;
  if (!Call(inv, err, [&](grpc::ClientContext* c) { return stub->ListNodes(c, admin::v1::ListNodesRequest(), &response); })) {
    return 1;
  }
  const int64_t now = absl::ToUnixMillis(absl::Now());
  // -o json: the Admin answer itself, for scripts (both commands).
  return Emit(inv, response, out, err, [&] {
    return inv.command == Command::kTop ? FormatTop(response, now) : FormatNodeReports(response, now);
  });
}

}  // namespace edgerouter::ctl
