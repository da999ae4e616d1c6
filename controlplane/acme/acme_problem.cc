#include "controlplane/acme/acme_problem.h"

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace edgerouter::acme {
namespace {

constexpr char kTypePayload[] = "type.edgerouter/acme.problem_type";
constexpr char kRetryAfterPayload[] = "type.edgerouter/acme.retry_after_seconds";

std::string StringMember(const nlohmann::json& json, const char* key) {
  auto it = json.find(key);
  return it != json.end() && it->is_string() ? it->get<std::string>() : "";
}

absl::StatusCode CodeFor(absl::string_view type, long http_status) {
  absl::string_view name = type;
  if (!absl::ConsumePrefix(&name, kAcmeErrorPrefix)) name = "";
  if (name == "rateLimited") return absl::StatusCode::kResourceExhausted;
  if (name == "badNonce") return absl::StatusCode::kAborted;
  if (name == "accountDoesNotExist") return absl::StatusCode::kNotFound;
  if (name == "serverInternal") return absl::StatusCode::kUnavailable;
  if (name == "unauthorized" || name == "incorrectResponse" || name == "connection" || name == "dns" ||
      name == "tls" || name == "caa" || name == "userActionRequired" || name == "externalAccountRequired" ||
      name == "alreadyRevoked" || name == "orderNotReady" || name == "agreementRequired") {
    return absl::StatusCode::kFailedPrecondition;
  }
  if (http_status >= 500) return absl::StatusCode::kUnavailable;
  return absl::StatusCode::kInvalidArgument;
}

}  // namespace

std::string AcmeProblem::ToString() const {
  std::string out = absl::StrCat(type.empty() ? "(no problem type)" : type, ": ", detail);
  for (size_t i = 0; i < subproblems.size(); ++i) {
    const Sub& sub = subproblems[i];
    absl::StrAppend(&out, i == 0 ? "; subproblems: " : ", ");
    if (!sub.identifier.empty()) absl::StrAppend(&out, "[", sub.identifier, "] ");
    absl::StrAppend(&out, sub.type, ": ", sub.detail);
  }
  return out;
}

std::optional<AcmeProblem> ParseProblem(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("type")) return std::nullopt;
  AcmeProblem p;
  p.type = StringMember(json, "type");
  p.detail = StringMember(json, "detail");
  auto subs = json.find("subproblems");
  if (subs != json.end() && subs->is_array()) {
    for (const nlohmann::json& s : *subs) {
      if (!s.is_object()) continue;
      AcmeProblem::Sub sub{StringMember(s, "type"), StringMember(s, "detail"), ""};
      auto id = s.find("identifier");
      if (id != s.end() && id->is_object()) {
        sub.identifier = absl::StrCat(StringMember(*id, "type"), ":", StringMember(*id, "value"));
      }
      p.subproblems.push_back(std::move(sub));
    }
  }
  return p;
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(value, &seconds)) {
    if (seconds < 0) return std::nullopt;
    return absl::Seconds(seconds);
  }
  absl::Time when;
  std::string err;
  if (!absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", value, absl::UTCTimeZone(), &when, &err)) {
    return std::nullopt;
  }
  return when > now ? when - now : absl::ZeroDuration();
}

absl::Status ProblemStatus(absl::string_view context, const AcmeProblem& problem, long http_status,
                           std::optional<absl::Duration> retry_after) {
  std::string message = absl::StrCat(context, ": ", problem.ToString());
  if (http_status != 0) absl::StrAppend(&message, " (HTTP ", http_status, ")");
  if (retry_after.has_value()) {
    absl::StrAppend(&message, "; retry after ", absl::FormatDuration(*retry_after));
  }
  absl::Status status(CodeFor(problem.type, http_status), message);
  status.SetPayload(kTypePayload, absl::Cord(problem.type));
  return retry_after.has_value() ? WithRetryAfter(std::move(status), *retry_after) : status;
}

absl::Status WithRetryAfter(absl::Status status, absl::Duration retry_after) {
  status.SetPayload(kRetryAfterPayload, absl::Cord(absl::StrCat(absl::ToInt64Seconds(retry_after))));
  return status;
}

std::string ProblemType(const absl::Status& status) {
  auto type = status.GetPayload(kTypePayload);
  return type.has_value() ? std::string(*type) : "";
}

std::optional<absl::Duration> RetryAfter(const absl::Status& status) {
  auto value = status.GetPayload(kRetryAfterPayload);
  int64_t seconds = 0;
  if (!value.has_value() || !absl::SimpleAtoi(std::string(*value), &seconds)) return std::nullopt;
  return absl::Seconds(seconds);
}

bool IsRateLimited(const absl::Status& status) {
  return ProblemType(status) == absl::StrCat(kAcmeErrorPrefix, "rateLimited");
}

}  // namespace edgerouter::acme
