#include "dataplane/backends/aws_lambda/aws_lambda.h"

#include <functional>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "dataplane/aws/lambda_backend.h"
#include "dataplane/backends/turbocharger/turbocharger.h"
#include "dataplane/turbocharger/runtime.h"

namespace edgerouter::backends {
namespace {

// The turbocharger middleware's re-validation: the function invoked with `HEAD <prefix>`, on
// the worker's AWS client (asynchronous on its loop: the worker never waits, no thread needed;
// the client's --aws_timeout_ms bounds it). Owns itself until the answer.
class LambdaRevalidation : public aws::AwsResponder {
 public:
  static void Start(aws::AwsWorkerContext& aws, const aws::LambdaConfig& function, turbocharger::AppStats* stats,
                    const std::string& prefix, std::string host) {
    auto* self = new LambdaRevalidation(function, stats);
    aws::LambdaRequest& request = self->exchange_.request();
    request.method = "HEAD";
    request.path = prefix;
    request.headers = {{"Host", host}, {"User-Agent", "edgerouter-turbocharger"}};
    request.host = std::move(host);
    request.source_ip = "127.0.0.1";
    request.protocol = "HTTP/1.1";
    request.request_id = absl::StrCat("turbocharger-", absl::ToUnixNanos(absl::Now()));
    request.time = absl::Now();
    self->exchange_.Invoke(&aws, self->function_, self);  // may answer (and delete self) at once
  }

  void OnAwsResponse(const aws::AwsResponse& r) override {
    FinishRevalidation(function_.app_id, stats_, *function_.turbocharger, r.status, r.Field("turbocharger"), "");
    delete this;  // the exchange answers last: nothing of it runs after this returns
  }

 private:
  LambdaRevalidation(aws::LambdaConfig function, turbocharger::AppStats* stats)
      : function_(std::move(function)), stats_(stats) {}
  const aws::LambdaConfig function_;
  turbocharger::AppStats* const stats_;
  aws::LambdaExchange exchange_;
};

class AwsLambda : public pipeline::Terminal {
 public:
  explicit AwsLambda(aws::LambdaConfig function)
      : function_(std::move(function)),
        tc_stats_(function_.turbocharger != nullptr ? TurbochargerAppStats(function_.app_id) : nullptr) {}
  absl::string_view kind() const override { return "aws_lambda"; }
  void Handle(pipeline::Exchange& exchange, const std::string& path) const override {
    // Turbocharger middleware, as on reverse_proxy; the re-validating HEAD is an invocation.
    if (function_.turbocharger != nullptr && function_.turbocharger->attached()) {
      std::optional<turbocharger::Attachment::Match> match = function_.turbocharger->Lookup(path, absl::Now());
      if (match.has_value()) {
        std::function<void(aws::AwsWorkerContext&)> revalidate;
        if (match->revalidate) {
          revalidate = [this, prefix = match->prefix,
                        host = std::string(exchange.request_header("Host").value_or(""))](aws::AwsWorkerContext& aws) {
            LambdaRevalidation::Start(aws, function_, tc_stats_, prefix, host);
          };
        }
        return ServeFromManifest(exchange, tc_stats_, match->manifest_id, match->path, std::move(revalidate));
      }
    }
    exchange.StartLambda(function_, path);
  }

 private:
  const aws::LambdaConfig function_;
  turbocharger::AppStats* const tc_stats_;  // process lifetime (null without TURBOCHARGER_STORE)
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
    function.turbocharger = std::make_shared<turbocharger::SharedAttachment>(turbocharger::Runtime::Get()->trust());
  }
  return chain->SetTerminal(std::make_unique<AwsLambda>(std::move(function)));
}

}  // namespace edgerouter::backends
