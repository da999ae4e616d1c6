// TLS for the control-plane ↔ data-plane gRPC channel (and edgerouterctl): PEM files named by
// --grpc_tls_cert / --grpc_tls_key / --grpc_tls_ca on both sides. With a CA, the server requires
// and verifies client certificates (mutual TLS); without any file the channel is plaintext,
// which the control plane accepts only on loopback.
#ifndef EDGEROUTER_COMMON_GRPC_TLS_H_
#define EDGEROUTER_COMMON_GRPC_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace edgerouter {

struct GrpcTlsFiles {
  std::string cert;  // PEM chain of this side
  std::string key;   // PEM private key of this side
  std::string ca;    // PEM trust anchors for the peer
  bool enabled() const { return !cert.empty() || !key.empty() || !ca.empty(); }
};

// Server: cert and key required when enabled; a CA makes client certificates mandatory.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(const GrpcTlsFiles& files);
// Client: the CA is required when enabled (the server is always verified); cert and key go
// together.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> GrpcChannelCredentials(const GrpcTlsFiles& files);

}  // namespace edgerouter

#endif  // EDGEROUTER_COMMON_GRPC_TLS_H_
