// ACME problem documents (RFC 8555 §6.7, RFC 7807) as absl::Status: the message carries the
// context (request and URL, or the name being authorized), the problem type, detail and
// subproblems; payloads keep the type and any Retry-After so a caller can back off without
// parsing text.
#ifndef EDGEROUTER_CONTROLPLANE_ACME_ACME_PROBLEM_H_
#define EDGEROUTER_CONTROLPLANE_ACME_ACME_PROBLEM_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace edgerouter::acme {

inline constexpr char kAcmeErrorPrefix[] = "urn:ietf:params:acme:error:";

struct AcmeProblem {
  struct Sub {
    std::string type;
    std::string detail;
    std::string identifier;  // "dns:a.example" when the CA names one
  };
  std::string type;  // full URN, e.g. "urn:ietf:params:acme:error:rateLimited"
  std::string detail;
  std::vector<Sub> subproblems;

  // "<type>: <detail>; subproblems: [dns:a.example] <type>: <detail>, …"
  std::string ToString() const;
};

// A problem document from JSON (a response body, or an `error` member of an order, authz or
// challenge). Non-objects and objects without `type` give nullopt.
std::optional<AcmeProblem> ParseProblem(const nlohmann::json& json);

// Retry-After: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); nullopt if absent or invalid.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

// `context: <problem> (HTTP <status>)`, with a code chosen from the problem type (rateLimited
// → RESOURCE_EXHAUSTED, validation failures → FAILED_PRECONDITION, badNonce → ABORTED,
// accountDoesNotExist → NOT_FOUND, serverInternal/5xx → UNAVAILABLE, other client errors →
// INVALID_ARGUMENT). `http_status` 0 leaves the HTTP part out.
absl::Status ProblemStatus(absl::string_view context, const AcmeProblem& problem, long http_status,
                           std::optional<absl::Duration> retry_after);

// `status` with a Retry-After payload (what RetryAfter() reads).
absl::Status WithRetryAfter(absl::Status status, absl::Duration retry_after);

// What ProblemStatus attached: the problem type URN ("" if none), the server's Retry-After.
std::string ProblemType(const absl::Status& status);
std::optional<absl::Duration> RetryAfter(const absl::Status& status);
bool IsRateLimited(const absl::Status& status);

}  // namespace edgerouter::acme

#endif  // EDGEROUTER_CONTROLPLANE_ACME_ACME_PROBLEM_H_
