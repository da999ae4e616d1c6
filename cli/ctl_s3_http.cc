#include "cli/ctl_s3_http.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/app_config.h"

namespace edgerouter::ctl {

namespace {

constexpr long kObjectTimeoutMs = 120000;

size_t Append(char* data, size_t size, size_t n, void* userp) {
  static_cast<std::string*>(userp)->append(data, size * n);
  return size * n;
}

}  // namespace

// One blocking call on `easy` (reused per thread, so its connection is kept alive).
HttpResult Perform(CURL* easy, const aws::SignedRequest& request, const std::string& body) {
  HttpResult result;
  curl_easy_reset(easy);
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);  // send exactly the path that was signed
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, kObjectTimeoutMs);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &result.body);
  if (request.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_slist* headers = nullptr;
  for (const std::string& line : request.header_lines) headers = curl_slist_append(headers, line.c_str());
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  const CURLcode rc = curl_easy_perform(easy);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    result.error = curl_easy_strerror(rc);
  } else {
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &result.status);
  }
  return result;
}

std::string Describe(const HttpResult& r) {
  if (!r.error.empty()) return r.error;
  const std::string code = aws::XmlErrorCode(r.body);
  return absl::StrCat("HTTP ", r.status, code.empty() ? "" : " ", code);
}

absl::StatusOr<AwsEnv> LoadAwsEnv() {
  AwsEnv env;
  env.endpoints = aws::Endpoints::FromEnvironment();
  absl::StatusOr<aws::Credentials> c = aws::LoadCredentials("");
  if (!c.ok()) {
    const char* file = std::getenv("AWS_SHARED_CREDENTIALS_FILE");
    if (file == nullptr || *file == '\0') return c.status();
    c = aws::LoadCredentials(file);
    if (!c.ok()) return c.status();
  }
  env.credentials = *std::move(c);
  return env;
}

bool GetAppOfKind(const Invocation& inv, admin::v1::Admin::StubInterface* stub, const std::string& id,
                  const std::string& kind, config::v1::Application* app, std::ostream& err) {
  admin::v1::GetAppRequest request;
  request.set_id(id);
  admin::v1::GetAppResponse response;
  if (!Call(inv, err, [&](grpc::ClientContext* c) { return stub->GetApp(c, request, &response); })) return false;
  absl::StatusOr<config::v1::Application> parsed =
      config::ParseApplication(response.application_json(), config::InputMode::kTolerant);
  if (!parsed.ok()) {
    err << "edgerouterctl: " << inv.name << ": app " << id << ": " << parsed.status().message() << "\n";
    return false;
  }
  if (parsed->backend().kind() != kind) {
    err << "edgerouterctl: " << inv.name << ": app " << id << " is " << parsed->backend().kind() << ", not " << kind
        << "\n";
    return false;
  }
  *app = *std::move(parsed);
  return true;
}

bool PutApp(const Invocation& inv, admin::v1::Admin::StubInterface* stub, const config::v1::Application& app,
            bool create, std::ostream& err) {
  admin::v1::PutAppRequest request;
  request.set_application_json(config::ToEdgerouterJson(app));
  request.set_mode(create ? admin::v1::CREATE_ONLY : admin::v1::UPDATE_ONLY);
  admin::v1::PutAppResponse response;
  return Call(inv, err, [&](grpc::ClientContext* c) { return stub->PutApp(c, request, &response); });
}

}  // namespace edgerouter::ctl
