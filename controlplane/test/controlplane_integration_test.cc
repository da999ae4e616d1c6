// The real controlplane binary, real sockets: discovery protocol (full state, ACK, deltas,
// NACK parking, reconnect), reflection, crash safety of the event log under concurrent writers.
#include <arpa/inet.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "controlplane/test/test_controlplane.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/admin.grpc.pb.h"
#include "proto/discovery.grpc.pb.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpcpp/impl/codegen/client_unary_call.h"
#include "grpcpp/impl/codegen/sync_stream.h"
#include "proto/reflection_client.pb.h"

namespace edgerouter::controlplane {
namespace {

using discovery::v1::DiscoveryRequest;
using discovery::v1::DiscoveryResponse;

const char kApp[] =
    R"({"id":"%s","frontends":[{"kind":"hostname","hostname":"%s.example.com","path_prefix":"/"}],)"
    R"("backend":{"kind":"redirect","redirect_opts":{"to":"https://%s/"}}})";

std::string AppJson(const std::string& id) {
  return absl::StrReplaceAll(kApp, {{"%s", id}});
}

std::string AppUpdatedLine(const std::string& id) {
  return absl::StrCat("2026-03-05T10:00:00.000Z AppUpdated    {\"Application\":", AppJson(id), "}");
}

// Plain HTTP GET against the admin listener.
std::string HttpGet(const std::string& hostport, const std::string& path) {
  std::vector<std::string> parts = absl::StrSplit(hostport, ':');
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(std::stoi(parts[1]));
  inet_pton(AF_INET, parts[0].c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  std::string req = absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  (void)!write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  close(fd);
  return out;
}

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/er-cp-it-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::ofstream(dir_ + "/applications.json")
        << absl::StrCat(R"({"apps":[)", AppJson("file-a"), ",", AppJson("file-b"), "]}");
    StartControlPlane();
  }
  void TearDown() override {
    cp_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartControlPlane() {
    auto cp = testing::StartTestControlPlane("127.0.0.1:0", dir_ + "/data",
                                             {"--apps_file=" + dir_ + "/applications.json"},
                                             dir_ + "/controlplane.log");
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = std::move(cp->process);
    grpc_addr_ = cp->grpc_address;
    http_addr_ = cp->http_address;
    channel_ = grpc::CreateChannel(grpc_addr_, grpc::InsecureChannelCredentials());
    admin_ = admin::v1::Admin::NewStub(channel_);
  }

  grpc::Status Append(const std::vector<std::string>& lines, uint64_t* version = nullptr,
                      std::optional<uint64_t> expected = std::nullopt, bool force = false) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    admin::v1::AppendStreamRequest req;
    req.set_stream("/t-1/loadbalancer");
    req.set_force(force);
    for (const auto& l : lines) req.add_lines(l);
    if (expected) {
      req.set_has_expected_version(true);
      req.set_expected_version(*expected);
    }
    admin::v1::AppendStreamResponse resp;
    grpc::Status s = admin_->AppendStream(&ctx, req, &resp);
    if (version) *version = resp.version();
    return s;
  }

  admin::v1::ListAppsResponse ListApps() {
    grpc::ClientContext ctx;
    admin::v1::ListAppsResponse resp;
    EXPECT_TRUE(admin_->ListApps(&ctx, admin::v1::ListAppsRequest(), &resp).ok());
    return resp;
  }

  std::string dir_;
  std::unique_ptr<Subprocess> cp_;
  std::string grpc_addr_, http_addr_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<admin::v1::Admin::Stub> admin_;
};

// A data-plane stand-in speaking the discovery protocol.
class NodeClient {
 public:
  NodeClient(std::shared_ptr<grpc::Channel> channel, const std::string& node_id,
             const std::string& version = "", std::map<std::string, std::string> known = {})
      : stub_(discovery::v1::Discovery::NewStub(channel)) {
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    stream_ = stub_->StreamSnapshots(&ctx_);
    DiscoveryRequest first;
    first.set_node_id(node_id);
    first.set_version_info(version);
    first.mutable_initial_resource_versions()->insert(known.begin(), known.end());
    EXPECT_TRUE(stream_->Write(first));
  }
  ~NodeClient() {
    ctx_.TryCancel();
    stream_->Finish().ok();
  }

