// The worker-loop AWS client against the real S3 emulator (which verifies SigV4): signed
// PUT/GET, connection reuse, a wrong secret, a refused connection, a silent peer (timeout)
// and the response size bound.
#include "dataplane/aws/aws_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/test_util.h"
#include "gtest/gtest.h"
#include "testenv/aws/aws_emulators.h"

namespace edgerouter::aws {
namespace {

using testing::AwsEmulator;

// Signals the test thread when the call completes on the loop thread.
class Waiter : public AwsCallOwner {
 public:
  void OnAwsCallDone(AwsCall* call) override {
    done = call;
    notification.Notify();
  }
  AwsCall* done = nullptr;
  absl::Notification notification;
};

class AwsClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(absl::StrCat(::testing::TempDir(), "/aws-client-", getpid()));
    auto s3 = AwsEmulator::StartS3(*dir_ + "/s3");
    ASSERT_TRUE(s3.ok()) << s3.status();
    s3_ = s3->release();
  }
  static void TearDownTestSuite() {
    delete s3_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  // The loop runs on its own thread, as on a worker; the client lives and is used there.
  void SetUp() override { thread_ = std::thread([this] { loop_.Run(); }); }
  void TearDown() override {
    OnLoop([this] { client_.reset(); });
    loop_.Stop();
    thread_.join();
  }
  void OnLoop(std::function<void()> fn) {
    absl::Notification done;
    loop_.Post([&] {
      fn();
      done.Notify();
    });
    done.WaitForNotification();
  }
  AwsClient& NewClient(AwsClientOptions options = {}) {
    OnLoop([&] { client_ = std::make_unique<AwsClient>(&loop_, options); });
    return *client_;
  }
  // One call; the result stays valid until Release (which the tests do on the loop too).
  AwsCall* Run(AwsClient& client, const SignedRequest& r, std::string body = "", size_t max = 1 << 20) {
    Waiter w;
    OnLoop([&] { client.Start(r, std::move(body), max, &w); });
    w.notification.WaitForNotification();
    return w.done;
  }
  void Release(AwsClient& client, AwsCall* call) {
    OnLoop([&] { client.Release(call); });
  }
  SignedRequest S3(const std::string& method, const std::string& key, const std::string& body = "",
                   const std::string& secret = testing::kS3rverSecret) {
    Endpoints e;
    e.s3 = s3_->endpoint();
    return SignAwsRequest(Service::kS3, "us-east-1", method, S3Target(e, "client-test", "us-east-1", key), {},
                          body.empty() ? "" : Sha256Hex(body),
                          Credentials{testing::kS3rverKey, secret, ""}, absl::Now());
  }

  net::EventLoop loop_;
  std::thread thread_;
  std::unique_ptr<AwsClient> client_;
  static AwsEmulator* s3_;
  static std::string* dir_;
};
AwsEmulator* AwsClientTest::s3_ = nullptr;
std::string* AwsClientTest::dir_ = nullptr;

TEST_F(AwsClientTest, SignedPutThenGetReusesTheConnection) {
  AwsClient& client = NewClient();
  AwsCall* c = Run(client, S3("PUT", ""));  // the bucket
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, 200) << c->error << c->body;
  Release(client, c);
  c = Run(client, S3("PUT", "dir/hello world.txt", "hello"), "hello");
  EXPECT_EQ(c->status, 200) << c->body;
  Release(client, c);
  c = Run(client, S3("GET", "dir/hello world.txt"));
  EXPECT_EQ(c->status, 200) << c->body;
  EXPECT_EQ(c->body, "hello");
  ASSERT_NE(c->Header("etag"), nullptr);
  EXPECT_EQ(*c->Header("etag"), "\"5d41402abc4b2a76b9719d911017c592\"");  // md5("hello")
  Release(client, c);
  EXPECT_EQ(client.connections_opened(), 1u);  // keep-alive across the three calls
  EXPECT_EQ(client.in_flight(), 0);
}

TEST_F(AwsClientTest, WrongSecretIsRefusedByTheEmulator) {
  AwsClient& client = NewClient();
  AwsCall* c = Run(client, S3("GET", "dir/hello world.txt", "", "not-the-secret"));
  EXPECT_EQ(c->status, 403);
  EXPECT_EQ(XmlErrorCode(c->body), "SignatureDoesNotMatch") << c->body;
  Release(client, c);
}

TEST_F(AwsClientTest, RefusedConnectionIsATransportError) {
  AwsClient& client = NewClient();
  Endpoints e;
  e.s3 = absl::StrCat("http://127.0.0.1:", testing::PickFreeLoopbackPort());
  AwsCall* c = Run(client, SignAwsRequest(Service::kS3, "us-east-1", "GET", S3Target(e, "b", "us-east-1", "k"), {},
                                          "", Credentials{"a", "b", ""}, absl::Now()));
  EXPECT_EQ(c->status, 0);
  EXPECT_FALSE(c->error.empty());
  EXPECT_FALSE(c->timed_out);
  Release(client, c);
}

TEST_F(AwsClientTest, SilentPeerTimesOut) {
  // A listening socket nobody accepts from: the connect succeeds, no response ever comes.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  AwsClientOptions options;
  options.total_timeout_ms = 300;
  AwsClient& client = NewClient(options);
  Endpoints e;
  e.s3 = absl::StrCat("http://127.0.0.1:", ntohs(addr.sin_port));
  const absl::Time start = absl::Now();
  AwsCall* c = Run(client, SignAwsRequest(Service::kS3, "us-east-1", "GET", S3Target(e, "b", "us-east-1", "k"), {},
                                          "", Credentials{"a", "b", ""}, absl::Now()));
  EXPECT_TRUE(c->timed_out);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  Release(client, c);
  close(fd);
}

TEST_F(AwsClientTest, ReleasedCallNeverCallsBack) {
  AwsClient& client = NewClient();
  // A silent peer keeps the first call running until it is released.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  Endpoints silent;
  silent.s3 = absl::StrCat("http://127.0.0.1:", ntohs(addr.sin_port));
  Waiter never;
  OnLoop([&] {
    AwsCall* call = client.Start(SignAwsRequest(Service::kS3, "us-east-1", "GET", S3Target(silent, "b", "us-east-1", "k"),
                                                {}, "", Credentials{"a", "b", ""}, absl::Now()),
                                 "", 1000, &never);
    EXPECT_EQ(client.in_flight(), 1);
    client.Release(call);  // the client went away
    EXPECT_EQ(client.in_flight(), 0);
  });
  // The pool (and the loop) carry on: a later call completes, the released one stays silent.
  AwsCall* c = Run(client, S3("GET", "no-such-key"));
  EXPECT_EQ(c->status, 404);
  Release(client, c);
  EXPECT_EQ(never.done, nullptr);
  close(fd);
}

TEST_F(AwsClientTest, BodyLargerThanTheBoundIsAborted) {
  AwsClient& client = NewClient();
  AwsCall* c = Run(client, S3("PUT", ""));
  Release(client, c);
  const std::string big(100000, 'x');
  c = Run(client, S3("PUT", "big", big), big);
  EXPECT_EQ(c->status, 200);
  Release(client, c);
  c = Run(client, S3("GET", "big"), "", 1000);
  EXPECT_EQ(c->status, 0);
  EXPECT_TRUE(c->too_large);
  Release(client, c);
  // The pool's call is reusable afterwards.
  c = Run(client, S3("GET", "big"));
  EXPECT_EQ(c->status, 200);
  EXPECT_EQ(c->body.size(), big.size());
  Release(client, c);
}

}  // namespace
}  // namespace edgerouter::aws
