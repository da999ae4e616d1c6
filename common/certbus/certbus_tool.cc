// Test helper for the Python interop check:
//   certbus_tool fingerprint PUBFILE             → the KEK fingerprint
//   certbus_tool encrypt PUBFILE < plain > ct    → §10.3 ciphertext
//   certbus_tool decrypt KEKFILE FP < ct > plain → raw plaintext
//   certbus_tool decrypt-key KEKFILE FP < ct     → the PEM key, checked as DecryptPrivateKey does
// Exit 0 on success, 1 with one error line on stderr otherwise, 2 on usage errors.
#include <iostream>
#include <iterator>
#include <string>

#include "common/certbus/certbus.h"

namespace {

int Fail(const absl::Status& status) {
  std::cerr << "certbus_tool: " << status.ToString() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace edgerouter::certbus;
  const std::string cmd = argc > 1 ? argv[1] : "";
  std::string input;
  if (cmd == "encrypt" || cmd == "decrypt" || cmd == "decrypt-key") {
    input.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  if ((cmd == "fingerprint" || cmd == "encrypt") && argc == 3) {
    absl::StatusOr<KekPublicKey> key = LoadKekPublicKeyFile(argv[2]);
    if (!key.ok()) return Fail(key.status());
    if (cmd == "fingerprint") {
      std::cout << key->fingerprint() << "\n";
      return 0;
    }
    absl::StatusOr<std::string> ct = Encrypt(*key, input);
    if (!ct.ok()) return Fail(ct.status());
    std::cout << *ct;
    return 0;
  }
  if ((cmd == "decrypt" || cmd == "decrypt-key") && argc == 4) {
    absl::StatusOr<Kek> kek = LoadKekFromPemFile(argv[2]);
    if (!kek.ok()) return Fail(kek.status());
    absl::StatusOr<std::string> plain = cmd == "decrypt" ? Decrypt(*kek, argv[3], input)
                                                         : DecryptPrivateKey(*kek, argv[3], input);
    if (!plain.ok()) return Fail(plain.status());
    std::cout << *plain;
    return 0;
  }
  std::cerr << "usage: certbus_tool fingerprint PUB | encrypt PUB | decrypt KEK FP | "
               "decrypt-key KEK FP\n";
  return 2;
}