  DiscoveryResponse Next() {
    DiscoveryResponse r;
    EXPECT_TRUE(stream_->Read(&r)) << "stream ended";
    for (const auto& res : r.resources()) held_[res.name()] = res.version();
    for (const auto& name : r.removed_resources()) held_.erase(name);
    return r;
  }
  void Ack(const DiscoveryResponse& r) {
    DiscoveryRequest req;
    req.set_version_info(r.version_info());
    req.set_response_nonce(r.nonce());
    EXPECT_TRUE(stream_->Write(req));
    version_ = r.version_info();
  }
  void Nack(const DiscoveryResponse& r, const std::string& error) {
    DiscoveryRequest req;
    req.set_version_info(version_);
    req.set_response_nonce(r.nonce());
    req.mutable_error_detail()->set_code(3);
    req.mutable_error_detail()->set_message(error);
    EXPECT_TRUE(stream_->Write(req));
  }
  const std::map<std::string, std::string>& held() const { return held_; }
  const std::string& version() const { return version_; }

 private:
  std::unique_ptr<discovery::v1::Discovery::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<DiscoveryRequest, DiscoveryResponse>> stream_;
  std::map<std::string, std::string> held_;
  std::string version_;
};

std::vector<std::string> Names(const DiscoveryResponse& r) {
  std::vector<std::string> names;
  for (const auto& res : r.resources()) names.push_back(res.name());
  return names;
}

TEST_F(ControlPlaneTest, FullStateThenDeltasWithAckNackParkingAndReconnect) {
  std::map<std::string, std::string> held;
  std::string acked_version;
  {
    NodeClient node(channel_, "node-1");
    DiscoveryResponse full = node.Next();
    EXPECT_TRUE(full.full_state());
    EXPECT_EQ(Names(full), (std::vector<std::string>{"app/file-a", "app/file-b"}));
    node.Ack(full);

    ASSERT_TRUE(Append({AppUpdatedLine("stream-c")}).ok());
    DiscoveryResponse delta = node.Next();
    EXPECT_FALSE(delta.full_state());
    EXPECT_EQ(Names(delta), std::vector<std::string>{"app/stream-c"});
    EXPECT_EQ(delta.removed_resources_size(), 0);
    node.Ack(delta);

    // A NACKed version is parked: the next response the node sees is the next snapshot.
    ASSERT_TRUE(Append({R"(2026-03-05T10:00:00.000Z AppDeleted    {"Id":"stream-c"})"}).ok());
    DiscoveryResponse removal = node.Next();
    ASSERT_EQ(removal.removed_resources_size(), 1);
    EXPECT_EQ(removal.removed_resources(0), "app/stream-c");
    EXPECT_EQ(removal.resources_size(), 0);
    node.Nack(removal, "route table: cannot remove stream-c");
    ASSERT_TRUE(Append({AppUpdatedLine("stream-d")}).ok());
    DiscoveryResponse after_park = node.Next();
    EXPECT_NE(after_park.version_info(), removal.version_info());
    // Still relative to what the node applied (it rejected the removal).
    EXPECT_EQ(Names(after_park), std::vector<std::string>{"app/stream-d"});
    EXPECT_EQ(after_park.removed_resources_size(), 1);
    {
      // The server answered after processing the NACK, so its node status already holds it.
      grpc::ClientContext ctx;
      admin::v1::ListNodesResponse nodes;
      ASSERT_TRUE(admin_->ListNodes(&ctx, admin::v1::ListNodesRequest(), &nodes).ok());
      ASSERT_EQ(nodes.nodes_size(), 1);
      EXPECT_EQ(nodes.nodes(0).node_id(), "node-1");
      EXPECT_EQ(nodes.nodes(0).last_nack_message(), "route table: cannot remove stream-c");
      EXPECT_EQ(nodes.nodes(0).last_nack_version(), removal.version_info());
      EXPECT_EQ(nodes.nodes(0).last_acked_version(), delta.version_info());
      EXPECT_EQ(nodes.nodes(0).pending_version(), after_park.version_info());
      EXPECT_TRUE(nodes.nodes(0).connected());
    }
    node.Ack(after_park);
    held = node.held();
    acked_version = node.version();
  }

  // Reconnect with what the node holds: only the change made while it was away arrives.
  ASSERT_TRUE(Append({AppUpdatedLine("stream-e")}).ok());
  NodeClient again(channel_, "node-1", acked_version, held);
  DiscoveryResponse resumed = again.Next();
  EXPECT_FALSE(resumed.full_state());
  EXPECT_EQ(Names(resumed), std::vector<std::string>{"app/stream-e"});
  EXPECT_EQ(resumed.removed_resources_size(), 0);
}

// What grpcurl does: list services, then fetch the file declaring a symbol (with its
// dependencies) and build descriptors from it, with no .proto files on the client.
TEST_F(ControlPlaneTest, ReflectionListsAndDescribesServices) {
  using reflection_client::ReflectionRequest;
  using reflection_client::ReflectionResponse;
  grpc::internal::RpcMethod method("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                   grpc::internal::RpcMethod::BIDI_STREAMING, channel_);
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReaderWriter<ReflectionRequest, ReflectionResponse>> stream(
      grpc::internal::ClientReaderWriterFactory<ReflectionRequest, ReflectionResponse>::Create(
          channel_.get(), method, &ctx));

  ReflectionRequest list;
  list.set_list_services("");
  ASSERT_TRUE(stream->Write(list));
  ReflectionResponse listed;
  ASSERT_TRUE(stream->Read(&listed));
  std::set<std::string> services;
  for (const auto& s : listed.list_services_response().service()) services.insert(s.name());
  EXPECT_TRUE(services.count("edgerouter.admin.v1.Admin"));
  EXPECT_TRUE(services.count("edgerouter.discovery.v1.Discovery"));
  EXPECT_TRUE(services.count("grpc.reflection.v1alpha.ServerReflection"));

  google::protobuf::DescriptorPool pool;
  for (const char* symbol : {"edgerouter.admin.v1.Admin", "edgerouter.config.v1.S3StaticWebsiteOpts"}) {
    ReflectionRequest describe;
    describe.set_file_containing_symbol(symbol);
    ASSERT_TRUE(stream->Write(describe));
    ReflectionResponse files;
    ASSERT_TRUE(stream->Read(&files));
    ASSERT_TRUE(files.has_file_descriptor_response()) << files.DebugString();
    // Dependencies may come in any order: add until everything resolves.
    std::vector<google::protobuf::FileDescriptorProto> pending;
    for (const std::string& bytes : files.file_descriptor_response().file_descriptor_proto()) {
      pending.emplace_back().ParseFromString(bytes);
    }
    for (int round = 0; round < 10 && !pending.empty(); ++round) {
      std::vector<google::protobuf::FileDescriptorProto> retry;
      for (auto& f : pending) {
        if (pool.FindFileByName(f.name()) != nullptr) continue;
        bool deps_ready = true;
        for (const auto& dep : f.dependency()) deps_ready &= pool.FindFileByName(dep) != nullptr;
        if (!deps_ready || pool.BuildFile(f) == nullptr) retry.push_back(f);
      }
      pending = std::move(retry);
    }
  }
  const auto* admin_service = pool.FindServiceByName("edgerouter.admin.v1.Admin");
  ASSERT_NE(admin_service, nullptr);
  ASSERT_NE(admin_service->FindMethodByName("PutApp"), nullptr);
  EXPECT_EQ(admin_service->FindMethodByName("PutApp")->input_type()->full_name(),
            "edgerouter.admin.v1.PutAppRequest");
  const auto* s3 = pool.FindMessageTypeByName("edgerouter.config.v1.S3StaticWebsiteOpts");
  ASSERT_NE(s3, nullptr);
  EXPECT_EQ(s3->FindFieldByName("not_found_page")->json_name(), "404_page");
  stream->WritesDone();
}

TEST_F(ControlPlaneTest, StaleExpectedVersionIsRefusedNamingBothVersions) {
  uint64_t v1 = 0;
  ASSERT_TRUE(Append({AppUpdatedLine("x")}, &v1, 0).ok());
  ASSERT_TRUE(Append({AppUpdatedLine("y")}, nullptr, v1).ok());
  grpc::Status stale = Append({AppUpdatedLine("z")}, nullptr, v1);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(stale.error_message(),
            absl::StrCat("version conflict on /t-1/loadbalancer: expected version ", v1,
                         ", stream is at version ", v1 + 1));
}

TEST_F(ControlPlaneTest, BadEventsAndBadAppsAreSkippedWhileEverythingElseServes) {
  ASSERT_TRUE(Append({"2026-03-05T10:00:00.000Z FromTheFuture    {}"}).ok());
  // Logs written by other writers (or forced) may hold such events: they are skipped or
  // rejected alone. AppendStream itself refuses them unless forced.
  const std::string broken_json = "2026-03-05T10:00:00.000Z AppUpdated    {broken json";
  const std::string no_origins =
      R"(2026-03-05T10:00:00.000Z AppUpdated    {"Application":{"id":"no-origins","frontends":[{"kind":"hostname","hostname":"n"}],"backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":[]}}}})";
  grpc::Status refused = Append({AppUpdatedLine("ok-first"), broken_json});
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(refused.error_message(), "line 2: AppUpdated: ")) << refused.error_message();
  ASSERT_TRUE(Append({broken_json}, nullptr, std::nullopt, /*force=*/true).ok());
  ASSERT_TRUE(Append({no_origins}, nullptr, std::nullopt, /*force=*/true).ok());
  ASSERT_TRUE(Append({AppUpdatedLine("after")}).ok());
  admin::v1::ListAppsResponse apps = ListApps();
  std::vector<std::string> ids;
  for (const auto& a : apps.apps()) ids.push_back(a.id());
  EXPECT_EQ(ids, (std::vector<std::string>{"after", "file-a", "file-b"}));
  ASSERT_EQ(apps.rejected_size(), 1);
  EXPECT_EQ(apps.rejected(0).id(), "no-origins");
  EXPECT_EQ(apps.rejected(0).source(), "/t-1/loadbalancer@3");
  EXPECT_EQ(apps.rejected(0).reason(), "backend.reverse_proxy_opts.origins is required");
  const std::string metrics = HttpGet(http_addr_, "/metrics");
  EXPECT_NE(metrics.find("\ner_cp_skipped_events 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\ner_cp_rejected_items 1\n"), std::string::npos) << metrics;
  const std::string log = cp_->Output();
  EXPECT_NE(log.find("at=/t-1/loadbalancer@1 type=FromTheFuture reason=\"unknown event type\""),
            std::string::npos) << log;
}

TEST_F(ControlPlaneTest, KillDuringConcurrentAppendBurstLosesNoAcknowledgedEvent) {
  constexpr int kWriters = 4;
  std::atomic<bool> killed{false};
  absl::Mutex mu;
  std::map<uint64_t, std::string> acked;  // version -> app id
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto stub = admin::v1::Admin::NewStub(
          grpc::CreateChannel(grpc_addr_, grpc::InsecureChannelCredentials()));
      for (int i = 0; !killed.load(); ++i) {
        const std::string id = absl::StrCat("w", w, "-", i);
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        admin::v1::AppendStreamRequest req;
        req.set_stream("/t-1/loadbalancer");
        req.add_lines(AppUpdatedLine(id));
        admin::v1::AppendStreamResponse resp;
        if (!stub->AppendStream(&ctx, req, &resp).ok()) break;
        absl::MutexLock lock(&mu);
        acked[resp.version()] = id;
      }
    });
  }
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(+[](std::map<uint64_t, std::string>* a) { return a->size() >= 60; }, &acked));
  }
  cp_->Signal(SIGKILL);  // mid-burst: writers are in the middle of appends
  killed = true;
  for (auto& t : writers) t.join();

  StartControlPlane();
  grpc::ClientContext ctx;
  admin::v1::ReadStreamRequest req;
  req.set_stream("/t-1/loadbalancer");
  admin::v1::ReadStreamResponse resp;
  ASSERT_TRUE(admin_->ReadStream(&ctx, req, &resp).ok());
  ASSERT_GE(resp.entries_size(), static_cast<int>(acked.size()));
  for (int i = 0; i < resp.entries_size(); ++i) {
    EXPECT_EQ(resp.entries(i).version(), static_cast<uint64_t>(i + 1));  // gapless
    ASSERT_EQ(resp.entries(i).lines_size(), 1);                         // whole batches only
  }
  for (const auto& [version, id] : acked) {
    ASSERT_LE(version, static_cast<uint64_t>(resp.entries_size()));
    EXPECT_NE(resp.entries(version - 1).lines(0).find(absl::StrCat("\"id\":\"", id, "\"")),
              std::string::npos)
        << "acknowledged " << id << " at version " << version << " is missing";
  }
  // The recovered state is served: every acknowledged app is in the snapshot.
  admin::v1::ListAppsResponse apps = ListApps();
  std::set<std::string> served;
  for (const auto& a : apps.apps()) served.insert(a.id());
  for (const auto& [version, id] : acked) EXPECT_TRUE(served.count(id)) << id;
}

TEST_F(ControlPlaneTest, AppsFileChangesArePushed) {
  NodeClient node(channel_, "node-file");
  node.Ack(node.Next());
  const std::string tmp = dir_ + "/applications.json.new";
  std::ofstream(tmp) << absl::StrCat(R"({"apps":[)", AppJson("file-a"), ",", AppJson("file-new"), "]}");
  std::filesystem::rename(tmp, dir_ + "/applications.json");
  DiscoveryResponse delta = node.Next();
  EXPECT_EQ(Names(delta), std::vector<std::string>{"app/file-new"});
  EXPECT_EQ(delta.removed_resources_size(), 1);
  EXPECT_EQ(delta.removed_resources(0), "app/file-b");
}

TEST_F(ControlPlaneTest, SigtermShutsDownCleanly) {
  NodeClient node(channel_, "node-term");
  node.Next();
  int status = cp_->Signal(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(cp_->WaitForLine("msg=\"stopped\"", absl::Seconds(5)).ok());
}

}  // namespace
}  // namespace edgerouter::controlplane
