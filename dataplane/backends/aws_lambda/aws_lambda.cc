#include "dataplane/backends/aws_lambda/aws_lambda.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "dataplane/aws/lambda_backend.h"
#include "dataplane/backends/turbocharger/turbocharger.h"
#include "dataplane/turbocharger/runtime.h"

namespace edgerouter::backends {
namespace {

class AwsLambda : public pipeline::Terminal {
 public:
  explicit AwsLambda(aws::LambdaConfig function) : function_(std::move(function)) {}
  absl::string_view kind() const override { return "aws_lambda"; }
  void Handle(pipeline::Exchange& exchange, const std::string& path) const override {
    // Turbocharger middleware, as on reverse_proxy.
    if (function_.turbocharger != nullptr && function_.turbocharger->attached()) {
      std::optional<turbocharger::Attachment::Match> match = function_.turbocharger->Lookup(path, absl::Now());
      if (match.has_value() && !match->revalidate) return ServeFromManifest(exchange, match->manifest_id, match->path);
    }
    exchange.StartLambda(function_, path);
  }

 private:
  const aws::LambdaConfig function_;
};

}  // namespace

absl::Status CompileAwsLambda(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                              pipeline::ChainBuilder* chain) {
  if (!backend.has_aws_lambda_opts()) return context.Required("aws_lambda_opts");
  const auto& o = backend.aws_lambda_opts();
  const pipeline::CompileContext opts = context.Inner("aws_lambda_opts");
  if (o.function_name().empty()) return opts.Required("function_name");
  if (o.region_id().empty()) return opts.Required("region_id");
  const std::string& version = o.payload_format_version();
  if (!version.empty() && version != "1.0" && version != "2.0") {
    return opts.Error("payload_format_version", absl::StrCat("unrecognized PayloadFormatVersion: ", version));
  }
  aws::LambdaConfig function{context.app_id, o.function_name(), o.region_id(), version == "2.0"};
  if (turbocharger::Runtime::Get() != nullptr) {
    function.turbocharger = std::make_shared<turbocharger::SharedAttachment>();
  }
  return chain->SetTerminal(std::make_unique<AwsLambda>(std::move(function)));
}

}  // namespace edgerouter::backends
