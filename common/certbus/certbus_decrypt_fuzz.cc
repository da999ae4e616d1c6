// CertBus ciphertexts come from the event stream, so anyone who can append to it controls
// them: decryption must fail cleanly on any bytes, and a key it returns must be a usable one.
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstdint>
#include <cstdlib>

#include "common/certbus/certbus.h"

namespace {
edgerouter::certbus::Kek* kek = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  auto made = edgerouter::certbus::Kek::FromPkey(edgerouter::certbus::PkeyPtr(key));
  if (!made.ok()) abort();
  kek = new edgerouter::certbus::Kek(*std::move(made));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view ciphertext(reinterpret_cast<const char*>(data), size);
  edgerouter::certbus::Decrypt(*kek, kek->fingerprint(), ciphertext).ok();
  absl::StatusOr<std::string> key = edgerouter::certbus::DecryptPrivateKey(*kek, kek->fingerprint(), ciphertext);
  if (key.ok() && !edgerouter::certbus::ParsePrivateKeyPem(*key).ok()) abort();
  edgerouter::certbus::LoadKekPublicKey(ciphertext).ok();
  return 0;
}
