#include "cli/ctl_iprules_commands.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/event_line.h"
#include "common/json_codec.h"
#include "cli/ctl_call.h"
#include "cli/ctl_format.h"
#include "controlplane/ip_rules_hcl.h"
#include "grpcpp/grpcpp.h"
#include "proto/events.pb.h"

namespace edgerouter::ctl {
namespace {


std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  return context;
}

int Put(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::istream& in, std::ostream& out,
        std::ostream& err) {
  const std::string source = inv.args.empty() ? "-" : inv.args[0];
  std::stringstream buffer;
  if (source == "-") {
    buffer << in.rdbuf();
  } else {
    const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
    std::ifstream file(source[0] != '/' && cwd != nullptr ? absl::StrCat(cwd, "/", source) : source, std::ios::binary);
    if (!file) {
      err << "edgerouterctl: " << inv.name << ": cannot read " << source << "\n";
      return 1;
    }
    buffer << file.rdbuf();
  }
  const std::string text = buffer.str();
  if (!text.empty()) {
    absl::StatusOr<config::v1::IpRules> rules = controlplane::ParseIpRulesHcl(text);
    if (!rules.ok()) {
      err << "edgerouterctl: " << inv.name << ": " << source << ":" << rules.status().message() << "\n";
      return 1;
    }
  }
  events::v1::IpRulesUpdated payload;
  payload.set_hcl(text);
  const char* tenant = std::getenv("EDGEROUTER_TENANT");
  admin::v1::AppendStreamRequest request;
  request.set_stream(absl::StrCat("/t-", tenant != nullptr && *tenant != '\0' ? tenant : "1", "/loadbalancer"));
  request.add_lines(FormatEventLine(MakeSystemEvent("IpRulesUpdated", ToCompactJson(payload))));
  admin::v1::AppendStreamResponse response;
  if (CallFailed(inv, stub->AppendStream(Context().get(), request, &response), err)) return 1;
  err << (text.empty() ? "withdrew the stream's IP rules" : "updated IP rules") << " (" << request.stream()
      << " version " << response.version() << ")\n";
  return 0;
}

int Cat(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& out, std::ostream& err) {
  admin::v1::GetSnapshotResponse response;
  if (CallFailed(inv, stub->GetSnapshot(Context().get(), admin::v1::GetSnapshotRequest(), &response), err)) return 1;
  for (const snapshot::v1::Resource& r : response.snapshot().resources()) {
    if (!r.has_ip_rules()) continue;
    out << "# from " << r.ip_rules().origin() << "\n" << controlplane::FormatIpRulesHcl(r.ip_rules());
    return 0;
  }
  err << "no IP rules: every address is allowed\n";
  return 0;
}

}  // namespace

int RunIpRulesCommand(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::istream& in,
                      std::ostream& out, std::ostream& err) {
  return inv.command == Command::kIpRulesPut ? Put(inv, stub, in, out, err) : Cat(inv, stub, out, err);
}

}  // namespace edgerouter::ctl
