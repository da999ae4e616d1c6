#include "dataplane/backends/reverse_proxy/reverse_proxy.h"

#include <algorithm>
#include <memory>

#include "absl/hash/hash.h"
#include "absl/time/clock.h"
#include "common/json_codec.h"
#include "dataplane/backends/reverse_proxy/proxy_target.h"
#include "dataplane/backends/turbocharger/turbocharger.h"
#include "dataplane/turbocharger/runtime.h"
#include "dataplane/proxy/upstream.h"

namespace edgerouter::backends {
namespace {

class ReverseProxy : public pipeline::Terminal {
 public:
  explicit ReverseProxy(ProxyTarget target) : target_(std::move(target)) {}
  absl::string_view kind() const override { return "reverse_proxy"; }
  void Handle(pipeline::Exchange& exchange, const std::string& path) const override {
    // Turbocharger middleware (edgerouter §9.6): an attached prefix is served from the store,
    // except the one request per trust window that goes to the origin to re-validate.
    if (target_.turbocharger != nullptr && target_.turbocharger->attached()) {
      std::optional<turbocharger::Attachment::Match> match = target_.turbocharger->Lookup(path, absl::Now());
      if (match.has_value() && !match->revalidate) return ServeFromManifest(exchange, match->manifest_id, match->path);
    }
    exchange.StartProxy(target_, path);
  }

 private:
  const ProxyTarget target_;
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
  if (turbocharger::Runtime::Get() != nullptr) t.turbocharger = std::make_shared<turbocharger::SharedAttachment>();
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
  return chain->SetTerminal(std::make_unique<ReverseProxy>(std::move(t)));
}

}  // namespace edgerouter::backends
