#include "controlplane/docker/engine_client.h"

#include <curl/curl.h>

#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace edgerouter::controlplane::docker {
namespace {

// A /containers/json of a few thousand containers is a few MB; anything far larger is a
// broken or hostile peer, and we would rather fail than grow without bound.
constexpr size_t kMaxBody = 64u << 20;
// One event is < 4 KB (labels included); a line this long without '\n' means a broken stream.
constexpr size_t kMaxEventLine = 1u << 20;

void GlobalInitOnce() {
  // curl_global_init is not thread-safe on older libcurl; the control plane may create clients
  // from several threads.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Accepts PEM text or base64 of PEM (edgerouter's env variables hold base64).
absl::StatusOr<std::string> DecodePem(const std::string& value, absl::string_view what) {
  if (absl::StrContains(value, "-----BEGIN")) return value;
  std::string decoded;
  if (!absl::Base64Unescape(absl::StripAsciiWhitespace(value), &decoded) ||
      !absl::StrContains(decoded, "-----BEGIN")) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is neither PEM nor base64 of PEM"));
  }
  return decoded;
}

size_t AppendBody(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * n > kMaxBody) return 0;  // aborts with CURLE_WRITE_ERROR
  body->append(data, size * n);
  return size * n;
}

absl::Status HttpError(absl::string_view path, long status, absl::string_view body) {
  std::string msg = absl::StrCat("GET ", path, ": HTTP ", status, ": ", EngineErrorMessage(body));
  // Codes chosen so that callers can tell "no Swarm here" (503) from "gone" (404) without
  // parsing text.
  if (status == 503) return absl::UnavailableError(msg);
  if (status == 404) return absl::NotFoundError(msg);
  if (status >= 400 && status < 500) return absl::FailedPreconditionError(msg);
  return absl::InternalError(msg);
}

// State shared with the /events callbacks (they run on the StreamEvents caller's thread).
struct EventStream {
  CURL* curl = nullptr;
  const std::function<void(const nlohmann::json&)>* on_event = nullptr;
  const std::function<void()>* on_open = nullptr;
  const std::atomic<bool>* stop = nullptr;
  long status = 0;
  std::string partial;     // bytes after the last '\n'
  std::string error_body;  // body of a non-2xx answer
  absl::Status parse_error;
  bool stopped = false;
};

size_t EventHeader(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<EventStream*>(user);
  absl::string_view line(data, size * n);
  // The blank line ends the headers: the engine has accepted the stream, so every event from
  // now on reaches us. on_open lets callers (and tests) act only after that point.
  if (line == "\r\n" || line == "\n") {
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status >= 200 && s->status < 300 && s->on_open != nullptr && *s->on_open) {
      (*s->on_open)();
    }
  }
  return size * n;
}

size_t EventData(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<EventStream*>(user);
  const size_t len = size * n;
  if (s->status < 200 || s->status >= 300) {
    if (s->error_body.size() < 64 * 1024) s->error_body.append(data, len);
    return len;
  }
  s->partial.append(data, len);
  size_t start = 0;
  for (size_t nl; (nl = s->partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    absl::string_view line = absl::StripAsciiWhitespace(
        absl::string_view(s->partial).substr(start, nl - start));
    if (line.empty()) continue;
    nlohmann::json event = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
    if (event.is_discarded() || !event.is_object()) {
      s->parse_error = absl::DataLossError(
          absl::StrCat("GET /events: not a JSON object: ", line.substr(0, 200)));
      return 0;
    }
    (*s->on_event)(event);
    if (s->stop->load()) {
      s->stopped = true;
      return 0;
    }
  }
  s->partial.erase(0, start);
  if (s->partial.size() > kMaxEventLine) {
    s->parse_error = absl::DataLossError("GET /events: event line too long");
    return 0;
  }
  return len;
}

// Called by libcurl on every transfer step and at least once a second while the stream is
// idle, so a set `stop` ends StreamEvents within about a second even with no events.
int EventProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* s = static_cast<EventStream*>(user);
  if (s->stop->load()) {
    s->stopped = true;
    return 1;  // CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

std::string EscapeQuery(CURL* curl, absl::string_view v) {
  char* escaped = curl_easy_escape(curl, v.data(), static_cast<int>(v.size()));
  std::string out = escaped != nullptr ? escaped : "";
  curl_free(escaped);
  return out;
}

}  // namespace

absl::StatusOr<std::pair<int, int>> ParseApiVersion(absl::string_view v) {
  std::vector<absl::string_view> parts = absl::StrSplit(v, '.');
  std::pair<int, int> out;
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty() ||
      !absl::SimpleAtoi(parts[0], &out.first) || !absl::SimpleAtoi(parts[1], &out.second) ||
      out.first < 0 || out.second < 0) {
    return absl::InvalidArgumentError(absl::StrCat("bad API version: '", v, "'"));
  }
  return out;
}

