#include "controlplane/eventlog/eventhorizon/dynamodb_client.h"

#include <curl/curl.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/aws/sigv4.h"

namespace edgerouter::eventhorizon {
namespace {

// A Query page is at most 1 MB; anything far larger is a broken peer.
constexpr size_t kMaxBody = 16u << 20;
constexpr size_t kMaxIdleHandles = 8;

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendBody(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * n > kMaxBody) return 0;  // aborts with CURLE_WRITE_ERROR
  body->append(data, size * n);
  return size * n;
}

}  // namespace

std::string DynamoError::Describe() const {
  if (!transport.empty()) return transport;
  std::string out = absl::StrCat("HTTP ", http_status);
  if (!code.empty()) absl::StrAppend(&out, " ", code);
  if (!message.empty()) absl::StrAppend(&out, ": ", message);
  return out;
}

absl::Status DynamoError::ToStatus(absl::string_view context) const {
  std::string msg = absl::StrCat(context, ": ", Describe());
  if (IsTransient()) return absl::UnavailableError(msg);
  if (IsConditionFailed()) return absl::AbortedError(msg);
  if (code == "ResourceNotFoundException") return absl::NotFoundError(msg);
  if (code == "AccessDeniedException" || code == "UnrecognizedClientException" ||
      code == "MissingAuthenticationTokenException" || code == "InvalidSignatureException") {
    return absl::PermissionDeniedError(msg);
  }
  if (code == "ValidationException" || code == "SerializationException") return absl::InvalidArgumentError(msg);
  if (IsUnknownOperation()) return absl::UnimplementedError(msg);
  return absl::InternalError(msg);
}

DynamoDbClient::DynamoDbClient(DynamoDbClientOptions options)
    : options_(std::move(options)),
      target_(aws::DynamoDbTarget(options_.endpoints, options_.region)),
      base_(target_.base) {
  GlobalInitOnce();
}

DynamoDbClient::~DynamoDbClient() {
  absl::MutexLock lock(&mu_);
  for (void* easy : idle_) curl_easy_cleanup(static_cast<CURL*>(easy));
}

void* DynamoDbClient::Borrow() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      void* easy = idle_.back();
      idle_.pop_back();
      return easy;
    }
  }
  return curl_easy_init();
}

void DynamoDbClient::Return(void* easy) {
  absl::MutexLock lock(&mu_);
  if (idle_.size() < kMaxIdleHandles) {
    idle_.push_back(easy);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(easy));
  }
}

DynamoResult<nlohmann::json> DynamoDbClient::Call(absl::string_view operation,
                                                  const nlohmann::json& request) {
  DynamoResult<nlohmann::json> result;
  const std::string body = request.dump();
  const aws::SignedRequest signed_request = aws::SignAwsRequest(
      aws::Service::kDynamoDb, options_.region, "POST", target_, {}, aws::Sha256Hex(body),
      options_.credentials, absl::Now(),
      {{"Content-Type", "application/x-amz-json-1.0"},
       {"X-Amz-Target", absl::StrCat("DynamoDB_20120810.", operation)}});
  CURL* easy = static_cast<CURL*>(Borrow());
  if (easy == nullptr) {
    result.error.transport = "curl_easy_init failed";
    return result;
  }
  std::string response;
  curl_easy_reset(easy);
  curl_easy_setopt(easy, CURLOPT_URL, signed_request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(options_.request_timeout)));
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &response);
  curl_slist* headers = nullptr;
  for (const std::string& line : signed_request.header_lines) headers = curl_slist_append(headers, line.c_str());
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  const CURLcode rc = curl_easy_perform(easy);
  curl_slist_free_all(headers);
  long status = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  Return(easy);

  if (rc != CURLE_OK) {
    result.error.transport = absl::StrCat(signed_request.url, ": ", curl_easy_strerror(rc));
    return result;
  }
  nlohmann::json parsed = nlohmann::json::parse(response, nullptr, /*allow_exceptions=*/false);
  if (status == 200) {
    if (parsed.is_discarded() || !parsed.is_object()) {
      result.error.http_status = status;
      result.error.code = "MalformedResponse";
      result.error.message = "response is not a JSON object";
      return result;
    }
    result.value = std::move(parsed);
    return result;
  }
  result.error.http_status = status;
  if (parsed.is_object()) {
    std::string type = parsed.value("__type", "");
    result.error.code = type.substr(type.rfind('#') + 1);  // "com.amazonaws.dynamodb.v20120810#X" -> X
    result.error.message = parsed.contains("message") ? parsed.value("message", "") : parsed.value("Message", "");
    if (parsed.contains("CancellationReasons")) result.value = parsed;  // TransactWriteItems
  }
  if (result.error.code.empty() && status < 500) result.error.code = "HTTP";
  return result;
}

}  // namespace edgerouter::eventhorizon
