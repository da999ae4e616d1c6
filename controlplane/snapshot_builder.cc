#include "controlplane/snapshot_builder.h"

#include <openssl/sha.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/app_config.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace edgerouter::controlplane {
namespace {

std::string HashHex(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16));
}

std::string DeterministicBytes(const google::protobuf::Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);  // map order (headers_to_origin) is fixed
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

snapshot::v1::RejectedItem Rejected(std::string source, std::string id, std::string reason) {
  snapshot::v1::RejectedItem item;
  item.set_source(std::move(source));
  item.set_id(std::move(id));
  item.set_reason(std::move(reason));
  return item;
}

}  // namespace

std::string ContentVersion(const google::protobuf::Message& message) {
  return HashHex(DeterministicBytes(message));
}

PreparedApp PrepareApp(config::v1::Application app, std::string origin) {
  PreparedApp prepared;
  prepared.id = app.id();
  prepared.origin = std::move(origin);
  prepared.problems = config::ValidateApplication(app);
  if (!prepared.problems.empty()) return prepared;
  auto resource = std::make_shared<snapshot::v1::Resource>();
  resource->set_name(absl::StrCat("app/", app.id()));
  resource->set_version(ContentVersion(app));
  *resource->mutable_app() = std::move(app);
  prepared.resource = std::move(resource);
  return prepared;
}

ResourcePtr PrepareCertificate(const events::v1::CertificateObtained& cert) {
  auto resource = std::make_shared<snapshot::v1::Resource>();
  resource->set_name(absl::StrCat("cert/", cert.id()));
  snapshot::v1::Certificate* c = resource->mutable_certificate();
  c->set_id(cert.id());
  c->mutable_domains()->CopyFrom(cert.domains());
  c->set_expires(cert.expires());
  c->set_cert_pem_bundle(cert.cert_pem_bundle());
  c->set_private_key_dek_fingerprint(cert.private_key_dek_fingerprint());
  c->set_private_key_ciphertext(cert.private_key_ciphertext());
  resource->set_version(ContentVersion(*c));
  return resource;
}

ResourcePtr PrepareIpRules(config::v1::IpRules rules, std::string origin) {
  auto resource = std::make_shared<snapshot::v1::Resource>();
  resource->set_name("iprules");
  rules.set_origin(std::move(origin));
  *resource->mutable_ip_rules() = std::move(rules);
  resource->set_version(ContentVersion(resource->ip_rules()));
  return resource;
}

std::string ResourceTraits::Digest(const std::vector<ResourcePtr>& chunk) {
  std::string lines;
  for (const ResourcePtr& r : chunk) absl::StrAppend(&lines, r->name(), "\n", r->version(), "\n");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(lines.data()), lines.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), 16);
}

snapshot::v1::Snapshot BuiltSnapshot::ToProto() const {
  snapshot::v1::Snapshot out;
  out.set_version(version);
  out.mutable_resources()->Reserve(static_cast<int>(resources.size()));
  for (const ResourcePtr& r : resources) *out.add_resources() = *r;
  return out;
}

const snapshot::v1::Resource* BuiltSnapshot::Find(const std::string& name) const {
  const ResourcePtr* r = resources.Find(name);
  return r != nullptr ? r->get() : nullptr;
}

std::string BuiltSnapshot::OriginOf(const std::string& app_id) const {
  const PreparedAppPtr* app = apps.Find(app_id);
  return app != nullptr ? (*app)->origin : "";
}

