#include "dataplane/backends/reverse_proxy/reverse_proxy.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/json_codec.h"
#include "dataplane/backends/reverse_proxy/health_check.h"
#include "dataplane/backends/reverse_proxy/proxy_target.h"
#include "dataplane/backends/turbocharger/turbocharger.h"
#include "dataplane/turbocharger/runtime.h"
#include "dataplane/proxy/upstream.h"

namespace edgerouter::backends {
namespace {

constexpr int64_t kRevalidationTimeoutMs = 5000;  // then detached, as an unreachable origin

class ReverseProxy : public pipeline::Terminal {
 public:
  ReverseProxy(std::string app_id, ProxyTarget target)
      : app_id_(std::move(app_id)),
        target_(std::move(target)),
        tc_stats_(target_.turbocharger != nullptr ? TurbochargerAppStats(app_id_) : nullptr) {}
  absl::string_view kind() const override { return "reverse_proxy"; }
  void Handle(pipeline::Exchange& exchange, const std::string& path) const override {
    // Turbocharger middleware (edgerouter §9.6): an attached prefix is served from the store;
    // once per trust window a HEAD to the origin re-validates it, off the request path.
    if (target_.turbocharger != nullptr && target_.turbocharger->attached()) {
      std::optional<turbocharger::Attachment::Match> match = target_.turbocharger->Lookup(path, absl::Now());
      if (match.has_value()) {
        if (match->revalidate) StartRevalidation(exchange, match->prefix);
        return ServeFromManifest(exchange, tc_stats_, match->manifest_id, match->path);
      }
    }
    exchange.StartProxy(target_, path);
  }
  int unhealthy_origins() const override {
    if (target_.health.empty()) return -1;
    int n = 0;
    for (const std::shared_ptr<OriginHealth>& h : target_.health) n += !h->healthy.load(std::memory_order_relaxed);
    return n;
  }

 private:
  // `HEAD <prefix>` (edgerouter's ping URL: the request's host and the prefix) to one origin the
  // health checks do not rule out, on a thread of its own: the probe blocks up to its timeout,
  // and the attachment lets one run per trust window.
  void StartRevalidation(const pipeline::Exchange& exchange, const std::string& prefix) const {
    const size_t n = target_.origins.size();
    size_t pick = next_origin_.fetch_add(1, std::memory_order_relaxed) % n;
    for (size_t i = 0; i < n; ++i) {
      const size_t candidate = (pick + i) % n;
      if (target_.health.empty() || target_.health[candidate]->healthy.load(std::memory_order_relaxed)) {
        pick = candidate;
        break;
      }
    }
    OriginProbe probe;
    probe.method = "HEAD";
    probe.path = prefix;
    if (target_.pass_host_header) probe.host = std::string(exchange.request_header("Host").value_or(""));
    probe.tls_server_name = target_.tls_server_name;
    probe.user_agent = "edgerouter-turbocharger";
    probe.want_header = "turbocharger";
    probe.timeout_ms = kRevalidationTimeoutMs;
    std::thread([app_id = app_id_, stats = tc_stats_, attachment = target_.turbocharger, origin = target_.origins[pick],
                 probe = std::move(probe), tls = target_.client_tls] {
      absl::StatusOr<OriginProbeResult> r = SendOriginProbe(origin, probe, tls);
      if (!r.ok()) return FinishRevalidation(app_id, stats, *attachment, 0, std::nullopt, r.status().message());
      FinishRevalidation(app_id, stats, *attachment, r->status, r->header, "");
    }).detach();
  }

  const std::string app_id_;
  const ProxyTarget target_;
  turbocharger::AppStats* const tc_stats_;  // process lifetime (null without TURBOCHARGER_STORE)
  mutable std::atomic<uint32_t> next_origin_{0};  // re-validations rotate over the origins
};

}  // namespace

absl::Status CompileReverseProxy(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                                 pipeline::ChainBuilder* chain) {
  if (!backend.has_reverse_proxy_opts()) return context.Required("reverse_proxy_opts");
  const auto& o = backend.reverse_proxy_opts();
  if (o.origins().empty()) return context.Inner("reverse_proxy_opts").Required("origins");
  ProxyTarget t;
  t.pool_key = ToCompactJson(backend);
  t.pool_id = absl::Hash<std::string>()(t.pool_key);
  if (turbocharger::Runtime* runtime = turbocharger::Runtime::Get()) {
    t.turbocharger = std::make_shared<turbocharger::SharedAttachment>(runtime->trust());
  }
  for (const std::string& url : o.origins()) t.origins.push_back(ParseOrigin(url));
  t.pass_host_header = o.pass_host_header();
  t.index_document = o.index_document();
  t.remove_query_string = o.remove_query_string();
  t.headers_to_origin.assign(o.headers_to_origin().begin(), o.headers_to_origin().end());
  std::sort(t.headers_to_origin.begin(), t.headers_to_origin.end());
  t.tls_insecure_skip_verify = o.tls_config().insecure_skip_verify();
  t.tls_server_name = o.tls_config().server_name();
  // Trust stores are files: read here on the compile thread, not by a worker mid-request.
  if (std::any_of(t.origins.begin(), t.origins.end(), [](const Origin& origin) { return origin.tls; })) {
    absl::StatusOr<SSL_CTX*> ctx = proxy::UpstreamTlsContext(!t.tls_insecure_skip_verify);
    if (ctx.ok()) {
      t.client_tls = *ctx;
    } else {
      t.client_tls_error = std::string(ctx.status().message());
    }
  }
  if (!o.origin_weights().empty()) {
    for (const std::string& url : o.origins()) {
      auto it = o.origin_weights().find(url);
      t.weights.push_back(it == o.origin_weights().end() ? 1 : it->second);
      t.total_weight += t.weights.back();
    }
    if (t.total_weight == 0) return context.Inner("reverse_proxy_opts").Error("origin_weights", "every origin has weight 0");
  }
  if (o.has_sticky()) {
    t.sticky = CompileSticky(o.sticky());
    for (const Origin& origin : t.origins) t.sticky_ids.push_back(OriginStickyId(origin.url));
  }
  if (context.policies->has_retry()) {
    absl::StatusOr<RetryConfig> retry = CompileRetry(context.policies->retry());
    if (!retry.ok()) return absl::InvalidArgumentError(absl::StrCat("app ", context.app_id, ": ", retry.status().message()));
    t.retry = *retry;
  }
  // Last: starts (or joins) the checkers, so a config that fails above starts none.
  if (o.has_health_check()) {
    absl::StatusOr<HealthCheckConfig> check = CompileHealthCheck(o.health_check());
    if (!check.ok()) {
      return context.Inner("reverse_proxy_opts").Error("", check.status().message());
    }
    check->tls_server_name = t.tls_server_name;
    for (const Origin& origin : t.origins) t.health.push_back(WatchOrigin(origin, *check, t.client_tls));
  }
  return chain->SetTerminal(std::make_unique<ReverseProxy>(context.app_id, std::move(t)));
}

}  // namespace edgerouter::backends