std::string EngineErrorMessage(absl::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    return j["message"].get<std::string>();
  }
  absl::string_view text = absl::StripAsciiWhitespace(body);
  if (text.empty()) return "(empty body)";
  return std::string(text.substr(0, 500));
}

absl::StatusOr<std::unique_ptr<EngineClient>> EngineClient::Create(EngineClientOptions options) {
  GlobalInitOnce();
  if (!ParseApiVersion(options.max_api_version).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad max API version: '", options.max_api_version, "'"));
  }
  std::unique_ptr<EngineClient> c(new EngineClient(std::move(options)));
  const std::string& url = c->options_.url;
  const bool has_cert = !c->options_.client_cert_pem.empty();
  const bool has_key = !c->options_.client_key_pem.empty();
  if (absl::StartsWith(url, "unix://")) {
    c->socket_path_ = url.substr(strlen("unix://"));
    if (!absl::StartsWith(c->socket_path_, "/")) {
      return absl::InvalidArgumentError(absl::StrCat("docker url needs an absolute socket path: ", url));
    }
    // Any host name works over a socket; the engine only needs a Host header (HTTP/1.1).
    c->base_url_ = "http://docker";
  } else if (absl::StartsWith(url, "https://") || absl::StartsWith(url, "http://")) {
    c->base_url_ = std::string(absl::StripSuffix(url, "/"));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported docker url (want unix:///path or https://host:port): ", url));
  }
  if (has_cert != has_key) {
    return absl::InvalidArgumentError("docker client certificate and key must be given together");
  }
  if (has_cert) {
    if (!absl::StartsWith(url, "https://")) {
      return absl::InvalidArgumentError("docker client certificate needs an https:// url");
    }
    absl::StatusOr<std::string> cert = DecodePem(c->options_.client_cert_pem, "client certificate");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = DecodePem(c->options_.client_key_pem, "client key");
    if (!key.ok()) return key.status();
    c->options_.client_cert_pem = *std::move(cert);
    c->options_.client_key_pem = *std::move(key);
  }
  return c;
}

EngineClient::~EngineClient() = default;

void EngineClient::Configure(void* handle, const std::string& full_path) const {
  CURL* curl = static_cast<CURL*>(handle);
  curl_easy_setopt(curl, CURLOPT_URL, (base_url_ + full_path).c_str());
  if (!socket_path_.empty()) curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path_.c_str());
  // No signals: the control plane is multi-threaded and SIGALRM-based timeouts are unsafe there.
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  if (absl::StartsWith(base_url_, "https://")) {
    // edgerouter does not verify the engine's certificate either (self-signed daemon certs);
    // the client certificate is what authenticates us.
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    if (!options_.client_cert_pem.empty()) {
      // Blobs are copied by libcurl, so the handle does not depend on our strings' lifetime.
      curl_blob cert{const_cast<char*>(options_.client_cert_pem.data()),
                     options_.client_cert_pem.size(), CURL_BLOB_COPY};
      curl_blob key{const_cast<char*>(options_.client_key_pem.data()),
                    options_.client_key_pem.size(), CURL_BLOB_COPY};
      curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cert);
      curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &key);
      curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
    }
  }
}

absl::StatusOr<EngineClient::Response> EngineClient::Get(const std::string& full_path) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  Response r;
  char errbuf[CURL_ERROR_SIZE] = {0};
  Configure(curl, full_path);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("GET ", full_path, " on ", options_.url, ": ",
                                               errbuf[0] != 0 ? errbuf : curl_easy_strerror(rc)));
  }
  return r;
}

