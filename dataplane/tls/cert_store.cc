#include "dataplane/tls/cert_store.h"

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/tls1.h>


#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log/log.h"
#include "common/metrics.h"

namespace edgerouter::tls {
namespace {

constexpr size_t kMaxName = 253;

// Lower-cased, trailing dot dropped, into `buf` (kMaxName + 1 bytes): no heap on the hot path.
absl::string_view NormalizeInto(absl::string_view name, char* buf) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.size() > kMaxName) return {};
  for (size_t i = 0; i < name.size(); ++i) buf[i] = absl::ascii_tolower(static_cast<unsigned char>(name[i]));
  return absl::string_view(buf, name.size());
}

// host_name from a raw server_name extension (RFC 6066 §3), or "".
absl::string_view ParseServerName(const unsigned char* p, size_t len) {
  if (len < 5 || p[2] != TLSEXT_NAMETYPE_host_name) return {};
  const size_t n = (static_cast<size_t>(p[3]) << 8) | p[4];
  if (5 + n > len) return {};
  return absl::string_view(reinterpret_cast<const char*>(p + 5), n);
}

int OnClientHello(SSL* ssl, int* alert, void* arg) {
  auto* slot = static_cast<WorkerTlsSlot*>(arg);
  const unsigned char* ext = nullptr;
  size_t ext_len = 0;
  absl::string_view name;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &ext_len) == 1) {
    name = ParseServerName(ext, ext_len);
  }
  SSL_CTX* ctx = slot->store != nullptr ? slot->store->Select(name) : nullptr;
  if (ctx == nullptr) {
    slot->last_failed_sni.assign(name.data(), name.size());
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
  }
  if (ctx != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, ctx);
  return SSL_CLIENT_HELLO_SUCCESS;
}

void LogCert(log::Level level, const char* msg, const CertEntry& e, absl::string_view detail) {
  log::Line line = log::At(level, msg);
  line.Kv("cert_id", e.id).Kv("domains", absl::StrJoin(e.domains, ","));
  if (!detail.empty()) line.Kv("error", detail);
}

}  // namespace

std::string CertStore::NormalizeName(absl::string_view name) {
  char buf[kMaxName + 1];
  return std::string(NormalizeInto(name, buf));
}

SSL_CTX* CertStore::Select(absl::string_view server_name) const {
  if (dev_ != nullptr) return dev_.get();
  char buf[kMaxName + 3];
  absl::string_view name = NormalizeInto(server_name, buf + 2);
  if (!name.empty()) {
    if (auto it = by_name_.find(name); it != by_name_.end()) return it->second;
    const size_t dot = name.find('.');
    if (dot != absl::string_view::npos && dot > 0) {
      // "*" + ".rest", written just before the rest inside the same buffer.
      char* star = buf + 2 + dot - 1;
      star[0] = '*';
      star[1] = '.';
      absl::string_view wildcard(star, name.size() - dot + 1);
      if (auto it = by_name_.find(wildcard); it != by_name_.end()) return it->second;
    }
  }
  return default_.get();
}

void CertStore::AddEntry(std::shared_ptr<const CertEntry> entry, bool expired) {
  by_id_[entry->id] = entry;
  if (entry->ctx != nullptr) {
    ++loaded_;
    expired_ += expired;
    for (const std::string& domain : entry->domains) {
      const std::string name = NormalizeName(domain);
      if (!name.empty()) by_name_[name] = entry->ctx.get();  // later certificates win
    }
  }
  entries_.push_back(std::move(entry));
}

std::shared_ptr<const CertEntry> CertStore::Find(absl::string_view id, absl::string_view version) const {
  auto it = by_id_.find(id);
  return it != by_id_.end() && it->second->version == version ? it->second : nullptr;
}

CertErrorCounters& CertErrorCounters::Global() {
  static CertErrorCounters* c = new CertErrorCounters();
  return *c;
}

