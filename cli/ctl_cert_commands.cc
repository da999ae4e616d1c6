#include "cli/ctl_cert_commands.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/certbus/cert_info.h"
#include "common/certbus/certificate_event.h"
#include "cli/ctl_call.h"
#include "cli/ctl_format.h"
#include "grpcpp/grpcpp.h"

namespace edgerouter::ctl {
namespace {

constexpr absl::Duration kSoon = absl::Hours(24 * 14);

// `bazel run` starts us in the runfiles tree; relative paths mean the caller's directory.
std::string ResolvePath(const std::string& path) {
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || path[0] == '/' || cwd == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream file(ResolvePath(path), std::ios::binary);
  if (!file) return absl::NotFoundError("cannot read " + path);
  std::stringstream buffer;
  buffer << file.rdbuf();
  return buffer.str();
}

int Fail(const Invocation& inv, const absl::Status& status, std::ostream& err) {
  err << "edgerouterctl: " << inv.name << ": " << OneLine(std::string(status.message())) << "\n";
  return 1;
}

int CertImport(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& err) {
  absl::StatusOr<std::string> cert = ReadFile(inv.cert_file);
  if (!cert.ok()) return Fail(inv, cert.status(), err);
  absl::StatusOr<std::string> key = ReadFile(inv.key_file);
  if (!key.ok()) return Fail(inv, key.status(), err);
  absl::StatusOr<certbus::KekPublicKey> kek =
      certbus::LoadKekPublicKeyFile(ResolvePath(inv.kek_public_file));
  if (!kek.ok()) return Fail(inv, kek.status(), err);
  absl::StatusOr<events::v1::CertificateObtained> event =
      certbus::MakeCertificateObtained(*cert, *key, *kek, inv.cert_id);
  OPENSSL_cleanse(key->data(), key->size());  // the plaintext key is not needed any more
  if (!event.ok()) return Fail(inv, event.status(), err);

  if (absl::StatusOr<absl::Time> expiry = certbus::ParseRfc3339(event->expires());
      expiry.ok() && *expiry <= absl::Now()) {
    err << "edgerouterctl: warning: certificate " << event->id() << " expired at "
        << event->expires() << "\n";
  }
  admin::v1::PutCertificateRequest request;
  *request.mutable_certificate() = *event;
  admin::v1::PutCertificateResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  if (CallFailed(inv, stub->PutCertificate(&context, request, &response), err)) return 1;
  err << "imported " << event->id() << " (" << absl::StrJoin(event->domains(), ",")
      << ", expires " << event->expires() << ", KEK " << event->private_key_dek_fingerprint()
      << ") (stream version " << response.stream_version() << ")\n";
  return 0;
}

int CertLs(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& out,
           std::ostream& err) {
  admin::v1::GetSnapshotResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  if (CallFailed(inv, stub->GetSnapshot(&context, admin::v1::GetSnapshotRequest(), &response), err)) {
    return 1;
  }
  admin::v1::ListAcmeNamesResponse acme;
  grpc::ClientContext acme_context;
  acme_context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  // An older control plane has no ListAcmeNames (UNIMPLEMENTED): the certificates are all it has.
  const bool have_acme = stub->ListAcmeNames(&acme_context, admin::v1::ListAcmeNamesRequest(), &acme).ok();
  if (inv.output == Output::kJson) {
    // {"certificates": <Snapshot holding only the certificate resources>, "acme": …|null}
    snapshot::v1::Snapshot certs;
    for (const snapshot::v1::Resource& r : response.snapshot().resources()) {
      if (r.has_certificate()) *certs.add_resources() = r;
    }
    absl::StatusOr<std::string> certs_json = FormatMessageJson(certs);
    absl::StatusOr<std::string> acme_json = have_acme ? FormatMessageJson(acme) : std::string("null");
    if (!certs_json.ok() || !acme_json.ok()) {
      err << "edgerouterctl: " << inv.name << ": cannot print JSON\n";
      return 1;
    }
    out << "{\"certificates\": " << *certs_json << ", \"acme\": " << *acme_json << "}\n";
    return 0;
  }
  out << FormatCertList(response, absl::Now());
  if (have_acme) out << FormatAcmeList(acme);
  return 0;
}

}  // namespace

std::string ExpiryStatus(absl::Time expiry, absl::Time now) {
  if (expiry <= now) return "EXPIRED";
  const absl::Duration left = expiry - now;
  if (left >= kSoon) return "ok";
  const int64_t days = (absl::ToInt64Seconds(left) + 86399) / 86400;  // a part day counts
  return absl::StrCat("expires in ", days, "d");
}

std::string FormatCertList(const admin::v1::GetSnapshotResponse& response, absl::Time now) {
  std::vector<std::vector<std::string>> rows = {{"ID", "DOMAINS", "EXPIRES", "STATUS"}};
  for (const snapshot::v1::Resource& r : response.snapshot().resources()) {
    if (!r.has_certificate()) continue;
    const snapshot::v1::Certificate& c = r.certificate();
    absl::StatusOr<absl::Time> expiry = certbus::ParseRfc3339(c.expires());
    rows.push_back({c.id(), absl::StrJoin(c.domains(), ","), c.expires().empty() ? "-" : c.expires(),
                    expiry.ok() ? ExpiryStatus(*expiry, now) : "unknown expiry"});
  }
  return FormatTable(rows);
}

std::string FormatAcmeList(const admin::v1::ListAcmeNamesResponse& response) {
  if (!response.enabled()) return "";
  std::string out = absl::StrCat("\nACME ", response.directory_url(), " (issuer: ",
                                 response.issuer_here() ? response.replica_id() + ", answering"
                                 : response.issuer_holder().empty() ? std::string("nobody holds the duties lease")
                                                                    : response.issuer_holder() +
                                                                          "; states as " + response.replica_id() + " sees them",
                                 ")\n");
  auto unix_time = [](int64_t t) {
    return t == 0 ? std::string("-") : absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(t), absl::UTCTimeZone());
  };
  std::vector<std::vector<std::string>> rows = {{"NAME", "STATE", "SOURCES", "EXPIRES", "DETAIL"}};
  for (const admin::v1::AcmeNameStatus& n : response.names()) {
    std::string detail = n.detail();
    if (n.state() == "failing") {
      detail = absl::StrCat(n.failures(), " failure(s), next attempt ", unix_time(n.retry_at_unix()), ": ", n.detail());
    } else if (n.state() == "issued" && n.renew_at_unix() != 0) {
      // The server's detail for an issued name is the CA's renewal window (ARI), when it gave one.
      detail = absl::StrCat("renews ", unix_time(n.renew_at_unix()), n.detail().empty() ? "" : "; ", n.detail());
    }
    rows.push_back({n.name(), n.state(), absl::StrJoin(n.sources(), ","), unix_time(n.not_after_unix()),
                    detail.empty() ? "-" : detail});
  }
  return out + FormatTable(rows);
}

int RunCertCommand(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& out,
                   std::ostream& err) {
  if (inv.command == Command::kCertImport) return CertImport(inv, stub, err);
  return CertLs(inv, stub, out, err);
}

}  // namespace edgerouter::ctl
