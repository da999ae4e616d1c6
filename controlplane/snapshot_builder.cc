#include "controlplane/snapshot_builder.h"

#include <openssl/sha.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
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

snapshot::v1::Snapshot BuiltSnapshot::ToProto() const {
  snapshot::v1::Snapshot out;
  out.set_version(version);
  for (const ResourcePtr& r : resources) *out.add_resources() = *r;
  return out;
}

const snapshot::v1::Resource* BuiltSnapshot::Find(const std::string& name) const {
  auto it = std::lower_bound(resources.begin(), resources.end(), name,
                             [](const ResourcePtr& r, const std::string& n) { return r->name() < n; });
  return it != resources.end() && (*it)->name() == name ? it->get() : nullptr;
}

std::string BuiltSnapshot::OriginOf(const std::string& app_id) const {
  auto it = std::lower_bound(apps.begin(), apps.end(), app_id,
                             [](const auto& a, const std::string& id) { return a->id < id; });
  return it != apps.end() && (*it)->id == app_id ? (*it)->origin : "";
}

std::shared_ptr<const BuiltSnapshot> BuildSnapshot(const std::vector<const AppSource*>& sources,
                                                   const std::vector<ResourcePtr>& certificates,
                                                   ResourcePtr ip_rules) {
  auto built = std::make_shared<BuiltSnapshot>();
  // Sources are usually sorted already (maps keyed by id); vectors + one sort keep a rebuild of
  // 10k apps to a few milliseconds.
  absl::flat_hash_map<absl::string_view, const PreparedApp*> winners;
  for (const AppSource* source : sources) {
    for (const auto& r : source->rejected) built->rejected.push_back(r);
    for (const auto& app : source->apps) {
      if (!app->problems.empty()) {
        built->rejected.push_back(Rejected(app->origin, app->id, absl::StrJoin(app->problems, "; ")));
        continue;
      }
      auto [existing, inserted] = winners.emplace(app->id, app.get());
      if (!inserted) {
        built->rejected.push_back(Rejected(
            app->origin, app->id, absl::StrCat("duplicate id; ", existing->second->origin, " wins")));
        continue;
      }
      built->apps.push_back(app);
    }
  }
  auto by_id = [](const auto& a, const auto& b) { return a->id < b->id; };
  if (!std::is_sorted(built->apps.begin(), built->apps.end(), by_id)) {
    std::sort(built->apps.begin(), built->apps.end(), by_id);
  }
  // "app/<id>" in id order, then "cert/<id>": already sorted by name when certs are.
  built->resources.reserve(built->apps.size() + certificates.size());
  for (const auto& app : built->apps) built->resources.push_back(app->resource);
  for (const ResourcePtr& cert : certificates) built->resources.push_back(cert);
  if (ip_rules != nullptr) built->resources.push_back(std::move(ip_rules));  // "iprules" sorts last
  auto by_name = [](const ResourcePtr& a, const ResourcePtr& b) { return a->name() < b->name(); };
  if (!std::is_sorted(built->resources.begin(), built->resources.end(), by_name)) {
    std::sort(built->resources.begin(), built->resources.end(), by_name);
  }

  std::string version_input;
  version_input.reserve(built->resources.size() * 64);
  for (const ResourcePtr& r : built->resources) {
    absl::StrAppend(&version_input, r->name(), "\n", r->version(), "\n");
  }
  built->version = HashHex(version_input);
  std::sort(built->rejected.begin(), built->rejected.end(), [](const auto& a, const auto& b) {
    return std::tie(a.source(), a.id()) < std::tie(b.source(), b.id());
  });
  built->built_at = absl::Now();
  return built;
}

}  // namespace edgerouter::controlplane
