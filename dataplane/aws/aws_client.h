// HTTP client for AWS calls on a worker's event loop: one libcurl multi handle per worker,
// its sockets registered with the worker's epoll (CURLMOPT_SOCKETFUNCTION) and its timeout on
// a timerfd in the same loop (CURLMOPT_TIMERFUNCTION). So an S3 GET or a Lambda invoke never
// blocks the worker, connections to the endpoint are reused across requests (the multi
// handle's connection cache), and no lock or thread hand-off is involved.
// Calls come from a free list and keep their buffers, so steady traffic does not allocate.
#ifndef EDGEROUTER_DATAPLANE_AWS_AWS_CLIENT_H_
#define EDGEROUTER_DATAPLANE_AWS_AWS_CLIENT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/aws/aws_request.h"
#include "dataplane/net/event_loop.h"

struct curl_slist;

namespace edgerouter::aws {

struct AwsClientOptions {
  int64_t connect_timeout_ms = 3000;
  int64_t total_timeout_ms = 30000;  // whole call; expiry -> AwsCall::timed_out
  long max_cached_connections = 32;  // per worker
  std::string ca_file;               // extra trust anchors for https endpoints ("" = system)
};

class AwsCall;

class AwsCallOwner {
 public:
  virtual ~AwsCallOwner() = default;
  // The call finished (response, error or timeout). Runs on the loop thread, never from
  // inside Start(). The owner must Release() the call (now or later).
  virtual void OnAwsCallDone(AwsCall* call) = 0;
};

// One request/response. Response fields are valid after OnAwsCallDone until Release().
class AwsCall {
 public:
  int status = 0;  // HTTP status; 0 when no response (see error)
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string body;
  std::string error;       // transport error text (status 0), or "" on a response
  bool timed_out = false;  // connect or total timeout
  bool too_large = false;  // body exceeded max_body: aborted
  const std::string* Header(absl::string_view lower_name) const;

 private:
  friend class AwsClient;
  void Reset();
  AwsCallOwner* owner_ = nullptr;
  void* easy_ = nullptr;
  ::curl_slist* slist_ = nullptr;
  std::string request_body_;
  size_t max_body_ = 0;
  bool running_ = false;
  AwsCall* next_free_ = nullptr;
};

class AwsClient {
 public:
  AwsClient(net::EventLoop* loop, const AwsClientOptions& options);
  ~AwsClient();
  AwsClient(const AwsClient&) = delete;
  AwsClient& operator=(const AwsClient&) = delete;

  // Sends `request` with `body`; responses larger than `max_body` bytes are aborted.
  AwsCall* Start(const SignedRequest& request, std::string body, size_t max_body, AwsCallOwner* owner);
  // Returns the call to the pool; cancels it first if it still runs (no callback then).
  void Release(AwsCall* call);

  int in_flight() const { return in_flight_; }
  uint64_t connections_opened() const { return connections_opened_; }
  uint64_t calls() const { return calls_; }
  uint64_t transport_errors() const { return transport_errors_; }  // timeouts included
  uint64_t timeouts() const { return timeouts_; }

 private:
  class SocketWatch;
  class TimerWatch;
  static int OnSocket(void* easy, int fd, int what, void* userp, void* socketp);
  static int OnTimer(void* multi, long timeout_ms, void* userp);
  static size_t OnHeader(char* data, size_t size, size_t n, void* userp);
  static size_t OnBody(char* data, size_t size, size_t n, void* userp);
  void Action(int fd, int flags);  // curl_multi_socket_action + completion handling
  void ProcessDone();
  size_t hook_ = 0;
  void EndOfIteration();

  net::EventLoop* loop_;
  AwsClientOptions options_;
  void* multi_ = nullptr;
  int timer_fd_ = -1;
  int64_t timer_deadline_ms_ = -1;  // loop time the timerfd fires at; -1: not armed
  TimerWatch* timer_watch_ = nullptr;
  AwsCall* free_ = nullptr;
  std::vector<AwsCall*> all_;
  std::vector<SocketWatch*> dead_watches_;  // freed after the loop iteration (epoll may still name them)
  int in_flight_ = 0;
  uint64_t connections_opened_ = 0;
  uint64_t calls_ = 0, transport_errors_ = 0, timeouts_ = 0;
  bool in_action_ = false;
};

}  // namespace edgerouter::aws

#endif  // EDGEROUTER_DATAPLANE_AWS_AWS_CLIENT_H_
