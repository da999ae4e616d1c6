#include "dataplane/proxy/runtime_config.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/app_config.h"
#include "common/json_codec.h"
#include "common/redact.h"
#include "dataplane/backends/builtin.h"
#include "dataplane/http/escaping.h"

namespace edgerouter::proxy {
namespace {

absl::StatusOr<std::shared_ptr<const AppRuntime>> CompileApp(const std::shared_ptr<const snapshot::v1::Resource>& r,
                                                              int workers) {
  // The control plane validates, but a data plane must not trust its input blindly.
  std::vector<std::string> problems = config::ValidateApplication(r->app());
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("app ", r->app().id(), ": ", problems[0]));
  }
  // The backend kinds' factories, looked up by kind name (dataplane/backends/builtin.cc).
  absl::StatusOr<pipeline::Chain> chain = backends::CompileAppChain(r->app().id(), r->app().backend(), r->app().policies(), workers);
  if (!chain.ok()) return chain.status();
  auto app = std::make_shared<AppRuntime>(*std::move(chain));
  app->id = r->app().id();
  app->version = r->version();
  app->source = r;
  app->serves_metrics = app->chain.terminal().needs_metrics_text();
  app->serves_admin = app->chain.terminal().needs_admin_page();
  if (r->app().has_policies() && r->app().policies().has_compress()) {
    absl::StatusOr<policies::compress::Policy> compress =
        policies::compress::Policy::Compile(r->app().policies().compress());
    if (!compress.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("app ", r->app().id(), ": policies.", compress.status().message()));
    }
    app->compress = std::make_unique<const policies::compress::Policy>(*std::move(compress));
  }
  return std::shared_ptr<const AppRuntime>(std::move(app));
}

bool IsCertificate(const xds::ResourceMap& resources, const std::string& name) {
  const std::shared_ptr<const snapshot::v1::Resource>* r = resources.Find(name);
  return r != nullptr && (*r)->has_certificate();
}

std::string RenderAdminPage(const xds::ResourceMap& resources, const std::string& version, absl::Time applied_at) {
  std::string describe;
  for (const auto& [name, r] : resources.Sorted()) {
    if ((*r)->has_app()) absl::StrAppend(&describe, config::DescribeApplication((*r)->app()), "\n\n");
  }
  return absl::StrCat(
      "<!doctype html>\n<html><head><title>edgerouter admin</title></head><body>\n<pre>", http::HtmlEscape(describe),
      "Version: ", http::HtmlEscape(version), "\nLastUpdated: ",
      absl::FormatTime(absl::RFC3339_sec, applied_at, absl::UTCTimeZone()), "\n</pre>\n</body></html>\n");
}

}  // namespace

