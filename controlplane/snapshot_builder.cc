#include "controlplane/snapshot_builder.h"

#include <openssl/sha.h>

#include <algorithm>

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
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), 16));
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

snapshot::RejectedItem Rejected(std::string source, std::string id, std::string reason) {
  snapshot::RejectedItem item;
  item.set_source(std::move(source));
  item.set_id(std::move(id));
  item.set_reason(std::move(reason));
  return item;
}

}  // namespace

std::string ContentVersion(const google::protobuf::Message& message) {
  return HashHex(DeterministicBytes(message));
}

std::shared_ptr<const BuiltSnapshot> BuildSnapshot(
    const std::vector<AppSource>& sources,
    const std::map<std::string, events::CertificateObtained>& certs) {
  auto built = std::make_shared<BuiltSnapshot>();
  std::map<std::string, snapshot::Resource> resources;  // sorted by name

  for (const AppSource& source : sources) {
    for (const auto& r : source.rejected) built->rejected.push_back(r);
    for (const SourcedApp& sourced : source.apps) {
      const config::Application& app = sourced.app;
      std::vector<std::string> problems = config::ValidateApplication(app);
      if (!problems.empty()) {
        built->rejected.push_back(Rejected(sourced.origin, app.id(), absl::StrJoin(problems, "; ")));
        continue;
      }
      const std::string name = absl::StrCat("app/", app.id());
      auto existing = built->app_origins.find(app.id());
      if (existing != built->app_origins.end()) {
        built->rejected.push_back(Rejected(
            sourced.origin, app.id(), absl::StrCat("duplicate id; ", existing->second, " wins")));
        continue;
      }
      built->app_origins[app.id()] = sourced.origin;
      snapshot::Resource& resource = resources[name];
      resource.set_name(name);
      *resource.mutable_app() = app;
      resource.set_version(ContentVersion(resource.app()));
    }
  }

  for (const auto& [id, cert] : certs) {
    const std::string name = absl::StrCat("cert/", id);
    snapshot::Resource& resource = resources[name];
    resource.set_name(name);
    snapshot::Certificate* c = resource.mutable_certificate();
    c->set_id(cert.id());
    c->mutable_domains()->CopyFrom(cert.domains());
    c->set_expires(cert.expires());
    c->set_cert_pem_bundle(cert.cert_pem_bundle());
    c->set_private_key_dek_fingerprint(cert.private_key_dek_fingerprint());
    c->set_private_key_ciphertext(cert.private_key_ciphertext());
    resource.set_version(ContentVersion(*c));
  }

  std::string version_input;
  for (auto& [name, resource] : resources) {
    absl::StrAppend(&version_input, name, "\n", resource.version(), "\n");
    *built->snapshot.add_resources() = std::move(resource);
  }
  built->snapshot.set_version(HashHex(version_input));
  std::sort(built->rejected.begin(), built->rejected.end(), [](const auto& a, const auto& b) {
    return std::tie(a.source(), a.id()) < std::tie(b.source(), b.id());
  });
  built->built_at = absl::Now();
  return built;
}

}  // namespace edgerouter::controlplane
