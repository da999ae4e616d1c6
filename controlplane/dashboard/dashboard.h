// The control plane's web dashboard: a self-contained page (HTML, CSS and JS embedded in the
// binary, nothing fetched from elsewhere) that polls GET /dashboard/api/state once a second and
// draws the fleet (nodes, versions, NACKs, lag, per-node traffic), apps and routes with search,
// origins' health, per-app traffic, certificates with expiry and ACME state, rejected apps and
// label errors, recent event-log entries and Docker discovery state.
//
// Access: on a loopback listener anyone local may look; bound wider, the state is served only
// to a client certificate signed by --http_tls_client_ca or with `Authorization: Bearer
// <token>` (--dashboard_token_file), and is refused without either. The page itself holds no data; it reads the token from its URL fragment (#token=…),
// which browsers never send to the server.
#ifndef EDGEROUTER_CONTROLPLANE_DASHBOARD_DASHBOARD_H_
#define EDGEROUTER_CONTROLPLANE_DASHBOARD_DASHBOARD_H_

#include <string>

#include "absl/synchronization/mutex.h"
#include "controlplane/admin_service.h"
#include "controlplane/dashboard/web_server.h"
#include "proto/dashboard.pb.h"

namespace edgerouter::controlplane::dashboard {

struct DashboardOptions {
  std::string token;  // "" = none (then loopback listeners only)
  // The listener verifies client certificates (--http_tls_client_ca): a verified one is
  // required (or the token, when one is set), loopback or not.
  bool client_certs = false;
  std::string replica_id;
  std::string loadbalancer_stream;
  std::string certbus_stream;
  bool docker_enabled = false;
  std::string docker_url;
  int recent_events = 30;
};

class Dashboard {
 public:
  explicit Dashboard(DashboardOptions options) : options_(std::move(options)) {}

  // Registers / (redirect), /dashboard/, its assets and /dashboard/api/state on `server`
  // (before it starts).
  void Register(WebServer* server);
  // The state is served from then on (503 before: the control plane is still starting).
  void Attach(AdminService* admin) {
    absl::MutexLock lock(&mu_);
    admin_ = admin;
  }

  // The state as the page receives it.
  ::edgerouter::dashboard::v1::DashboardState State();
  // Whether a request with `authorization` (and a verified client certificate or not) may read
  // the state on a listener that is (not) loopback.
  bool Authorized(const std::string& authorization, bool loopback, bool client_verified = false) const;

 private:
  WebResponse ServeState(const WebRequest& request, bool loopback);

  const DashboardOptions options_;
  absl::Mutex mu_;
  AdminService* admin_ ABSL_GUARDED_BY(mu_) = nullptr;
};

// The embedded assets (dashboard_assets.cc, generated from the files next to this one).
extern const char kDashboardHtml[];
extern const char kDashboardJs[];
extern const char kDashboardCss[];

}  // namespace edgerouter::controlplane::dashboard

#endif  // EDGEROUTER_CONTROLPLANE_DASHBOARD_DASHBOARD_H_
