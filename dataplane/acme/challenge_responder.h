// ACME HTTP-01 on the data plane: the pending challenges of the control plane's issuer travel in
// the snapshot as "acme/<token>" resources; every data plane answers
// GET /.well-known/acme-challenge/<token> for exactly those tokens, before routing (so on plain
// HTTP even for apps that redirect to HTTPS). Any other path, or an unknown token, is routed as
// usual: an app mounted on that path keeps its requests.
#ifndef EDGEROUTER_DATAPLANE_ACME_CHALLENGE_RESPONDER_H_
#define EDGEROUTER_DATAPLANE_ACME_CHALLENGE_RESPONDER_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "dataplane/xds/resource_map.h"

namespace edgerouter::dpacme {

constexpr absl::string_view kChallengePathPrefix = "/.well-known/acme-challenge/";
constexpr absl::string_view kChallengeResourcePrefix = "acme/";

// Token → key authorization. Immutable once built; shared by configs while no challenge changed.
struct ChallengeTokens {
  absl::flat_hash_map<std::string, std::string> answers;
};

// The tokens after `update`: `previous` itself when the update touched no "acme/" resource
// (a delta costs O(change)); rebuilt from every resource on a full state. Null when there are
// none.
std::shared_ptr<const ChallengeTokens> UpdateChallengeTokens(const xds::SnapshotView& update,
                                                             std::shared_ptr<const ChallengeTokens> previous);

// The body to answer `method` `path` with, or null when the request is not for a held token
// (only GET and HEAD are answered; `path` is the request path without the query).
const std::string* FindChallengeAnswer(const ChallengeTokens* tokens, absl::string_view method,
                                       absl::string_view path);

}  // namespace edgerouter::dpacme

#endif  // EDGEROUTER_DATAPLANE_ACME_CHALLENGE_RESPONDER_H_
