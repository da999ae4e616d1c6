#include "controlplane/dashboard/dashboard.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/event_line.h"
#include "common/log/log.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace edgerouter::controlplane::dashboard {
namespace {

// Strict: no inline script or style, nothing from elsewhere, never framed.
constexpr char kCsp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

WebResponse Asset(const char* content_type, const char* body) {
  WebResponse r;
  r.content_type = content_type;
  r.body = body;
  r.headers = {{"Content-Security-Policy", kCsp}, {"X-Frame-Options", "DENY"}, {"Cache-Control", "no-cache"},
               {"Referrer-Policy", "no-referrer"}};
  return r;
}

// What an event is about, from its payload: the app id or the certificate id. Nothing else
// of the payload leaves the control plane (it may hold bearer tokens or key material).
std::string Subject(const events::v1::Event& event) {
  const nlohmann::json payload = nlohmann::json::parse(event.payload_json(), nullptr, false);
  if (!payload.is_object()) return "";
  for (const char* key : {"Id", "id"}) {
    if (payload.contains(key) && payload[key].is_string()) return payload[key].get<std::string>();
  }
  if (payload.contains("Application") && payload["Application"].is_object()) {
    const auto& app = payload["Application"];
    if (app.contains("id") && app["id"].is_string()) return app["id"].get<std::string>();
  }
  return "";
}

const admin::v1::ListNodesRequest kListNodes;
const admin::v1::ListAppsRequest kListApps;
const admin::v1::ListAcmeNamesRequest kListAcme;
const admin::v1::GetReplicaStatusRequest kReplicaStatus;

}  // namespace

bool Dashboard::Authorized(const std::string& authorization, bool loopback, bool client_verified) const {
  if (client_verified) return true;
  if (options_.token.empty()) return loopback && !options_.client_certs;
  const std::string want = "Bearer " + options_.token;
  return authorization.size() == want.size() &&
         CRYPTO_memcmp(authorization.data(), want.data(), want.size()) == 0;
}

::edgerouter::dashboard::v1::DashboardState Dashboard::State() {
  ::edgerouter::dashboard::v1::DashboardState state;
  state.set_replica_id(options_.replica_id);
  state.set_generated_unix_ms(absl::ToUnixMillis(absl::Now()));
  state.mutable_docker()->set_enabled(options_.docker_enabled);
  state.mutable_docker()->set_url(options_.docker_url);
  absl::MutexLock lock(&mu_);
  if (admin_ == nullptr) return state;
  grpc::ServerContext context;  // the Admin methods do not read it
  admin_->ListNodes(&context, &kListNodes, state.mutable_nodes());
  admin_->ListApps(&context, &kListApps, state.mutable_apps());
  admin_->ListAcmeNames(&context, &kListAcme, state.mutable_acme());
  admin::v1::ReplicaStatus replica;
  admin_->GetReplicaStatus(&context, &kReplicaStatus, &replica);
  state.set_snapshot_version(replica.snapshot_version());
  state.mutable_nodes()->set_current_version(replica.snapshot_version());
  for (const admin::v1::StreamHead& head : replica.streams()) {
    if (head.stream() != options_.loadbalancer_stream && head.stream() != options_.certbus_stream) continue;
    admin::v1::ReadStreamRequest read;
    read.set_stream(head.stream());
    read.set_after_version(head.version() > static_cast<uint64_t>(options_.recent_events)
                               ? head.version() - options_.recent_events
                               : 0);
    admin::v1::ReadStreamResponse entries;
    if (!admin_->ReadStream(&context, &read, &entries).ok()) continue;
    for (const admin::v1::StreamEntry& entry : entries.entries()) {
      for (const std::string& line : entry.lines()) {
        absl::StatusOr<events::v1::Event> event = ParseEventLine(line);
        ::edgerouter::dashboard::v1::EventSummary* e = state.add_events();
        e->set_stream(head.stream());
        e->set_version(entry.version());
        if (!event.ok()) {
          e->set_type("(unreadable)");
          continue;
        }
        e->set_timestamp(event->timestamp());
        e->set_type(event->type());
        e->set_subject(Subject(*event));
      }
    }
  }
  auto* events = state.mutable_events();
  std::sort(events->begin(), events->end(), [](const auto& a, const auto& b) {
    return a.timestamp() != b.timestamp() ? a.timestamp() > b.timestamp() : a.version() > b.version();
  });
  while (events->size() > options_.recent_events) events->RemoveLast();
  return state;
}

WebResponse Dashboard::ServeState(const WebRequest& request, bool loopback) {
  WebResponse r;
  r.headers = {{"Cache-Control", "no-store"}};
  if (!Authorized(request.authorization, loopback, request.client_verified)) {
    r.status = options_.token.empty() ? 403 : 401;
    r.body = options_.client_certs ? "a client certificate signed by --http_tls_client_ca is required\n"
             : options_.token.empty()
                 ? "the dashboard is served on loopback only unless --dashboard_token_file or --http_tls_client_ca is set\n"
                 : "bearer token required\n";
    if (!options_.token.empty()) r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  {
    absl::MutexLock lock(&mu_);
    if (admin_ == nullptr) {
      r.status = 503;
      r.body = "starting\n";
      return r;
    }
  }
  google::protobuf::util::JsonPrintOptions json;
  json.preserve_proto_field_names = true;
  json.always_print_primitive_fields = true;
  const auto printed = google::protobuf::util::MessageToJsonString(State(), &r.body, json);
  if (!printed.ok()) {
    r.status = 500;
    r.body = "state not rendered\n";
    return r;
  }
  r.content_type = "application/json";
  return r;
}

void Dashboard::Register(WebServer* server) {
  server->Handle("/", [](const WebRequest&) {
    WebResponse r;
    r.status = 302;
    r.headers = {{"Location", "/dashboard/"}};
    r.body = "/dashboard/\n";
    return r;
  });
  server->Handle("/dashboard/", [](const WebRequest&) { return Asset("text/html; charset=utf-8", kDashboardHtml); });
  server->Handle("/dashboard/app.js", [](const WebRequest&) { return Asset("text/javascript; charset=utf-8", kDashboardJs); });
  server->Handle("/dashboard/style.css", [](const WebRequest&) { return Asset("text/css; charset=utf-8", kDashboardCss); });
  server->Handle("/dashboard/api/state",
                 [this, server](const WebRequest& request) { return ServeState(request, server->loopback()); });
}

}  // namespace edgerouter::controlplane::dashboard
