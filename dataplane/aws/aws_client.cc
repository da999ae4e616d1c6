#include "dataplane/aws/aws_client.h"

#include <curl/curl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace edgerouter::aws {

// One per socket curl asks us to watch; its epoll registration points here.
class AwsClient::SocketWatch : public net::IoHandler {
 public:
  SocketWatch(AwsClient* client, int fd) : client_(client), fd_(fd) {}
  void OnIo(uint32_t events) override {
    if (dead) return;
    int flags = 0;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (events & EPOLLERR) flags |= CURL_CSELECT_ERR;
    client_->Action(fd_, flags);
  }
  uint32_t events = 0;
  bool dead = false;

 private:
  AwsClient* client_;
  int fd_;
};

// The timerfd standing in for curl's single timeout.
class AwsClient::TimerWatch : public net::IoHandler {
 public:
  explicit TimerWatch(AwsClient* client) : client_(client) {}
  void OnIo(uint32_t) override {
    uint64_t expirations;
    (void)!read(client_->timer_fd_, &expirations, sizeof(expirations));
    client_->timer_deadline_ms_ = -1;
    client_->Action(CURL_SOCKET_TIMEOUT, 0);
  }

 private:
  AwsClient* client_;
};

const std::string* AwsCall::Header(absl::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

void AwsCall::Reset() {
  status = 0;
  headers.clear();
  body.clear();
  error.clear();
  timed_out = false;
  too_large = false;
  owner_ = nullptr;
  request_body_.clear();
  if (slist_ != nullptr) curl_slist_free_all(slist_);
  slist_ = nullptr;
}

AwsClient::AwsClient(net::EventLoop* loop, const AwsClientOptions& options) : loop_(loop), options_(options) {
  static const CURLcode global_init = curl_global_init(CURL_GLOBAL_DEFAULT);  // once, thread-safe
  (void)global_init;
  multi_ = curl_multi_init();
  CURLM* m = static_cast<CURLM*>(multi_);
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &AwsClient::OnSocket);
  curl_multi_setopt(m, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &AwsClient::OnTimer);
  curl_multi_setopt(m, CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, options_.max_cached_connections);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  timer_watch_ = new TimerWatch(this);
  loop_->Add(timer_fd_, EPOLLIN, timer_watch_);
  hook_ = loop_->AddIterationHook([this] { EndOfIteration(); });
}

AwsClient::~AwsClient() {
  CURLM* m = static_cast<CURLM*>(multi_);
  for (AwsCall* call : all_) {
    if (call->running_) curl_multi_remove_handle(m, call->easy_);
    curl_easy_cleanup(call->easy_);
    call->Reset();
    delete call;
  }
  curl_multi_cleanup(m);  // closes cached connections (socket callbacks mark watches dead)
  loop_->Remove(timer_fd_);
  close(timer_fd_);
  delete timer_watch_;
  EndOfIteration();
  loop_->RemoveIterationHook(hook_);  // the loop may outlive us (tests; AWS contexts are per worker)
}

int AwsClient::OnSocket(void*, int fd, int what, void* userp, void* socketp) {
  auto* self = static_cast<AwsClient*>(userp);
  auto* watch = static_cast<SocketWatch*>(socketp);
  CURLM* m = static_cast<CURLM*>(self->multi_);
  if (what == CURL_POLL_REMOVE) {
    if (watch != nullptr) {
      self->loop_->Remove(fd);
      watch->dead = true;
      self->dead_watches_.push_back(watch);
      curl_multi_assign(m, fd, nullptr);
    }
    return 0;
  }
  uint32_t events = EPOLLRDHUP;
  if (what & CURL_POLL_IN) events |= EPOLLIN;
  if (what & CURL_POLL_OUT) events |= EPOLLOUT;
  if (watch == nullptr) {
    watch = new SocketWatch(self, fd);
    watch->events = events;
    self->loop_->Add(fd, events, watch);
    curl_multi_assign(m, fd, watch);
  } else if (watch->events != events) {
    watch->events = events;
    self->loop_->Modify(fd, events, watch);
  }
  return 0;
}