absl::StatusOr<EngineVersion> EngineClient::Version() {
  absl::StatusOr<Response> r = Get("/version");
  if (!r.ok()) return r.status();
  if (r->status != 200) return HttpError("/version", r->status, r->body);
  EngineVersion v;
  v.raw = nlohmann::json::parse(r->body, nullptr, false);
  if (!v.raw.is_object() || !v.raw.contains("ApiVersion") || !v.raw["ApiVersion"].is_string()) {
    return absl::DataLossError("GET /version: no ApiVersion in the answer");
  }
  v.api_version = v.raw["ApiVersion"].get<std::string>();
  if (v.raw.contains("Version") && v.raw["Version"].is_string()) {
    v.version = v.raw["Version"].get<std::string>();
  }
  absl::StatusOr<std::pair<int, int>> engine = ParseApiVersion(v.api_version);
  if (!engine.ok()) return engine.status();
  // Checked in Create.
  const std::pair<int, int> ours = *ParseApiVersion(options_.max_api_version);
  // An engine serves every version down to its MinAPIVersion, so the lower of the two is
  // understood by both sides.
  v.negotiated = *engine < ours ? v.api_version : options_.max_api_version;
  absl::MutexLock lock(&mu_);
  negotiated_ = v.negotiated;
  return v;
}

std::string EngineClient::api_version() const {
  absl::MutexLock lock(&mu_);
  return negotiated_;
}

absl::StatusOr<std::string> EngineClient::VersionPrefix() {
  std::string v = api_version();
  if (v.empty()) {
    absl::StatusOr<EngineVersion> version = Version();
    if (!version.ok()) return version.status();
    v = version->negotiated;
  }
  return absl::StrCat("/v", v);
}

absl::StatusOr<std::string> EngineClient::GetJson(absl::string_view path) {
  absl::StatusOr<std::string> prefix = VersionPrefix();
  if (!prefix.ok()) return prefix.status();
  absl::StatusOr<Response> r = Get(absl::StrCat(*prefix, path));
  if (!r.ok()) return r.status();
  if (r->status < 200 || r->status >= 300) return HttpError(path, r->status, r->body);
  return std::move(r->body);
}

absl::Status EngineClient::StreamEvents(absl::string_view since, const nlohmann::json& filters,
                                        const std::function<void(const nlohmann::json&)>& on_event,
                                        const std::atomic<bool>& stop, absl::string_view until,
                                        const std::function<void()>& on_open) {
  absl::StatusOr<std::string> prefix = VersionPrefix();
  if (!prefix.ok()) return prefix.status();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  std::string path = "/events";
  char sep = '?';
  auto add = [&](absl::string_view key, absl::string_view value) {
    absl::StrAppend(&path, absl::string_view(&sep, 1), key, "=", EscapeQuery(curl, value));
    sep = '&';
  };
  if (!since.empty()) add("since", since);
  if (!until.empty()) add("until", until);
  if (filters.is_object() && !filters.empty()) add("filters", filters.dump());

  EventStream s;
  s.curl = curl;
  s.on_event = &on_event;
  s.on_open = &on_open;
  s.stop = &stop;
  char errbuf[CURL_ERROR_SIZE] = {0};
  Configure(curl, *prefix + path);
  // No CURLOPT_TIMEOUT: the stream is meant to stay open; only connecting is bounded.
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &EventHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &s);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &EventData);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &EventProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &s);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  // A dead peer (cable pulled, VM paused) would otherwise keep an idle stream open forever.
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &s.status);
  curl_easy_cleanup(curl);

  if (s.stopped || (stop.load() && rc == CURLE_ABORTED_BY_CALLBACK)) return absl::OkStatus();
  if (!s.parse_error.ok()) return s.parse_error;
  if (s.status != 0 && (s.status < 200 || s.status >= 300)) {
    return HttpError("/events", s.status, s.error_body);
  }
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("GET /events on ", options_.url, ": ",
                                               errbuf[0] != 0 ? errbuf : curl_easy_strerror(rc)));
  }
  // A clean end is expected only when we asked for one; otherwise the engine went away
  // (restart, shutdown) and the caller must reconnect and resync.
  if (until.empty()) return absl::UnavailableError("GET /events: stream closed by the engine");
  return absl::OkStatus();
}

}  // namespace edgerouter::controlplane::docker
