// The certificate store of one runtime config: SNI name → server context, built off the hot
// path when a snapshot is compiled and read by handshakes without locks.
//
// Selection (edgerouter §10.4, plus a default): --dev_cert answers every name; otherwise the
// exact name, then the one-level wildcard (a.b.example.com → *.b.example.com), then the
// --default_cert; nothing → the handshake fails. Names compare case-insensitively and a
// trailing dot is ignored. When two certificates list the same name, the later one wins.
#ifndef EDGEROUTER_DATAPLANE_TLS_CERT_STORE_H_
#define EDGEROUTER_DATAPLANE_TLS_CERT_STORE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dataplane/tls/server_context.h"
#include "proto/snapshot.pb.h"

typedef struct ssl_st SSL;

namespace edgerouter::tls {

// Decrypts a snapshot certificate's private key to PEM (the CertBus envelope is opened with the
// node's KEK). Unset = no KEK: snapshot certificates are skipped.
using KeyUnwrapper = std::function<absl::StatusOr<std::string>(const snapshot::v1::Certificate&)>;

struct CertEntry {
  std::string id;
  std::string version;  // snapshot resource version: unchanged → the context is reused
  std::vector<std::string> domains;
  absl::Time not_after = absl::InfiniteFuture();
  SslCtxPtr ctx;        // null: the certificate failed (kept so the failure is reported once)
  std::string error;
};

class CertStore {
 public:
  // Lower-cases and drops one trailing dot. Returns "" for names longer than 253 bytes.
  static std::string NormalizeName(absl::string_view name);

  // The context for `server_name` ("" = no SNI), or null.
  SSL_CTX* Select(absl::string_view server_name) const;

  size_t loaded() const { return loaded_; }
  size_t expired() const { return expired_; }
  const std::vector<std::shared_ptr<const CertEntry>>& entries() const { return entries_; }

  // Building (before the store is shared).
  void AddEntry(std::shared_ptr<const CertEntry> entry, bool expired);
  void set_default(SslCtxPtr ctx) { default_ = std::move(ctx); }
  void set_dev(SslCtxPtr ctx) { dev_ = std::move(ctx); }
  // Entry of a previous store with this id and version (to reuse its context), or null.
  std::shared_ptr<const CertEntry> Find(absl::string_view id, absl::string_view version) const;

 private:
  absl::flat_hash_map<std::string, SSL_CTX*> by_name_;  // normalized names, "*.x.y" for wildcards
  std::vector<std::shared_ptr<const CertEntry>> entries_;
  absl::flat_hash_map<std::string, std::shared_ptr<const CertEntry>> by_id_;
  SslCtxPtr default_, dev_;
  size_t loaded_ = 0, expired_ = 0;
};

// Process-wide certificate error counters, by reason (rendered as
// edgerouter_certificate_errors_total{reason}).
struct CertErrorCounters {
  std::atomic<uint64_t> no_kek{0}, wrong_kek{0}, decrypt{0}, key_mismatch{0}, bad_certificate{0};
  static CertErrorCounters& Global();
  std::string RenderPrometheus() const;
};

struct CertStoreOptions {
  KeyUnwrapper unwrap;
  SslCtxPtr default_cert;
  SslCtxPtr dev_cert;
  const CertStore* previous = nullptr;
  absl::Time now = absl::Now();
};

// Builds the store for a snapshot's certificates. Never fails as a whole: a certificate whose
// key cannot be decrypted or does not match is skipped, logged with its id, and counted. The
// resources are shared, not copied: a cluster may hold 100,000 certificates of a few KB each.
using CertResources = std::vector<std::shared_ptr<const snapshot::v1::Resource>>;
std::shared_ptr<const CertStore> BuildCertStore(const CertResources& certs, const CertStoreOptions& options);
// The same from a Snapshot message (copied; tests and the store without a snapshot).
std::shared_ptr<const CertStore> BuildCertStore(const snapshot::v1::Snapshot& snapshot, const CertStoreOptions& options);

// Per-worker handshake state: the store the ClientHello callback reads (the worker points it at
// its current config's store between events) and the SNI of the last failed selection.
struct WorkerTlsSlot {
  const CertStore* store = nullptr;
  std::string last_failed_sni;
};

// Installs the ClientHello callback that switches a connection to its certificate's context.
void InstallCertSelector(SSL_CTX* base, WorkerTlsSlot* slot);

}  // namespace edgerouter::tls

#endif  // EDGEROUTER_DATAPLANE_TLS_CERT_STORE_H_
