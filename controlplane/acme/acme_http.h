// The HTTPS exchange with an ACME server, on libcurl: blocking, one reused handle (so one
// connection is kept alive), HTTPS only, with an optional CA file for servers whose
// certificate is not in the system store (pebble, a private CA). Not thread-safe: an AcmeClient
// and its HttpClient belong to one thread.
#ifndef EDGEROUTER_CONTROLPLANE_ACME_ACME_HTTP_H_
#define EDGEROUTER_CONTROLPLANE_ACME_ACME_HTTP_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace edgerouter::acme {

struct HttpResponse {
  long status = 0;
  std::string body;
  // Header names lowercased, in arrival order (interim 1xx responses dropped).
  std::vector<std::pair<std::string, std::string>> headers;

  // Value of the first header with this (lowercase) name; "" if absent.
  std::string Header(absl::string_view name) const;
};

struct HttpClientOptions {
  std::string ca_file;  // PEM bundle trusted for the server's TLS; empty = the system store
  absl::Duration timeout = absl::Seconds(30);  // whole request
  absl::Duration connect_timeout = absl::Seconds(10);
  std::string user_agent = "edgerouter-acme/1";
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  absl::StatusOr<HttpResponse> Get(const std::string& url);
  absl::StatusOr<HttpResponse> Head(const std::string& url);
  // POST with Content-Type application/jose+json (every ACME request, RFC 8555 §6.2).
  absl::StatusOr<HttpResponse> PostJose(const std::string& url, const std::string& body,
                                        absl::string_view accept = "");

 private:
  absl::StatusOr<HttpResponse> Perform(absl::string_view method, const std::string& url,
                                       const std::string* body, absl::string_view accept);

  HttpClientOptions options_;
  void* curl_ = nullptr;  // CURL*
};

}  // namespace edgerouter::acme

#endif  // EDGEROUTER_CONTROLPLANE_ACME_ACME_HTTP_H_
