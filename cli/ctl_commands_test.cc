// The command plumbing (requests sent, output, exit codes, error line) against an in-process
// fake Admin service. End-to-end tests against the real control plane live elsewhere.
#include "cli/ctl_commands.h"

#include <sstream>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace edgerouter::ctl {
namespace {

class FakeAdmin final : public admin::v1::Admin::Service {
 public:
  grpc::Status PutApp(grpc::ServerContext*, const admin::v1::PutAppRequest* request,
                      admin::v1::PutAppResponse* response) override {
    last_put = *request;
    ++calls;
    response->set_stream_version(42);
    return grpc::Status::OK;
  }
  grpc::Status DeleteApp(grpc::ServerContext*, const admin::v1::DeleteAppRequest* request,
                         admin::v1::DeleteAppResponse*) override {
    ++calls;
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "app to delete not found\n(id " + request->id() + ")");
  }
  grpc::Status ListApps(grpc::ServerContext*, const admin::v1::ListAppsRequest*,
                        admin::v1::ListAppsResponse* response) override {
    ++calls;
    admin::v1::AppSummary* app = response->add_apps();
    app->set_id("a");
    app->add_frontends("hostname:a.example/");
    app->set_backend("prom_metrics");
    return grpc::Status::OK;
  }
  grpc::Status AppendStream(grpc::ServerContext*, const admin::v1::AppendStreamRequest* request,
                            admin::v1::AppendStreamResponse* response) override {
    ++calls;
    last_append = *request;
    response->set_version(7);
    return grpc::Status::OK;
  }

  int calls = 0;
  admin::v1::PutAppRequest last_put;
  admin::v1::AppendStreamRequest last_append;
};

class CtlCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = admin::v1::Admin::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override { server_->Shutdown(); }

  // Runs argv with `input` on stdin; fills out_/err_ and returns the exit code.
  int Run(std::vector<std::string> argv, const std::string& input = "") {
    Invocation inv;
    std::string error;
    EXPECT_TRUE(ParseArgs(argv, nullptr, &inv, &error)) << error;
    std::istringstream in(input);
    std::ostringstream out, err;
    int rc = RunWithStub(inv, stub_.get(), in, out, err);
    out_ = out.str();
    err_ = err.str();
    return rc;
  }

  FakeAdmin service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<admin::v1::Admin::Stub> stub_;
  std::string out_, err_;
};

constexpr char kApp[] =
    R"({"id":"a","frontends":[{"kind":"hostname","hostname":"a.example","path_prefix":"/"}],)"
    R"("backend":{"kind":"prom_metrics"}})";

TEST_F(CtlCommandsTest, AppLsPrintsTheTable) {
  EXPECT_EQ(Run({"app", "ls"}), 0);
  EXPECT_EQ(out_,
            "ID  Frontends            Backend\n"
            "a   hostname:a.example/  prom_metrics\n");
  EXPECT_EQ(err_, "");
}

TEST_F(CtlCommandsTest, AppPutNewIsCreateOnlyAndSendsTheValidatedJson) {
  EXPECT_EQ(Run({"app", "put", "--new", "-"}, kApp), 0);
  EXPECT_EQ(service_.last_put.mode(), admin::v1::CREATE_ONLY);
  EXPECT_NE(service_.last_put.application_json().find("\"id\": \"a\""), std::string::npos);
  EXPECT_EQ(out_, "");
  EXPECT_EQ(err_, "created a (stream version 42)\n");

  EXPECT_EQ(Run({"app", "put"}, kApp), 0);
  EXPECT_EQ(service_.last_put.mode(), admin::v1::UPDATE_ONLY);
}

TEST_F(CtlCommandsTest, AppPutRejectsInvalidJsonWithoutCallingTheServer) {
  EXPECT_EQ(Run({"app", "put", "--new"}, R"({"id":"x","bogus":1})"), 1);
  EXPECT_EQ(service_.calls, 0);
  EXPECT_NE(err_.find("app x: bogus: unknown field\n"), std::string::npos) << err_;
  EXPECT_NE(err_.find("app x: backend is required\n"), std::string::npos) << err_;
}

TEST_F(CtlCommandsTest, RpcErrorIsOneLineWithTheCodeName) {
  EXPECT_EQ(Run({"app", "rm", "gone"}), 1);
  EXPECT_EQ(out_, "");
  EXPECT_EQ(err_, "edgerouterctl: app rm: NOT_FOUND: app to delete not found; (id gone)\n");
}

TEST_F(CtlCommandsTest, UnimplementedOnTheServerIsAnRpcError) {
  EXPECT_EQ(Run({"nodes"}), 1);
  EXPECT_EQ(err_.rfind("edgerouterctl: nodes: UNIMPLEMENTED: ", 0), 0u) << err_;
}

TEST_F(CtlCommandsTest, StreamAppendSendsOneLineAndPrintsTheVersion) {
  const std::string line = R"(2026-03-05T10:05:00.000Z AppDeleted    {"Id":"a"})";
  EXPECT_EQ(Run({"stream", "append", "/t-1/loadbalancer", line}), 0);
  EXPECT_EQ(service_.last_append.stream(), "/t-1/loadbalancer");
  ASSERT_EQ(service_.last_append.lines_size(), 1);
  EXPECT_EQ(service_.last_append.lines(0), line);
  EXPECT_FALSE(service_.last_append.has_expected_version());
  EXPECT_EQ(out_, "7\n");
}

TEST_F(CtlCommandsTest, AppValidateNeedsNoServer) {
  Invocation inv;
  std::string error;
  ASSERT_TRUE(ParseArgs({"app", "validate", "-"}, nullptr, &inv, &error)) << error;
  std::istringstream in(kApp);
  std::ostringstream out, err;
  EXPECT_EQ(RunWithStub(inv, nullptr, in, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("\"kind\": \"prom_metrics\""), std::string::npos);
}

}  // namespace
}  // namespace edgerouter::ctl
