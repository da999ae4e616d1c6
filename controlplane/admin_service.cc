#include "controlplane/admin_service.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/app_config.h"
#include "common/event_line.h"
#include "common/event_redact.h"
#include "common/json_codec.h"
#include "common/log/log.h"
#include "common/redact.h"
#include "controlplane/stream_state.h"

namespace edgerouter::controlplane {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

grpc::Status AdminService::AppendChecked(events::v1::Event event,
                                         const std::function<grpc::Status(bool exists)>& check,
                                         const std::string& app_id, uint64_t* version) {
  const std::string stream = hub_->loadbalancer_stream();
  // Apps from applications.json (or Docker) are owned by that source, not by the stream.
  if (auto snap = hub_->Current()) {
    const std::string origin = snap->OriginOf(app_id);
    if (!origin.empty() && !absl::StartsWith(origin, stream + "@")) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          absl::StrCat("app ", app_id, " is defined by ", origin, "; change it there"));
    }
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    uint64_t seen_version = 0;
    const bool exists = hub_->StreamHasApp(app_id, &seen_version);
    if (grpc::Status s = check(exists); !s.ok()) return s;
    absl::StatusOr<uint64_t> appended = log_->Append(stream, {event}, seen_version);
    if (appended.ok()) {
      *version = *appended;
      hub_->WaitForStreamVersion(*appended, absl::Seconds(5));
      return grpc::Status::OK;
    }
    if (appended.status().code() != absl::StatusCode::kAborted) return ToGrpcStatus(appended.status());
  }
  return grpc::Status(grpc::StatusCode::ABORTED, "too many concurrent writers on " + stream);
}

grpc::Status AdminService::PutApp(grpc::ServerContext*, const admin::v1::PutAppRequest* request,
                                  admin::v1::PutAppResponse* response) {
  absl::StatusOr<config::v1::Application> app =
      config::ParseApplication(request->application_json(), config::InputMode::kStrict);
  if (!app.ok()) return ToGrpcStatus(app.status());
  events::v1::AppUpdated updated;
  *updated.mutable_application() = *app;
  const admin::v1::PutMode mode = request->mode();
  uint64_t version = 0;
  grpc::Status s = AppendChecked(
      MakeSystemEvent("AppUpdated", ToCompactJson(updated)),
      [&](bool exists) {
        if (mode == admin::v1::CREATE_ONLY && exists) {
          return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                              absl::StrCat("app ", app->id(), " already exists"));
        }
        if (mode == admin::v1::UPDATE_ONLY && !exists) {
          return grpc::Status(grpc::StatusCode::NOT_FOUND,
                              "app doesn't exist. did you mean to create new with '--new'?");
        }
        return grpc::Status::OK;
      },
      app->id(), &version);
  response->set_stream_version(version);
  return s;
}

grpc::Status AdminService::DeleteApp(grpc::ServerContext*, const admin::v1::DeleteAppRequest* request,
                                     admin::v1::DeleteAppResponse* response) {
  events::v1::AppDeleted deleted;
  deleted.set_id(request->id());
  uint64_t version = 0;
  grpc::Status s = AppendChecked(
      MakeSystemEvent("AppDeleted", ToCompactJson(deleted)),
      [&](bool exists) {
        return exists ? grpc::Status::OK
                      : grpc::Status(grpc::StatusCode::NOT_FOUND, "app to delete not found");
      },
      request->id(), &version);
  response->set_stream_version(version);
  return s;
}

