// Test double of the connection side of a chain: records what the stages and the terminal
// asked for, so factories and chains are tested without sockets.
#ifndef EDGEROUTER_DATAPLANE_PIPELINE_FAKE_EXCHANGE_H_
#define EDGEROUTER_DATAPLANE_PIPELINE_FAKE_EXCHANGE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "dataplane/pipeline/exchange.h"

namespace edgerouter::pipeline {

class FakeExchange : public Exchange {
 public:
  // The request.
  std::string path = "/";
  std::map<std::string, std::string> headers;  // lower-case names
  std::string query;
  std::string client = "127.0.0.1";
  const backends::IpRuleSet* rules = nullptr;
  std::string request_method = "GET";
  bool is_secure = false;
  int worker = 0;
  int64_t clock_ms = 0;

  // What happened.
  bool strip_authorization = false;
  const RequestHeaderEdit* request_edit = nullptr;
  int rate_limited = 0;
  int status = 0;  // of a local answer or redirect
  std::string content_type, body, extra_headers, location;
  std::string started;  // "proxy", "s3" or "lambda"
  std::string started_path;
  const backends::ProxyTarget* proxy_target = nullptr;
  const aws::S3SiteConfig* s3_site = nullptr;
  const aws::LambdaConfig* lambda_function = nullptr;
  std::unique_ptr<DeferredResponse> deferred;
  std::shared_ptr<const std::string> metrics_text;
  std::string admin_page;

  absl::string_view raw_path() const override { return path; }
  std::optional<absl::string_view> request_header(absl::string_view name) const override {
    auto it = headers.find(absl::AsciiStrToLower(name));
    if (it == headers.end()) return std::nullopt;
    return absl::string_view(it->second);
  }
  absl::string_view client_ip() const override { return client; }
  absl::string_view raw_query() const override { return query; }
  const backends::IpRuleSet* ip_rules() const override { return rules; }
  absl::string_view method() const override { return request_method; }
  bool secure() const override { return is_secure; }
  void StripAuthorization() override { strip_authorization = true; }
  void EditRequestHeaders(const RequestHeaderEdit* edit) override { request_edit = edit; }
  int worker_index() const override { return worker; }
  int64_t now_ms() const override { return clock_ms; }
  void NoteRateLimited() override { ++rate_limited; }
  void SendLocal(int s, absl::string_view type, absl::string_view b, absl::string_view extra = "") override {
    status = s;
    content_type = std::string(type);
    body = std::string(b);
    extra_headers = std::string(extra);
  }
  void SendRedirect(int s, absl::string_view target) override {
    status = s;
    location = std::string(target);
  }
  std::shared_ptr<const std::string> MetricsText() override { return metrics_text; }
  const std::string& AdminPage() override { return admin_page; }
  void StartProxy(const backends::ProxyTarget& target, const std::string& p) override {
    started = "proxy";
    started_path = p;
    proxy_target = &target;
  }
  void StartS3(const aws::S3SiteConfig& site, const std::string& p) override {
    started = "s3";
    started_path = p;
    s3_site = &site;
  }
  void StartLambda(const aws::LambdaConfig& function, const std::string& p) override {
    started = "lambda";
    started_path = p;
    lambda_function = &function;
  }
  void StartDeferred(std::unique_ptr<DeferredResponse> response) override {
    started = "deferred";
    deferred = std::move(response);
  }
};

}  // namespace edgerouter::pipeline

#endif  // EDGEROUTER_DATAPLANE_PIPELINE_FAKE_EXCHANGE_H_
