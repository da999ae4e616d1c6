#include "controlplane/acme/acme_http.h"

#include <curl/curl.h>

#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace edgerouter::acme {
namespace {

// ACME bodies are small JSON documents and PEM chains; anything far larger is a broken peer.
constexpr size_t kMaxBody = 1u << 20;

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendBody(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<HttpResponse*>(user);
  if (r->body.size() + size * n > kMaxBody) return 0;  // aborts with CURLE_WRITE_ERROR
  r->body.append(data, size * n);
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<HttpResponse*>(user);
  absl::string_view line(data, size * n);
  if (absl::StartsWith(line, "HTTP/")) {
    r->headers.clear();  // a new response head (after a 100 Continue, or a redirect)
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return size * n;
  r->headers.emplace_back(absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon))),
                          std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  return size * n;
}

}  // namespace

std::string HttpResponse::Header(absl::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) {
  GlobalInitOnce();
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

absl::StatusOr<HttpResponse> HttpClient::Get(const std::string& url) {
  return Perform("GET", url, nullptr, "");
}

absl::StatusOr<HttpResponse> HttpClient::Head(const std::string& url) {
  return Perform("HEAD", url, nullptr, "");
}

absl::StatusOr<HttpResponse> HttpClient::PostJose(const std::string& url, const std::string& body,
                                                  absl::string_view accept) {
  return Perform("POST", url, &body, accept);
}

absl::StatusOr<HttpResponse> HttpClient::Perform(absl::string_view method, const std::string& url,
                                                 const std::string* body, absl::string_view accept) {
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  // Options are reset per request but the handle (and its connection cache) is kept.
  curl_easy_reset(curl);
  HttpResponse r;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  // ACME is HTTPS only (RFC 8555 §6.1), and a CA never needs us to follow redirects.
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &CollectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_slist* headers = nullptr;
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (body != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
    headers = curl_slist_append(headers, "Content-Type: application/jose+json");
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  }
  if (!accept.empty()) headers = curl_slist_append(headers, absl::StrCat("Accept: ", accept).c_str());
  if (headers != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat(method, " ", url, ": ", errbuf[0] != 0 ? errbuf : curl_easy_strerror(rc)));
  }
  return r;
}

}  // namespace edgerouter::acme