std::string CertErrorCounters::RenderPrometheus() const {
  std::string out;
  metrics::AppendFamilyHeader(&out, "edgerouter_certificate_errors_total", "counter",
                              "Snapshot certificates skipped, by reason.");
  const std::pair<const char*, uint64_t> rows[] = {{"no_kek", no_kek.load()},
                                                   {"wrong_kek", wrong_kek.load()},
                                                   {"decrypt", decrypt.load()},
                                                   {"key_mismatch", key_mismatch.load()},
                                                   {"bad_certificate", bad_certificate.load()}};
  for (const auto& [reason, n] : rows) {
    absl::StrAppend(&out, "edgerouter_certificate_errors_total{reason=\"", reason, "\"} ", n, "\n");
  }
  return out;
}

std::shared_ptr<const CertStore> BuildCertStore(const snapshot::v1::Snapshot& snapshot, const CertStoreOptions& options) {
  CertResources certs;
  for (const snapshot::v1::Resource& r : snapshot.resources()) {
    if (r.has_certificate()) certs.push_back(std::make_shared<const snapshot::v1::Resource>(r));
  }
  return BuildCertStore(certs, options);
}

std::shared_ptr<const CertStore> BuildCertStore(const CertResources& certs, const CertStoreOptions& options) {
  auto store = std::make_shared<CertStore>();
  store->set_default(options.default_cert);
  store->set_dev(options.dev_cert);
  CertErrorCounters& errors = CertErrorCounters::Global();
  for (const std::shared_ptr<const snapshot::v1::Resource>& resource : certs) {
    const snapshot::v1::Resource& r = *resource;
    if (!r.has_certificate()) continue;
    const snapshot::v1::Certificate& c = r.certificate();
    if (options.previous != nullptr) {
      if (auto same = options.previous->Find(c.id(), r.version())) {
        const bool expired = same->not_after < options.now;
        store->AddEntry(std::move(same), expired);  // unchanged: no second decryption, no second log line
        continue;
      }
    }
    auto entry = std::make_shared<CertEntry>();
    entry->id = c.id();
    entry->version = r.version();
    entry->domains.assign(c.domains().begin(), c.domains().end());
    if (!options.unwrap) {
      entry->error = "no KEK configured";
      errors.no_kek++;
    } else {
      absl::StatusOr<std::string> key = options.unwrap(c);
      if (!key.ok()) {
        entry->error = std::string(key.status().message());
        if (absl::IsPermissionDenied(key.status())) {
          errors.wrong_kek++;
        } else if (absl::IsUnavailable(key.status())) {
          errors.no_kek++;
        } else if (absl::IsFailedPrecondition(key.status())) {
          errors.key_mismatch++;
        } else {
          errors.decrypt++;
        }
      } else {
        absl::StatusOr<SslCtxPtr> ctx = NewCertificateContext(c.cert_pem_bundle(), *key, &entry->not_after);
        OPENSSL_cleanse(key->data(), key->size());
        if (ctx.ok()) {
          entry->ctx = *std::move(ctx);
        } else {
          entry->error = std::string(ctx.status().message());
          if (absl::IsFailedPrecondition(ctx.status())) {
            errors.key_mismatch++;
          } else {
            errors.bad_certificate++;
          }
        }
      }
    }
    if (entry->ctx == nullptr) {
      LogCert(log::Level::kError, "certificate skipped", *entry, entry->error);
    } else if (entry->not_after < options.now) {
      LogCert(log::Level::kWarn, "certificate expired (still served)", *entry,
              absl::StrCat("expired ", absl::FormatTime(absl::RFC3339_sec, entry->not_after, absl::UTCTimeZone())));
    } else {
      LogCert(log::Level::kInfo, "certificate loaded", *entry, "");
    }
    const bool expired = entry->not_after < options.now;
    store->AddEntry(std::move(entry), expired);
  }
  return store;
}

void InstallCertSelector(SSL_CTX* base, WorkerTlsSlot* slot) {
  SSL_CTX_set_client_hello_cb(base, OnClientHello, slot);
}

}  // namespace edgerouter::tls