grpc::Status AdminService::ImportApps(grpc::ServerContext*, const admin::v1::ImportAppsRequest* request,
                                      admin::v1::ImportAppsResponse* response) {
  const std::string stream = hub_->loadbalancer_stream();
  std::shared_ptr<const BuiltSnapshot> snap = hub_->Current();
  std::vector<events::v1::Event> batch;
  absl::flat_hash_set<std::string> seen;
  auto refuse = [&](int index, const std::string& id, absl::string_view why) {
    admin::v1::ImportError* e = response->add_errors();
    e->set_index(index);
    e->set_id(id);
    e->set_error(std::string(why));
  };
  for (int i = 0; i < request->application_json_size(); ++i) {
    absl::StatusOr<config::v1::Application> app =
        config::ParseApplication(request->application_json(i), config::InputMode::kStrict);
    if (!app.ok()) {
      refuse(i, "", app.status().message());
      continue;
    }
    if (!seen.insert(app->id()).second) {
      refuse(i, app->id(), absl::StrCat("app ", app->id(), " appears more than once"));
      continue;
    }
    // As for PutApp: apps of applications.json (or Docker) belong to that source.
    const std::string origin = snap != nullptr ? snap->OriginOf(app->id()) : "";
    if (!origin.empty() && !absl::StartsWith(origin, stream + "@")) {
      refuse(i, app->id(), absl::StrCat("app ", app->id(), " is defined by ", origin, "; change it there"));
      continue;
    }
    events::v1::AppUpdated updated;
    *updated.mutable_application() = *std::move(app);
    batch.push_back(MakeSystemEvent("AppUpdated", ToCompactJson(updated)));
  }
  if (batch.empty()) return grpc::Status::OK;
  const int imported = static_cast<int>(batch.size());
  absl::StatusOr<uint64_t> appended = log_->Append(stream, std::move(batch), std::nullopt);
  if (!appended.ok()) return ToGrpcStatus(appended.status());
  response->set_stream_version(*appended);
  response->set_imported(imported);
  // A following `app ls` sees the apps (the rebuild of thousands of apps takes a moment).
  hub_->WaitForStreamVersion(*appended, absl::Seconds(30));
  return grpc::Status::OK;
}

grpc::Status AdminService::GetApp(grpc::ServerContext*, const admin::v1::GetAppRequest* request,
                                  admin::v1::GetAppResponse* response) {
  std::shared_ptr<const BuiltSnapshot> snap = hub_->Current();
  const std::string name = "app/" + request->id();
  if (snap != nullptr) {
    if (const snapshot::v1::Resource* r = snap->Find(name)) {
      response->set_application_json(config::ToEdgerouterJson(r->app()));
      response->set_source(snap->OriginOf(request->id()));
      return grpc::Status::OK;
    }
    for (const auto& r : snap->rejected) {
      if (r.id() == request->id()) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            absl::StrCat("app ", request->id(), " is rejected (", r.source(), "): ",
                                         r.reason()));
      }
    }
  }
  return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("app ", request->id(), " not found"));
}

grpc::Status AdminService::ListApps(grpc::ServerContext*, const admin::v1::ListAppsRequest*,
                                    admin::v1::ListAppsResponse* response) {
  std::shared_ptr<const BuiltSnapshot> snap = hub_->Current();
  if (snap == nullptr) return grpc::Status::OK;
  for (const ResourcePtr& ptr : snap->resources) {
    const snapshot::v1::Resource& r = *ptr;
    if (!r.has_app()) continue;
    admin::v1::AppSummary* summary = response->add_apps();
    summary->set_id(r.app().id());
    for (const auto& f : r.app().frontends()) summary->add_frontends(config::DescribeFrontend(f));
    summary->set_backend(config::DescribeBackend(r.app().backend()));
    summary->set_source(snap->OriginOf(r.app().id()));
  }
  for (const auto& r : snap->rejected) *response->add_rejected() = r;
  return grpc::Status::OK;
}