absl::StatusOr<std::shared_ptr<const RuntimeConfig>> CompileUpdate(const xds::SnapshotView& update,
                                                                   const RuntimeConfig* previous,
                                                                   const CompileOptions& options) {
  auto rc = std::make_shared<RuntimeConfig>();
  rc->version = update.version;
  rc->resources = *update.resources;  // shares every shard
  rc->resource_count = update.resources->size();
  if (previous != nullptr) {
    rc->apps = previous->apps;
    rc->metrics_apps = previous->metrics_apps;
    rc->admin_apps = previous->admin_apps;
  }

  // The names to look at: a delta's, or (full state) every name either side has.
  const bool full = update.full_state || previous == nullptr;
  std::vector<std::string> all_names;
  if (full) {
    update.resources->ForEach([&](const std::string& name, const auto&) { all_names.push_back(name); });
    if (previous != nullptr) {
      previous->apps.ForEach([&](const std::string& name, const auto&) {
        if (update.resources->Find(name) == nullptr) all_names.push_back(name);
      });
    }
  }
  bool certs_changed = full || previous == nullptr || previous->cert_names == nullptr;
  std::vector<routing::RouteTable::AppRoutes> unrouted, routed;
  auto visit = [&](const std::string& name) -> absl::Status {
    const std::shared_ptr<const AppRuntime>* found = rc->apps.Find(name);
    const std::shared_ptr<const AppRuntime> old = found != nullptr ? *found : nullptr;
    const std::shared_ptr<const snapshot::v1::Resource>* now = update.resources->Find(name);
    if (!certs_changed) {
      certs_changed = IsCertificate(*update.resources, name) || IsCertificate(previous->resources, name);
    }
    if (now != nullptr && (*now)->has_app()) {
      if (old != nullptr && !old->version.empty() && old->version == (*now)->version()) return absl::OkStatus();
      absl::StatusOr<std::shared_ptr<const AppRuntime>> app = CompileApp(*now, options.workers);
      if (!app.ok()) return app.status();
      routed.push_back({&(*app)->source->app(), *app});
      rc->metrics_apps += (*app)->serves_metrics;
      rc->admin_apps += (*app)->serves_admin;
      rc->apps.Set(name, *std::move(app));
    } else if (old != nullptr) {
      rc->apps.Erase(name);
    }
    if (old != nullptr) {
      unrouted.push_back({&old->source->app(), old});
      rc->metrics_apps -= old->serves_metrics;
      rc->admin_apps -= old->serves_admin;
    }
    return absl::OkStatus();
  };
  for (const std::vector<std::string>* names : {&std::as_const(all_names), &update.changed, &update.removed}) {
    for (const std::string& name : *names) {
      if (absl::Status s = visit(name); !s.ok()) return s;
    }
  }
  absl::StatusOr<std::unique_ptr<routing::RouteTable>> routes = routing::RouteTable::Update(
      previous != nullptr ? previous->routes.get() : nullptr, unrouted, routed, options.workers);
  if (!routes.ok()) return routes.status();
  rc->routes = *std::move(routes);
  rc->has_prom_metrics = rc->metrics_apps > 0;

  // Certificates: rebuilt only when a certificate resource changed (unchanged ones keep their
  // contexts through options.certs.previous).
  if (certs_changed) {
    auto names = std::make_shared<std::vector<std::string>>();
    if (full) {
      for (const std::string& name : all_names) {
        if (IsCertificate(*update.resources, name)) names->push_back(name);
      }
    } else {
      for (const std::string& name : *previous->cert_names) {
        if (IsCertificate(*update.resources, name)) names->push_back(name);
      }
      for (const std::string& name : update.changed) {
        if (IsCertificate(*update.resources, name)) names->push_back(name);
      }
    }
    std::sort(names->begin(), names->end());
    names->erase(std::unique(names->begin(), names->end()), names->end());
    tls::CertResources certs;
    certs.reserve(names->size());
    for (const std::string& name : *names) certs.push_back(*update.resources->Find(name));
    rc->certs = tls::BuildCertStore(certs, options.certs);
    rc->cert_names = std::move(names);
  } else {
    rc->certs = previous->certs;
    rc->cert_names = previous->cert_names;
  }

  rc->acme_challenges =
      dpacme::UpdateChallengeTokens(update, previous != nullptr ? previous->acme_challenges : nullptr);
  // IP rules: a handful of prefixes, compiled with every config; a bad one rejects the snapshot.
  if (const std::shared_ptr<const snapshot::v1::Resource>* r = update.resources->Find("iprules");
      r != nullptr && (*r)->has_ip_rules()) {
    if (previous != nullptr && previous->ip_rules != nullptr && previous->ip_rules_version == (*r)->version()) {
      rc->ip_rules = previous->ip_rules;
    } else {
      absl::StatusOr<std::shared_ptr<const backends::IpRuleSet>> rules = backends::IpRuleSet::Compile((*r)->ip_rules());
      if (!rules.ok()) return rules.status();
      rc->ip_rules = *std::move(rules);
    }
    rc->ip_rules_version = (*r)->version();
  }

  rc->applied_at = absl::Now();
  if (rc->admin_apps > 0) rc->admin_page = RenderAdminPage(rc->resources, rc->version, rc->applied_at);
  return std::shared_ptr<const RuntimeConfig>(std::move(rc));
}

absl::StatusOr<std::shared_ptr<const RuntimeConfig>> CompileSnapshot(const snapshot::v1::Snapshot& snapshot,
                                                                     const CompileOptions& options) {
  xds::ResourceMap resources;
  for (const snapshot::v1::Resource& r : snapshot.resources()) {
    resources.Set(r.name(), std::make_shared<const snapshot::v1::Resource>(r));
  }
  xds::SnapshotView view;
  view.version = snapshot.version();
  view.resources = &resources;
  view.full_state = true;
  return CompileUpdate(view, nullptr, options);
}

std::string RenderConfigDump(const RuntimeConfig& config) {
  // Secrets never appear in the dump: auth_v0 tokens, key ciphertexts (common/redact).
  snapshot::v1::Snapshot redacted = xds::ToSnapshot(config.version, config.resources);
  RedactSecrets(&redacted);
  return ToIndentedJson(redacted);
}

}  // namespace edgerouter::proxy
