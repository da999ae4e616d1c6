// Helpers for TLS end-to-end tests: shell commands (openssl, curl) with their output, test
// certificates made with the openssl CLI, and a library TLS client for handshake loops.
#ifndef EDGEROUTER_DATAPLANE_TEST_TLS_TEST_UTIL_H_
#define EDGEROUTER_DATAPLANE_TEST_TLS_TEST_UTIL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace edgerouter::testing {

// Runs `script` with /bin/sh; returns its combined output, ending with "EXIT=<code>".
std::string Shell(const std::string& script, absl::Duration timeout = absl::Seconds(60));

// Shell snippets (run in the certificate directory): a self-signed P-256 CA `<name>.pem` +
// `<name>.key`, and a leaf `<name>.crt` + `<name>.key` (plus `<name>.pem` = both) with subject
// CN=`cn`, signed by CA `ca`, with the given x509v3 extension lines (e.g.
// "subjectAltName=DNS:a.test").
std::string MakeCaScript(const std::string& name);
// `key` is an `openssl req -newkey` argument ("ec -pkeyopt ec_paramgen_curve:prime256v1" or
// "rsa:2048").
std::string MakeLeafScript(const std::string& name, const std::string& cn, const std::string& ca,
                           const std::string& extensions,
                           const std::string& key = "ec -pkeyopt ec_paramgen_curve:prime256v1");

// One full TLS handshake with the library (no session reuse, no verification) to
// 127.0.0.1:port with `sni` ("" = none); returns the leaf certificate's CN.
absl::StatusOr<std::string> HandshakeCn(int port, const std::string& sni);

}  // namespace edgerouter::testing

#endif  // EDGEROUTER_DATAPLANE_TEST_TLS_TEST_UTIL_H_