int AwsClient::OnTimer(void*, long timeout_ms, void* userp) {
  auto* self = static_cast<AwsClient*>(userp);
  // curl moves its timeout several times per transfer. Waking curl early is harmless (it
  // re-arms what it still needs), so an armed timer that fires no later than asked is kept
  // and "no timeout" (-1) leaves it be: fewer timerfd_settime calls per request.
  const int64_t now = self->loop_->now_ms();
  if (timeout_ms < 0) return 0;
  const int64_t deadline = now + timeout_ms;
  if (self->timer_deadline_ms_ >= now && self->timer_deadline_ms_ <= deadline) return 0;
  itimerspec spec{};
  // 0 means "now": the smallest non-zero expiry (a zero it_value would disarm the timerfd).
  spec.it_value.tv_sec = timeout_ms / 1000;
  spec.it_value.tv_nsec = timeout_ms == 0 ? 1 : (timeout_ms % 1000) * 1000000;
  timerfd_settime(self->timer_fd_, 0, &spec, nullptr);
  self->timer_deadline_ms_ = deadline;
  return 0;
}

size_t AwsClient::OnHeader(char* data, size_t size, size_t n, void* userp) {
  auto* call = static_cast<AwsCall*>(userp);
  absl::string_view line(data, size * n);
  if (absl::StartsWith(line, "HTTP/")) {
    call->headers.clear();  // a new response head (after 100 Continue, or a redirect)
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    call->headers.emplace_back(absl::AsciiStrToLower(line.substr(0, colon)),
                               std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return size * n;
}

size_t AwsClient::OnBody(char* data, size_t size, size_t n, void* userp) {
  auto* call = static_cast<AwsCall*>(userp);
  if (call->body.size() + size * n > call->max_body_) {
    call->too_large = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  call->body.append(data, size * n);
  return size * n;
}

AwsCall* AwsClient::Start(const SignedRequest& request, std::string body, size_t max_body, AwsCallOwner* owner) {
  AwsCall* call = free_;
  if (call != nullptr) {
    free_ = call->next_free_;
  } else {
    call = new AwsCall();
    call->easy_ = curl_easy_init();
    all_.push_back(call);
  }
  CURL* easy = static_cast<CURL*>(call->easy_);
  call->owner_ = owner;
  call->max_body_ = max_body;
  call->request_body_ = std::move(body);
  curl_easy_reset(easy);
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, call);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout_ms));
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);  // send exactly the path that was signed
  if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &AwsClient::OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, call);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &AwsClient::OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, call);
  if (request.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET" || !call->request_body_.empty()) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call->request_body_.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call->request_body_.size()));
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  // The signed headers exactly; no Expect: 100-continue round trip, no default Accept.
  bool has_content_type = false;
  for (const std::string& line : request.header_lines) {
    call->slist_ = curl_slist_append(call->slist_, line.c_str());
    has_content_type |= absl::StartsWithIgnoreCase(line, "content-type:");
  }
  call->slist_ = curl_slist_append(call->slist_, "Expect:");
  call->slist_ = curl_slist_append(call->slist_, "Accept:");
  // Not curl's form-encoding default for bodies.
  if (!has_content_type) call->slist_ = curl_slist_append(call->slist_, "Content-Type:");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, call->slist_);
  call->running_ = true;
  ++in_flight_;
  ++calls_;
  curl_multi_add_handle(static_cast<CURLM*>(multi_), easy);
  return call;
}

void AwsClient::Release(AwsCall* call) {
  if (call->running_) {
    curl_multi_remove_handle(static_cast<CURLM*>(multi_), call->easy_);
    call->running_ = false;
    --in_flight_;
  }
  call->Reset();
  call->next_free_ = free_;
  free_ = call;
}

void AwsClient::Action(int fd, int flags) {
  int running = 0;
  curl_multi_socket_action(static_cast<CURLM*>(multi_), fd, flags, &running);
  ProcessDone();
}

void AwsClient::ProcessDone() {
  CURLM* m = static_cast<CURLM*>(multi_);
  int pending = 0;
  while (CURLMsg* msg = curl_multi_info_read(m, &pending)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    const CURLcode result = msg->data.result;
    AwsCall* call = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&call));
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    long connects = 0;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    connections_opened_ += connects;
    curl_multi_remove_handle(m, easy);
    call->running_ = false;
    --in_flight_;
    if (result == CURLE_OK) {
      call->status = static_cast<int>(code);
    } else {
      call->status = 0;
      call->timed_out = result == CURLE_OPERATION_TIMEDOUT;
      ++transport_errors_;
      timeouts_ += call->timed_out;
      call->error = call->too_large ? "response body too large" : curl_easy_strerror(result);
    }
    call->owner_->OnAwsCallDone(call);
  }
}

void AwsClient::EndOfIteration() {
  for (SocketWatch* w : dead_watches_) delete w;
  dead_watches_.clear();
}

}  // namespace edgerouter::aws
