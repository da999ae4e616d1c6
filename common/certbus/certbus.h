// CertBus private-key wrapping (edgerouter reference §10.3): certificate private keys travel
// through the event streams and snapshots encrypted for the edge nodes' RSA key-encryption key
// (KEK); only data planes, which hold the KEK, decrypt them.
//
// Ciphertext layout (gokit pkencryptedstream, no MAC):
//   uint16 LE N | N bytes RSA-OAEP(SHA-256, label "") of a random AES-256 key | 16-byte IV |
//   AES-256-CTR(key, IV) of the plaintext PEM private key.
// With no MAC, a tampered body is caught only when the result fails to parse as a consistent
// private key, which DecryptPrivateKey checks; callers should also VerifyKeyMatchesCertificate.
//
// Error messages never contain key material or plaintext.
#ifndef EDGEROUTER_COMMON_CERTBUS_CERTBUS_H_
#define EDGEROUTER_COMMON_CERTBUS_CERTBUS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace edgerouter::certbus {

// Environment variable holding the KEK as base64 of a PEM RSA private key, as in edgerouter.
constexpr char kKekEnv[] = "CERTBUS_CLIENT_PRIVKEY";

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// The RSA public half of a KEK: what `cert import` encrypts to.
class KekPublicKey {
 public:
  KekPublicKey(KekPublicKey&&) = default;
  KekPublicKey& operator=(KekPublicKey&&) = default;

  // "SHA256:<base64 RawStd of sha256(SSH wire format)>", as `ssh-keygen -l -E sha256`.
  const std::string& fingerprint() const { return fingerprint_; }
  // "ssh-rsa AAAA…" (no comment).
  std::string ToOpenSsh() const;
  EVP_PKEY* pkey() const { return key_.get(); }

  // Takes an RSA key (public or private; only the public half is used).
  static absl::StatusOr<KekPublicKey> FromPkey(PkeyPtr key);

 private:
  friend class Kek;
  KekPublicKey(PkeyPtr key, std::string fingerprint)
      : key_(std::move(key)), fingerprint_(std::move(fingerprint)) {}
  PkeyPtr key_;
  std::string fingerprint_;
};

// The RSA key-encryption key of the edge nodes (private). Movable, not copyable. One Kek may
// serve concurrent Decrypt calls from several threads (each call has its own OpenSSL context).
class Kek {
 public:
  Kek(Kek&&) = default;
  Kek& operator=(Kek&&) = default;

  const std::string& fingerprint() const { return fingerprint_; }
  KekPublicKey public_key() const;
  EVP_PKEY* pkey() const { return key_.get(); }

  // Takes an RSA private key.
  static absl::StatusOr<Kek> FromPkey(PkeyPtr key);

 private:
  Kek(PkeyPtr key, std::string fingerprint)
      : key_(std::move(key)), fingerprint_(std::move(fingerprint)) {}
  PkeyPtr key_;
  std::string fingerprint_;
};

// PEM RSA private key: PKCS#1 (`RSA PRIVATE KEY`) or unencrypted PKCS#8 (`PRIVATE KEY`).
absl::StatusOr<Kek> LoadKekFromPem(absl::string_view pem);
absl::StatusOr<Kek> LoadKekFromPemFile(const std::string& path);
// Standard base64 (whitespace ignored) of the PEM, the form of CERTBUS_CLIENT_PRIVKEY.
absl::StatusOr<Kek> LoadKekFromBase64Pem(absl::string_view b64);
// From $CERTBUS_CLIENT_PRIVKEY; NotFound when it is unset or empty (dev mode).
absl::StatusOr<Kek> LoadKekFromEnv();

// RSA public key: PEM PKCS#1 (`RSA PUBLIC KEY`) or SPKI (`PUBLIC KEY`), or one OpenSSH line
// `ssh-rsa AAAA… [comment]`.
absl::StatusOr<KekPublicKey> LoadKekPublicKey(absl::string_view text);
absl::StatusOr<KekPublicKey> LoadKekPublicKeyFile(const std::string& path);

// Encrypts `plaintext` for the KEK in the §10.3 format (fresh AES key and IV every call).
absl::StatusOr<std::string> Encrypt(const KekPublicKey& kek, absl::string_view plaintext);

// Reverses Encrypt. `fingerprint` is the one the ciphertext was made for (the event's
// PrivateKeyDekFingerprint): a mismatch with kek.fingerprint() is FailedPrecondition naming
// both. Truncated input and RSA failures are InvalidArgument/DataLoss. Returns raw bytes: with
// no MAC, a tampered body decrypts to garbage without error here.
absl::StatusOr<std::string> Decrypt(const Kek& kek, absl::string_view fingerprint,
                                    absl::string_view ciphertext);

// Decrypt, then require a PEM private key that OpenSSL parses and whose parts are consistent
// (a self-test signature verifies with its own public key): this is how a tampered ciphertext is
// detected (DataLoss).
absl::StatusOr<std::string> DecryptPrivateKey(const Kek& kek, absl::string_view fingerprint,
                                              absl::string_view ciphertext);

// OK when the first certificate of `cert_pem_bundle` (the leaf) has the public key of
// `key_pem` (PEM RSA/EC/Ed25519 private key, PKCS#1, SEC1 or PKCS#8) and the key is consistent.
absl::Status VerifyKeyMatchesCertificate(absl::string_view cert_pem_bundle,
                                         absl::string_view key_pem);

// Parses a PEM private key (no passphrase prompt, ever). InvalidArgument without details of
// the content.
absl::StatusOr<PkeyPtr> ParsePrivateKeyPem(absl::string_view pem);

// SSH wire format of an RSA public key (string "ssh-rsa", mpint e, mpint n) and its
// fingerprint; InvalidArgument for non-RSA keys.
absl::StatusOr<std::string> SshWireFormat(EVP_PKEY* key);
absl::StatusOr<std::string> Fingerprint(EVP_PKEY* key);

}  // namespace edgerouter::certbus

#endif  // EDGEROUTER_COMMON_CERTBUS_CERTBUS_H_
