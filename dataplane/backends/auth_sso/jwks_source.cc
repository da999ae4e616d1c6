#include "dataplane/backends/auth_sso/jwks_source.h"

#include <curl/curl.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace edgerouter::backends::sso {
namespace {

constexpr size_t kMaxBody = 1 << 20;

size_t Collect(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * n > kMaxBody) return 0;  // aborts the transfer
  body->append(data, size * n);
  return size * n;
}

absl::StatusOr<std::string> Fetch(const std::string& url) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return absl::UnavailableError(absl::StrCat("GET ", url, ": ", curl_easy_strerror(rc)));
  if (status != 200) return absl::UnavailableError(absl::StrCat("GET ", url, ": HTTP ", status));
  return body;
}

// ER_SSO_JWKS_REFRESH_SECONDS overrides the schedule (tests, or an ID server rotating often).
absl::Duration RefreshInterval() {
  const char* env = std::getenv("ER_SSO_JWKS_REFRESH_SECONDS");
  int seconds = 0;
  if (env != nullptr && absl::SimpleAtoi(env, &seconds) && seconds > 0) return absl::Seconds(seconds);
  return absl::Minutes(10);
}

}  // namespace

std::shared_ptr<JwksSource> JwksSource::For(const std::string& base_url) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* sources = new std::map<std::string, std::shared_ptr<JwksSource>>();
  absl::MutexLock lock(&mu);
  auto it = sources->find(base_url);
  if (it != sources->end()) return it->second;
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)curl_ready;
  auto source = std::make_shared<JwksSource>(base_url + "/.well-known/jwks.json", RefreshInterval());
  (*sources)[base_url] = source;
  // Lives as long as the process, as the map entry does.
  std::thread([source] { source->Loop(); }).detach();
  return source;
}

JwksSource::JwksSource(std::string url, absl::Duration refresh) : url_(std::move(url)), refresh_(refresh) {}

std::shared_ptr<const KeySet> JwksSource::keys() const {
  absl::MutexLock lock(&mu_);
  return keys_;
}

std::string JwksSource::last_error() const {
  absl::MutexLock lock(&mu_);
  return last_error_;
}

void JwksSource::RequestRefresh() {
  absl::MutexLock lock(&mu_);
  refresh_requested_ = true;
}

void JwksSource::Loop() {
  while (true) {
    const absl::Time started = absl::Now();
    absl::StatusOr<std::string> body = Fetch(url_);
    absl::StatusOr<KeySet> set = body.ok() ? ParseJwks(*body) : absl::StatusOr<KeySet>(body.status());
    absl::Duration wait = refresh_;
    {
      absl::MutexLock lock(&mu_);
      if (set.ok()) {
        keys_ = std::make_shared<const KeySet>(*std::move(set));
        last_error_.clear();
      } else {
        last_error_ = std::string(set.status().message());
        wait = absl::Seconds(1);  // keep the last good keys, retry soon
        log::Warn("auth_sso: JWKS fetch failed").Kv("url", url_).Kv("error", last_error_);
      }
      refresh_requested_ = false;
      // Wait for the schedule or a request, but never fetch more than once a second.
      mu_.AwaitWithDeadline(absl::Condition(&refresh_requested_), started + wait);
    }
    const absl::Time earliest = started + absl::Seconds(1);
    if (absl::Now() < earliest) absl::SleepFor(earliest - absl::Now());
  }
}

}  // namespace edgerouter::backends::sso
