#include "dataplane/aws/lambda_backend.h"


#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "nlohmann/json.hpp"

namespace edgerouter::aws {
namespace {

// errorType of a function error payload ({"errorMessage","errorType","trace"}), or of an
// Invoke API error ({"Type"|"__type", "Message"}).
std::string ErrorType(absl::string_view payload) {
  nlohmann::json j = nlohmann::json::parse(payload.begin(), payload.end(), nullptr, false);
  if (!j.is_object()) return "";
  for (const char* key : {"errorType", "__type", "Type"}) {
    if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  }
  return "";
}

}  // namespace

void LambdaExchange::Invoke(AwsWorkerContext* ctx, const LambdaConfig& config, AwsResponder* responder) {
  ctx_ = ctx;
  config_ = &config;
  responder_ = responder;
  const AwsSettings& settings = ctx->settings();
  if (!settings.credentials_error.empty()) {
    Fail(502, absl::StrCat("no AWS credentials: ", settings.credentials_error));
    return;
  }
  std::string event = BuildLambdaEvent(request_, config.v2);
  SignedRequest signed_request = SignAwsRequest(
      Service::kLambda, config.region, "POST", LambdaInvokeTarget(settings.endpoints, config.region, config.function_name),
      {{"Content-Type", "application/json"}, {"X-Amz-Invocation-Type", "RequestResponse"}}, Sha256Hex(event),
      settings.credentials, absl::Now());
  call_ = ctx->client().Start(signed_request, std::move(event), settings.lambda_max_response_bytes, this);
}

void LambdaExchange::Cancel() {
  if (call_ != nullptr) ctx_->client().Release(call_);
  call_ = nullptr;
}

void LambdaExchange::OnAwsCallDone(AwsCall* call) {
  if (call->status == 0) {
    const bool timed_out = call->timed_out;
    const std::string error = call->error;
    Cancel();
    Fail(timed_out ? 504 : 502, timed_out ? "Lambda did not answer in time" : absl::StrCat("invoke failed: ", error));
    return;
  }
  if (const std::string* function_error = call->Header("x-amz-function-error")) {
    std::string type = ErrorType(call->body);
    const std::string reason = absl::StrCat("function error ", *function_error, type.empty() ? "" : ": ", type);
    Cancel();
    Fail(502, reason);
    return;
  }
  if (call->status != 200) {
    const std::string* header_type = call->Header("x-amzn-errortype");
    std::string type = header_type != nullptr ? *header_type : ErrorType(call->body);
    type = type.substr(0, type.find(':'));  // "ResourceNotFoundException:http://..." in real AWS
    const std::string reason = absl::StrCat("invoke answered ", call->status, type.empty() ? "" : " ", type);
    Cancel();
    Fail(502, reason);
    return;
  }
  absl::StatusOr<LambdaHttpResponse> mapped = MapLambdaResult(call->body, config_->v2);
  Cancel();
  if (!mapped.ok()) {
    Fail(502, mapped.status().message());
    return;
  }
  body_ = std::move(mapped->body);
  response_.status = mapped->status;
  response_.headers = std::move(mapped->headers);
  response_.send_length = mapped->status != 304 && mapped->status != 204;
  response_.body = body_;
  responder_->OnAwsResponse(response_);
}

void LambdaExchange::Fail(int status, absl::string_view reason) {
  // Requests trigger it: rate-limited per app.
  log::Every(log::Level::kError, "lambda failed " + config_->app_id, "aws_lambda backend failed")
      .Kv("app", config_->app_id)
      .Kv("function", config_->function_name)
      .Kv("status", status)
      .Kv("error", reason);
  response_.status = status;
  response_.headers = "Content-Type: text/plain; charset=utf-8\r\n";
  response_.send_length = true;
  body_ = absl::StrCat(status == 504 ? "Gateway Timeout" : "Bad Gateway", ": ", reason, "\n");
  response_.body = body_;
  responder_->OnAwsResponse(response_);
}

}  // namespace edgerouter::aws
