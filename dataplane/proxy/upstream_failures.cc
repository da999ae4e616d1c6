// A failed attempt at an origin, for DownstreamConnection: whether to retry (and on which
// connection, after what backoff), handing the origin connection back, the 502/504 answer when
// there is no retry, and the origin's connect and response timers.
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "dataplane/backends/reverse_proxy/retry.h"
#include "dataplane/proxy/http_session.h"
#include "dataplane/proxy/worker.h"

namespace edgerouter::proxy {

void DownstreamConnection::EndRetryInFlight() {
  if (!req_.retry_in_flight) return;
  req_.retry_in_flight = false;
  if (req_.origins != nullptr) req_.origins->retries_in_flight--;
}

bool DownstreamConnection::RetryAttempt(backends::AttemptFailure failure) {
  const backends::ProxyTarget* backend = req_.backend;
  if (backend == nullptr || req_.origins == nullptr || state_ != State::kProxying) return false;
  EndRetryInFlight();  // the failed try no longer counts; the next one may
  backends::AttemptFacts facts;
  facts.policy = backend->retry.has_value() ? &*backend->retry : nullptr;
  facts.method = req_.method;
  facts.failure = failure;
  facts.attempts = req_.attempts;
  facts.origins = backend->origins.size();
  facts.response_started = req_.response_head_done;
  facts.body_sent = req_.sent_any_body;
  const bool budgeted = facts.policy != nullptr && failure != backends::AttemptFailure::kStalePooled;
  if (budgeted) {
    facts.retries_in_flight = req_.origins->retries_in_flight;
    facts.active_requests = req_.origins->ActiveRequests();
  }
  const backends::RetryDecision decision = backends::ShouldRetry(facts);
  if (decision == backends::RetryDecision::kBudgetExhausted) worker_->stats().CountRetry(req_.app_id, true);
  if (decision != backends::RetryDecision::kRetry) return false;
  ReleaseUpstream(false);
  const bool fresh = failure == backends::AttemptFailure::kStalePooled ||
                     failure == backends::AttemptFailure::kClosedNoResponse;
  if (!budgeted) {
    ConnectAttempt(fresh);
    return true;
  }
  worker_->stats().CountRetry(req_.app_id, false);
  req_.origins->retries_in_flight++;
  req_.retry_in_flight = true;
  const int64_t delay = backends::RetryBackoffMs(*facts.policy, req_.attempts, req_.origins->NextRandom());
  if (delay <= 0) {
    ConnectAttempt(fresh);
    return true;
  }
  req_.retry_fresh = fresh;  // ConnectAttempt when timer_ fires (OnTimer)
  timer_.kind = kRetryTimer;
  worker_->deadline_timers().ArmAt(&timer_, worker_->loop().now_ms() + delay);
  return true;
}

void DownstreamConnection::ReleaseUpstream(bool reusable) {
  if (upstream_ == nullptr) return;
  EndRetryInFlight();
  UpstreamConnection* conn = upstream_;
  // A connection that refused a write or reported a hang-up is dead, whatever its response said.
  reusable = reusable && !req_.upstream_write_failed && !conn->hung_up;
  upstream_ = nullptr;
  net::TimerList::Disarm(&conn->timer);
  if (req_.origins != nullptr) {
    req_.origins->state(conn->origin_index()).outstanding--;
    conn->requests++;
    req_.origins->Release(conn, reusable);
  } else {
    conn->Close();
  }
}

void DownstreamConnection::UpstreamFailed(int status, absl::string_view reason, bool connect_failure) {
  if (connect_failure && req_.origins != nullptr && req_.origin_index >= 0) {
    req_.origins->ReportFailure(req_.origin_index, worker_->loop().now_ms(), OriginSet::Failure::kConnect);
  }
  ReleaseUpstream(false);
  if (connect_failure && RetryAttempt(backends::AttemptFailure::kConnect)) return;
  EndRetryInFlight();
  req_.upstream_error.assign(reason.data(), reason.size());
  log::Every(log::Level::kWarn, "upstream error", "upstream error")
      .Kv("app", req_.app_id)
      .Kv("origin", req_.upstream_label)
      .Kv("status", status)
      .Kv("reason", req_.upstream_error);
  if (req_.response_head_done) {
    Close();
    return;
  }
  if (!req_.body_done) closing_after_response_ = true;
  SendLocal(status, "text/plain; charset=utf-8", status == 504 ? "Gateway Timeout\n" : "Bad Gateway\n");
  if (!FlushToClient()) return;
  if (out_.empty()) {
    FinishRequest();
    if (state_ == State::kWaitingRequest) ProcessInput();
  } else {
    UpdateClientInterest();
  }
}

void DownstreamConnection::OnUpstreamTimer(UpstreamConnection* conn, int kind) {
  if (conn != upstream_ || state_ == State::kClosed) return;
  if (kind == kConnectTimer) {
    worker_->stats().origin(req_.upstream_label).connect_errors++;
    UpstreamFailed(502, absl::StrCat("connect ", req_.upstream_label, ": timeout"), true);
    return;
  }
  worker_->stats().origin(req_.upstream_label).timeouts++;
  if (!req_.response_head_done && up_in_.empty() && RetryAttempt(backends::AttemptFailure::kTimeout)) return;
  if (!req_.response_head_done) {
    UpstreamFailed(504, "upstream response timeout", false);
  } else {
    Close();
  }
}

}  // namespace edgerouter::proxy