grpc::Status AdminService::GetSnapshot(grpc::ServerContext*, const admin::v1::GetSnapshotRequest* request,
                                       admin::v1::GetSnapshotResponse* response) {
  std::shared_ptr<const BuiltSnapshot> snap = hub_->Current();
  if (snap == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no snapshot built yet");
  *response->mutable_snapshot() = snap->ToProto();
  if (!request->include_secrets()) RedactSecrets(response->mutable_snapshot());
  for (const auto& r : snap->rejected) *response->add_rejected() = r;
  response->set_built_unix_ms(absl::ToUnixMillis(snap->built_at));
  return grpc::Status::OK;
}

grpc::Status AdminService::ListNodes(grpc::ServerContext*, const admin::v1::ListNodesRequest*,
                                     admin::v1::ListNodesResponse* response) {
  for (admin::v1::NodeStatus& node : discovery_->Nodes()) *response->add_nodes() = std::move(node);
  if (auto snap = hub_->Current()) response->set_current_version(snap->version);
  return grpc::Status::OK;
}

grpc::Status AdminService::GetReplicaStatus(grpc::ServerContext*, const admin::v1::GetReplicaStatusRequest*,
                                            admin::v1::ReplicaStatus* response) {
  response->set_replica_id(replica_.replica_id);
  response->set_event_log(replica_.event_log);
  response->set_started_unix_ms(absl::ToUnixMillis(replica_.started));
  if (auto snap = hub_->Current()) {
    response->set_ready(true);
    response->set_snapshot_version(snap->version);
  }
  std::vector<std::string> streams = log_->Streams();
  std::sort(streams.begin(), streams.end());
  for (const std::string& stream : streams) {
    admin::v1::StreamHead* head = response->add_streams();
    head->set_stream(stream);
    head->set_version(log_->Head(stream));
  }
  if (replica_.leases) {
    for (admin::v1::LeaseStatus& lease : replica_.leases()) *response->add_leases() = std::move(lease);
  }
  for (admin::v1::NodeStatus& node : discovery_->Nodes()) *response->add_nodes() = std::move(node);
  return grpc::Status::OK;
}

grpc::Status AdminService::ReadStream(grpc::ServerContext*, const admin::v1::ReadStreamRequest* request,
                                      admin::v1::ReadStreamResponse* response) {
  if (absl::Status s = ValidateStreamName(request->stream()); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<std::vector<LogEntry>> entries =
      log_->ReadAfter(request->stream(), request->after_version(), 10000);
  if (!entries.ok()) return ToGrpcStatus(entries.status());
  for (const LogEntry& entry : *entries) {
    admin::v1::StreamEntry* out = response->add_entries();
    out->set_version(entry.version);
    for (events::v1::Event e : entry.events) {
      if (!request->include_secrets()) RedactEventSecrets(&e);
      out->add_lines(FormatEventLine(e));
    }
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::AppendStream(grpc::ServerContext*,
                                        const admin::v1::AppendStreamRequest* request,
                                        admin::v1::AppendStreamResponse* response) {
  if (request->lines().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no event lines given");
  }
  const absl::Time start = absl::Now();
  std::vector<events::v1::Event> batch;
  for (int i = 0; i < request->lines_size(); ++i) {
    absl::StatusOr<events::v1::Event> event = ParseEventLine(request->lines(i));
    absl::Time unused;
    std::string error;
    if (event.ok() && !absl::ParseTime(absl::RFC3339_full, event->timestamp(), &unused, &error)) {
      event = absl::InvalidArgumentError(
          absl::StrCat("event line: timestamp \"", event->timestamp(), "\" is not RFC 3339"));
    }
    if (!event.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("line ", i + 1, ": ", event.status().message()));
    }
    // A payload no reducer can use would be skipped (and warned about) on every start, forever.
    if (absl::Status s = ValidateEventForAppend(*event); !s.ok() && !request->force()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("line ", i + 1, ": ", event->type(), ": ", s.message(),
                                       " (force stores it anyway)"));
    }
    batch.push_back(*std::move(event));
  }
  std::optional<uint64_t> expected;
  if (request->has_expected_version()) expected = request->expected_version();
  const size_t events = batch.size();
  const absl::Time parsed = absl::Now();
  absl::StatusOr<uint64_t> version = log_->Append(request->stream(), std::move(batch), expected);
  if (!version.ok()) return ToGrpcStatus(version.status());
  response->set_version(*version);
  const absl::Time appended = absl::Now();
  if (request->stream() == hub_->loadbalancer_stream()) {
    hub_->WaitForStreamVersion(*version, absl::Seconds(5));
  } else if (request->stream() == hub_->certbus_stream()) {
    hub_->WaitForCertbusVersion(*version, absl::Seconds(5));
  }
  // Per-stage times of one append (tail-latency hunts): parse, log append (with its fsync),
  // the wait for the snapshot that includes it.
  log::Debug("stream appended")
      .Kv("stream", request->stream())
      .Kv("version", *version)
      .Kv("events", events)
      .Ms("parse_ms", parsed - start)
      .Ms("append_ms", appended - parsed)
      .Ms("build_wait_ms", absl::Now() - appended);
  return grpc::Status::OK;
}

grpc::Status AdminService::PutCertificate(grpc::ServerContext*,
                                          const admin::v1::PutCertificateRequest* request,
                                          admin::v1::PutCertificateResponse* response) {
  const events::v1::CertificateObtained& cert = request->certificate();
  if (absl::Status s = ValidateCertificate(cert); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<uint64_t> version = log_->Append(
      hub_->certbus_stream(), {MakeSystemEvent("CertificateObtained", ToCompactJson(cert))},
      std::nullopt);
  if (!version.ok()) return ToGrpcStatus(version.status());
  response->set_stream_version(*version);
  hub_->WaitForCertbusVersion(*version, absl::Seconds(5));
  return grpc::Status::OK;
}

}  // namespace edgerouter::controlplane
