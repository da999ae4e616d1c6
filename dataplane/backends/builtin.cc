#include "dataplane/backends/builtin.h"

#include "dataplane/backends/auth_sso/auth_sso.h"
#include "dataplane/backends/auth_v0/auth_v0.h"
#include "dataplane/backends/aws_lambda/aws_lambda.h"
#include "dataplane/backends/edgerouter_admin/edgerouter_admin.h"
#include "dataplane/backends/ip_rules/ip_rules.h"
#include "dataplane/backends/prom_metrics/prom_metrics.h"
#include "dataplane/backends/redirect/redirect.h"
#include "dataplane/backends/reverse_proxy/reverse_proxy.h"
#include "dataplane/backends/s3_static_website/s3_static_website.h"
#include "dataplane/backends/turbocharger/turbocharger.h"
#include "dataplane/backends/unsupported/unsupported.h"

namespace edgerouter::backends {

// An explicit list rather than static self-registration: nothing depends on link order or
// alwayslink, and what the data plane serves is readable in one place. Kinds not listed
// (none today) get the unsupported terminal: 502.
const pipeline::BackendRegistry& BuiltinBackends() {
  static const pipeline::BackendRegistry* registry = [] {
    auto* r = new pipeline::BackendRegistry(CompileUnsupported);
    r->Register("reverse_proxy", CompileReverseProxy);
    r->Register("redirect", CompileRedirect);
    r->Register("auth_v0", CompileAuthV0);
    r->Register("auth_sso", CompileAuthSso);
    r->Register("prom_metrics", CompilePromMetrics);
    r->Register("edgerouter_admin", CompileEdgerouterAdmin);
    r->Register("s3_static_website", CompileS3StaticWebsite);
    r->Register("aws_lambda", CompileAwsLambda);
    r->Register("turbocharger", CompileTurbocharger);
    return r;
  }();
  return *registry;
}

absl::StatusOr<pipeline::Chain> CompileAppChain(const std::string& app_id, const config::v1::Backend& backend) {
  // IP rules come first: after routing and the HTTPS redirect, before any backend's own stage.
  pipeline::ChainBuilder builder;
  builder.AddAccess(MakeIpRulesAccess(app_id));
  return BuiltinBackends().CompileChain(app_id, backend, std::move(builder));
}

}  // namespace edgerouter::backends
