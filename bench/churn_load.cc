// Config churn at a fixed rate for the benchmarks: PutApp (upsert) through the admin API on one
// gRPC channel, paced at --rate per second for --duration_s, rotating over --apps app ids so the
// config changes without growing. A process per change (edgerouterctl) costs ~0.1 s of CPU on
// this machine, more than the changes it is meant to drive. A failed put (the control plane
// restarting) is counted and the pace kept. Prints "puts=N failed=M".
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "proto/admin.grpc.pb.h"

ABSL_FLAG(std::string, controlplane, "127.0.0.1:18000", "control plane gRPC address (loopback)");
ABSL_FLAG(double, rate, 20, "app changes per second");
ABSL_FLAG(double, duration_s, 10, "seconds");
ABSL_FLAG(int, apps, 20, "app ids updated in turn (churn-1..N)");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using edgerouter::admin::v1::Admin;
  auto admin = Admin::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_controlplane), grpc::InsecureChannelCredentials()));
  const auto interval = std::chrono::duration<double>(1.0 / absl::GetFlag(FLAGS_rate));
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(absl::GetFlag(FLAGS_duration_s));
  long puts = 0, failed = 0;
  for (long n = 0;; ++n) {
    const auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(interval * n);
    if (due >= end) break;
    std::this_thread::sleep_until(due);  // pacing of an open-loop load, not synchronisation
    const std::string id = absl::StrCat("churn-", n % absl::GetFlag(FLAGS_apps) + 1);
    edgerouter::admin::v1::PutAppRequest request;
    request.set_application_json(absl::StrCat(
        R"({"id":")", id, R"(","frontends":[{"kind":"hostname","hostname":")", id,
        R"(.local","path_prefix":"/"}],"backend":{"kind":"redirect","redirect_opts":{"to":"https://example.test/)",
        n, R"("}}})"));
    edgerouter::admin::v1::PutAppResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    const grpc::Status status = admin->PutApp(&context, request, &response);
    ++puts;
    if (!status.ok()) ++failed;
  }
  std::printf("puts=%ld failed=%ld\n", puts, failed);
  return 0;
}
