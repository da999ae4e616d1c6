#include "cli/ctl_commands.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/app_config.h"
#include "common/grpc_tls.h"
#include "common/json_codec.h"
#include "cli/ctl_cert_commands.h"
#include "cli/ctl_cluster_commands.h"
#include "cli/ctl_aws_commands.h"
#include "cli/ctl_call.h"
#include "cli/ctl_turbocharger_commands.h"
#include "cli/ctl_format.h"
#include "cli/ctl_iprules_commands.h"
#include "cli/ctl_node_commands.h"
#include "cli/edgerouterctl_validate.h"
#include "grpcpp/grpcpp.h"

namespace edgerouter::ctl {
namespace {


// `bazel run` starts us in the runfiles tree; relative paths mean the caller's directory.
std::string ResolvePath(const std::string& path) {
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || path[0] == '/' || cwd == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

// Whole file, or `in` for "" and "-".
absl::StatusOr<std::string> ReadInput(const std::string& path, std::istream& in) {
  std::stringstream buffer;
  if (path.empty() || path == "-") {
    buffer << in.rdbuf();
  } else {
    std::ifstream file(ResolvePath(path), std::ios::binary);
    if (!file) return absl::NotFoundError("cannot read " + path);
    buffer << file.rdbuf();
  }
  return buffer.str();
}

std::string WithNewline(std::string text) {
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
}

int AppLs(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& out,
          std::ostream& err) {
  admin::v1::ListAppsResponse response;
  if (!Call(inv, err, [&](grpc::ClientContext* c) {
        return stub->ListApps(c, admin::v1::ListAppsRequest(), &response);
      })) {
    return 1;
  }
  return Emit(inv, response, out, err, [&] { return FormatAppList(response); });
}

int AppCat(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& out,
           std::ostream& err) {
  admin::v1::GetAppRequest request;
  request.set_id(inv.args[0]);
  admin::v1::GetAppResponse response;
  if (!Call(inv, err, [&](grpc::ClientContext* c) { return stub->GetApp(c, request, &response); }))
    return 1;
  out << WithNewline(response.application_json());
  return 0;
}

int AppPut(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::istream& in,
           std::ostream& err) {
  absl::StatusOr<std::string> text = ReadInput(inv.args.empty() ? "-" : inv.args[0], in);
  if (!text.ok()) {
    err << "edgerouterctl: " << inv.name << ": " << text.status().message() << "\n";
    return 1;
  }
  // Checked here first so every problem is listed, one per line, without a round trip; the
  // server parses again (strictly) and stays the authority.
  absl::StatusOr<config::v1::Application> app =
      config::ParseApplication(*text, config::InputMode::kStrict);
  if (!app.ok()) {
    err << app.status().message() << "\n";
    return 1;
  }
  admin::v1::PutAppRequest request;
  // The normalised form (legacy peer_set rewritten), i.e. exactly what was validated.
  request.set_application_json(config::ToEdgerouterJson(*app));
  request.set_mode(inv.new_app ? admin::v1::CREATE_ONLY : admin::v1::UPDATE_ONLY);
  admin::v1::PutAppResponse response;
  if (!Call(inv, err, [&](grpc::ClientContext* c) { return stub->PutApp(c, request, &response); }))
    return 1;
  err << (inv.new_app ? "created " : "updated ") << app->id() << " (stream version "
      << response.stream_version() << ")\n";
  return 0;
}

// Every app of an applications.json in one ImportApps call, so one append: invalid apps are
// listed (here, or by the control plane) and left out, the rest imported. Exit 1 if any was.
int AppImport(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::istream& in,
              std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::string> text = ReadInput(inv.args.empty() ? "-" : inv.args[0], in);
  if (!text.ok()) {
    err << "edgerouterctl: " << inv.name << ": " << text.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<config::ParsedApplications> parsed =
      config::ParseApplicationsFile(*text, config::InputMode::kStrict);
  if (!parsed.ok()) {
    err << "edgerouterctl: " << inv.name << ": " << OneLine(std::string(parsed.status().message())) << "\n";
    return 1;
  }
  for (const config::AppProblems& problems : parsed->problems) {
    for (const std::string& line : problems.Lines()) err << "skipped: " << line << "\n";
  }
  admin::v1::ImportAppsRequest request;
  for (const config::v1::Application& app : parsed->apps) {
    request.add_application_json(ToCompactJson(app));  // compact: thousands of apps in one message
  }
  admin::v1::ImportAppsResponse response;
  grpc::ClientContext context;
  // Thousands of apps: the append, then the snapshot rebuild the call waits for.
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  grpc::Status status = stub->ImportApps(&context, request, &response);
  if (!status.ok()) {
    err << "edgerouterctl: " << inv.name << ": "
        << absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())) << ": "
        << OneLine(status.error_message()) << "\n";
    return 1;
  }
  const int code = Emit(inv, response, out, err, [&] { return FormatImport(response); });
  return code != 0 || !parsed->problems.empty() || response.errors_size() > 0 ? 1 : 0;
}

int AppRm(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& err) {
  admin::v1::DeleteAppRequest request;
  request.set_id(inv.args[0]);
  admin::v1::DeleteAppResponse response;
  if (!Call(inv, err,
            [&](grpc::ClientContext* c) { return stub->DeleteApp(c, request, &response); }))
    return 1;
  err << "deleted " << request.id() << " (stream version " << response.stream_version()
      << ")\n";
  return 0;
}

int StreamRead(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& out,
               std::ostream& err) {
  admin::v1::ReadStreamRequest request;
  request.set_stream(inv.args[0]);
  request.set_after_version(inv.after);
  request.set_include_secrets(inv.include_secrets);
  admin::v1::ReadStreamResponse response;
  if (!Call(inv, err,
            [&](grpc::ClientContext* c) { return stub->ReadStream(c, request, &response); }))
    return 1;
  out << FormatStreamEntries(response, inv.versions);
  return 0;
}

int StreamAppend(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& out,
                 std::ostream& err) {
  admin::v1::AppendStreamRequest request;
  request.set_stream(inv.args[0]);
  request.add_lines(inv.args[1]);
  request.set_force(inv.force);
  admin::v1::AppendStreamResponse response;
  if (!Call(inv, err,
            [&](grpc::ClientContext* c) { return stub->AppendStream(c, request, &response); }))
    return 1;
  out << response.version() << "\n";
  return 0;
}

int SnapshotShow(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& out,
                 std::ostream& err) {
  admin::v1::GetSnapshotRequest request;
  request.set_include_secrets(inv.include_secrets);
  admin::v1::GetSnapshotResponse response;
  if (!Call(inv, err, [&](grpc::ClientContext* c) { return stub->GetSnapshot(c, request, &response); })) {
    return 1;
  }
  if (!inv.json) {
    out << FormatSnapshotSummary(response);
    return 0;
  }
  absl::StatusOr<std::string> json = FormatSnapshotJson(response);
  if (!json.ok()) {
    err << "edgerouterctl: " << inv.name << ": " << OneLine(json.status().ToString()) << "\n";
    return 1;
  }
  out << *json;
  return 0;
}

}  // namespace

int RunWithStub(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::istream& in,
                std::ostream& out, std::ostream& err) {
  if (IsAwsCommand(inv.command)) return RunAwsCommand(inv, stub, out, err);
  if (IsTurbochargerCommand(inv.command)) return RunTurbochargerCommand(inv, stub, in, out, err);
  if (IsNodeCommand(inv.command)) return RunNodeCommand(inv, stub, out, err);
  switch (inv.command) {
    case Command::kAppValidate: {
      absl::StatusOr<std::string> text = ReadInput(inv.args.empty() ? "-" : inv.args[0], in);
      if (!text.ok()) {
        err << "edgerouterctl: " << text.status().message() << "\n";
        return 1;
      }
      return ValidateAppsText(*text, out, err);
    }
    case Command::kAppLs:
      return AppLs(inv, stub, out, err);
    case Command::kAppCat:
      return AppCat(inv, stub, out, err);
    case Command::kAppPut:
      return AppPut(inv, stub, in, err);
    case Command::kAppRm:
      return AppRm(inv, stub, err);
    case Command::kAppImport:
      return AppImport(inv, stub, in, out, err);
    case Command::kStreamRead:
      return StreamRead(inv, stub, out, err);
    case Command::kStreamAppend:
      return StreamAppend(inv, stub, out, err);
    case Command::kSnapshotShow:
      return SnapshotShow(inv, stub, out, err);
    case Command::kDiscoveryErrors: {
      admin::v1::GetSnapshotResponse response;
      if (!Call(inv, err, [&](grpc::ClientContext* c) {
            return stub->GetSnapshot(c, admin::v1::GetSnapshotRequest(), &response);
          })) {
        return 1;
      }
      admin::v1::ListAppsResponse rejected;  // -o json: {"rejected": [...]}
      *rejected.mutable_rejected() = response.rejected();
      return Emit(inv, rejected, out, err, [&] { return FormatDiscoveryErrors(response.rejected()); });
    }
    case Command::kCertImport:
    case Command::kCertLs:
      return RunCertCommand(inv, stub, out, err);
    case Command::kIpRulesPut:
    case Command::kIpRulesCat:
      return RunIpRulesCommand(inv, stub, in, out, err);
    default:
      break;
  }
  return 2;
}

int RunInvocation(const Invocation& inv, std::istream& in, std::ostream& out,
                  std::ostream& err) {
  std::unique_ptr<admin::v1::Admin::Stub> stub;
  if (inv.command == Command::kCompletion) {
    out << BashCompletion();
    return 0;
  }
  // `app validate` must keep working with no control plane at all, so no channel for it.
  if (inv.command != Command::kAppValidate) {
    // A control plane with --grpc_tls_ca wants a client certificate from us too.
    auto env = [](const char* name) {
      const char* v = std::getenv(name);
      return std::string(v != nullptr ? v : "");
    };
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds = GrpcChannelCredentials(
        {env("EDGEROUTER_GRPC_TLS_CERT"), env("EDGEROUTER_GRPC_TLS_KEY"), env("EDGEROUTER_GRPC_TLS_CA")});
    if (!creds.ok()) {
      err << "edgerouterctl: " << creds.status().message() << " (EDGEROUTER_GRPC_TLS_*)\n";
      return 2;
    }
    if (inv.command == Command::kClusterStatus) return RunClusterStatus(inv, *creds, out, err);
    // Several replicas: any of them serves every other command; take the first.
    const std::string first = inv.controlplane.substr(0, inv.controlplane.find(','));
    // Listings of 100k apps are larger than gRPC's default 4 MB receive limit.
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    stub = admin::v1::Admin::NewStub(grpc::CreateCustomChannel(first, *creds, args));
  }
  return RunWithStub(inv, stub.get(), in, out, err);
}

}  // namespace edgerouter::ctl
