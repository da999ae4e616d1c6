// The ID server's signing keys (<base>/.well-known/jwks.json), fetched with libcurl on a
// thread of their own, never on a worker: workers only read the current key set (one mutex'd
// shared_ptr copy). Refetched every `refresh` (edgerouter caches forever), when a token names
// an unknown kid (at most once a second), and every second after a failed fetch until one
// succeeds.
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_AUTH_SSO_JWKS_SOURCE_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_AUTH_SSO_JWKS_SOURCE_H_

#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "dataplane/backends/auth_sso/jwt.h"

namespace edgerouter::backends::sso {

class JwksSource {
 public:
  // One per ID server for the life of the process, shared by every app and config using it.
  static std::shared_ptr<JwksSource> For(const std::string& base_url);

  // Null until the first successful fetch.
  std::shared_ptr<const KeySet> keys() const;
  std::string last_error() const;
  // A token named a kid we do not know: fetch soon.
  void RequestRefresh();

  JwksSource(std::string url, absl::Duration refresh);

 private:
  void Loop();

  const std::string url_;
  const absl::Duration refresh_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const KeySet> keys_ ABSL_GUARDED_BY(mu_);
  std::string last_error_ ABSL_GUARDED_BY(mu_) = "keys not fetched yet";
  bool refresh_requested_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace edgerouter::backends::sso

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_AUTH_SSO_JWKS_SOURCE_H_