std::shared_ptr<const BuiltSnapshot> SnapshotBuilder::Build(
    const std::vector<AppCandidates>& changed, std::vector<ResourceSet::Change> certificates,
    const std::vector<ResourcePtr>& others, std::vector<snapshot::v1::RejectedItem> source_rejections) {
  std::vector<ResourceSet::Change> resource_changes;
  std::vector<AppSet::Change> app_changes;
  std::vector<ResourceSet::Change> other_changes = std::move(certificates);  // then "acme/", "iprules"
  app_changes.reserve(changed.size());
  resource_changes.reserve(changed.size());
  for (const AppCandidates& c : changed) {
    // The first valid copy wins; invalid copies and later duplicates are reported.
    const PreparedApp* winner = nullptr;
    std::vector<snapshot::v1::RejectedItem> rejections;
    for (const PreparedAppPtr& app : c.apps) {
      if (!app->problems.empty()) {
        rejections.push_back(Rejected(app->origin, app->id, absl::StrJoin(app->problems, "; ")));
      } else if (winner != nullptr) {
        rejections.push_back(Rejected(app->origin, app->id, absl::StrCat("duplicate id; ", winner->origin, " wins")));
      } else {
        winner = app.get();
        app_changes.emplace_back(c.id, app);
      }
    }
    if (winner == nullptr) app_changes.emplace_back(c.id, nullptr);
    resource_changes.emplace_back(absl::StrCat("app/", c.id), winner != nullptr ? winner->resource : nullptr);
    if (rejections.empty()) {
      app_rejections_.erase(c.id);
    } else {
      app_rejections_[c.id] = std::move(rejections);
    }
  }
  std::map<std::string, ResourcePtr> now;
  for (const ResourcePtr& r : others) now.emplace(r->name(), r);
  // Merge of the two sorted maps: removed, added and changed names.
  auto o = others_.begin();
  auto n = now.begin();
  while (o != others_.end() || n != now.end()) {
    if (n == now.end() || (o != others_.end() && o->first < n->first)) {
      other_changes.emplace_back(o->first, nullptr);
      ++o;
    } else if (o == others_.end() || n->first < o->first) {
      other_changes.emplace_back(n->first, n->second);
      ++n;
    } else {
      if (o->second != n->second) {
        other_changes.emplace_back(n->first, n->second);
      }
      ++o;
      ++n;
    }
  }
  others_ = std::move(now);
  resource_changes.insert(resource_changes.end(), std::make_move_iterator(other_changes.begin()),
                          std::make_move_iterator(other_changes.end()));
  auto by_key = [](const auto& a, const auto& b) { return a.first < b.first; };
  if (!std::is_sorted(resource_changes.begin(), resource_changes.end(), by_key)) {
    std::sort(resource_changes.begin(), resource_changes.end(), by_key);
  }
  if (!std::is_sorted(app_changes.begin(), app_changes.end(), by_key)) {
    std::sort(app_changes.begin(), app_changes.end(), by_key);
  }
  resources_ = resources_.With(std::move(resource_changes));
  apps_ = apps_.With(std::move(app_changes));

  auto built = std::make_shared<BuiltSnapshot>();
  built->resources = resources_;
  built->apps = apps_;
  std::string digests;
  digests.reserve(resources_.chunks().size() * 16);
  for (const auto& chunk : resources_.chunks()) digests += chunk->digest;
  built->version = HashHex(digests);
  built->rejected = std::move(source_rejections);
  for (const auto& [id, items] : app_rejections_) {
    built->rejected.insert(built->rejected.end(), items.begin(), items.end());
  }
  std::sort(built->rejected.begin(), built->rejected.end(), [](const auto& a, const auto& b) {
    return std::tie(a.source(), a.id(), a.reason()) < std::tie(b.source(), b.id(), b.reason());
  });
  built->built_at = absl::Now();
  return built;
}

std::shared_ptr<const BuiltSnapshot> BuildSnapshot(const std::vector<const AppSource*>& sources,
                                                   const std::vector<ResourcePtr>& certificates,
                                                   ResourcePtr ip_rules) {
  std::map<std::string, std::vector<PreparedAppPtr>> by_id;
  std::vector<snapshot::v1::RejectedItem> source_rejections;
  for (const AppSource* source : sources) {
    source_rejections.insert(source_rejections.end(), source->rejected.begin(), source->rejected.end());
    for (const PreparedAppPtr& app : source->apps) by_id[app->id].push_back(app);
  }
  std::vector<AppCandidates> changed;
  changed.reserve(by_id.size());
  for (auto& [id, apps] : by_id) changed.push_back({id, std::move(apps)});
  std::vector<ResourceSet::Change> certs;
  for (const ResourcePtr& c : certificates) certs.emplace_back(c->name(), c);
  std::sort(certs.begin(), certs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<ResourcePtr> others;
  if (ip_rules != nullptr) others.push_back(std::move(ip_rules));
  SnapshotBuilder builder;
  return builder.Build(changed, std::move(certs), others, std::move(source_rejections));
}

}  // namespace edgerouter::controlplane
