// CertBus ciphertexts come from the event stream, so anyone who can append to it controls
// them: decryption must fail cleanly on any bytes, and a key it returns must be a usable one.
//
// The first input byte picks the layer. Even: the rest is a ciphertext for the fixed KEK below
// (the seeds are real ciphertexts for it, so mutations of the AES-CTR body reach the PEM and key
// checks behind the one RSA-OAEP decryption). Odd: the rest is KEK public-key text (PEM or our
// own ssh-rsa reader), with no RSA operation per input. Private-key PEM text itself is OpenSSL's
// parser: it is reached through decryption only, not fed arbitrary text (that cost half the time).
#include <cstdint>
#include <cstdlib>

#include "common/certbus/certbus.h"

namespace {

// A throwaway RSA-1024 test key (the smallest that holds an OAEP-SHA256 envelope of a 32-byte
// AES key): a decryption costs a quarter of a 2048-bit one. Never used outside this target.
constexpr char kFuzzKekPem[] = R"(
-----BEGIN RSA PRIVATE KEY-----
MIICWwIBAAKBgQCl9pHeyh7IgDrYkcyHK4/kgD7TglY/F9oNST/JD8610R1cXaIQ
XqcV37h+xGABQwwQLTepUBqpJDC7OpiVToR9yMoXAl0bhWkj3uWA35RRDwDIxzQ9
Lgg8CSVkbhXPpSE0El5bCdDwXXbMghqoTnG3SYz6doFD/LaPsg8I1LxSiQIDAQAB
AoGAOLEgpR0gJNeAwogTeL0Nuz1/uJqWQZkxOEakTldjAkK7p9ioSrU6mENC77K/
JM81aLU5hVHCubKOHvbmNmKK6SwApa9O7r24u296+DbLmDmUNef3v70pToBQszKL
HB3QDk3BUER0QiirSuQuXFaQ78GekNu2cgirCwRwycz6cXECQQDQBg6R+oYKrx0O
T67fh67QCEIkzL4mvCSCQAtSJ/uqiR9PGNwRhh/zq38t/wxJKqsGwWCTFNUln8gG
YIA3eUDVAkEAzD03Jv+Q3RBlG2mgcVQmOqqLLv4fxjUfV20RE3DJtgDzuoclLux0
iD2umjnFBEShofeEry8eyt0mbb1OIDoE5QJAYq8c5l+Eizj7fbiLavtBEOt6BV8j
rdh/MVMUi8rv9rzKH4nZjG6mZcAruzRNLcCSFchS+jNd0lV0XKIW8ToSaQJAbgo1
Yu+jL1gcAY8BgM3j4wvr/Z+xousQPdxnrN/B7ivJJaCW6hdAGf+RyUqC2e/YXhms
BW8P2iEZCVtLcpWP+QJACeeVhYFpIgn2LEKHX0JUOy5hQmXiPomx/mfuGZld36dh
JgqkKyTFd12wqJkSVGO07GSfrMCI4jD+SO5EaS9Meg==
-----END RSA PRIVATE KEY-----
)";

const edgerouter::certbus::Kek* kek = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto made = edgerouter::certbus::LoadKekFromPem(kFuzzKekPem);
  if (!made.ok()) abort();
  kek = new edgerouter::certbus::Kek(*std::move(made));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    absl::StatusOr<std::string> key =
        edgerouter::certbus::DecryptPrivateKey(*kek, kek->fingerprint(), rest);
    if (key.ok() && !edgerouter::certbus::ParsePrivateKeyPem(*key).ok()) abort();
  } else {
    edgerouter::certbus::LoadKekPublicKey(rest).ok();
  }
  return 0;
}
