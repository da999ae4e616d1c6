#include "dataplane/acme/challenge_responder.h"

#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace edgerouter::dpacme {
namespace {

void AddIfChallenge(const std::shared_ptr<const snapshot::v1::Resource>& r, ChallengeTokens* out) {
  if (r == nullptr || !r->has_acme_challenge()) return;
  const snapshot::v1::AcmeChallenge& c = r->acme_challenge();
  if (!c.token().empty()) out->answers[c.token()] = c.key_authorization();
}

}  // namespace

std::shared_ptr<const ChallengeTokens> UpdateChallengeTokens(const xds::SnapshotView& update,
                                                             std::shared_ptr<const ChallengeTokens> previous) {
  const bool full = update.full_state || update.resources == nullptr;
  if (!full) {
    bool touched = false;
    for (const auto* names : {&update.changed, &update.removed}) {
      for (const std::string& name : *names) touched |= absl::StartsWith(name, kChallengeResourcePrefix);
    }
    if (!touched) return previous;
  }
  auto tokens = std::make_shared<ChallengeTokens>();
  if (update.resources != nullptr) {
    if (full) {
      update.resources->ForEach([&](const std::string& name, const std::shared_ptr<const snapshot::v1::Resource>& r) {
        if (absl::StartsWith(name, kChallengeResourcePrefix)) AddIfChallenge(r, tokens.get());
      });
    } else {
      // Few challenges at a time: re-read the previous ones and the changed ones by name.
      if (previous != nullptr) {
        for (const auto& [token, answer] : previous->answers) {
          const auto* r = update.resources->Find(std::string(kChallengeResourcePrefix) + token);
          if (r != nullptr) AddIfChallenge(*r, tokens.get());
        }
      }
      for (const std::string& name : update.changed) {
        if (!absl::StartsWith(name, kChallengeResourcePrefix)) continue;
        const auto* r = update.resources->Find(name);
        if (r != nullptr) AddIfChallenge(*r, tokens.get());
      }
    }
  }
  if (tokens->answers.empty()) return nullptr;
  return tokens;
}

const std::string* FindChallengeAnswer(const ChallengeTokens* tokens, absl::string_view method,
                                       absl::string_view path) {
  if (tokens == nullptr || (method != "GET" && method != "HEAD")) return nullptr;
  if (!absl::ConsumePrefix(&path, kChallengePathPrefix)) return nullptr;
  auto it = tokens->answers.find(path);
  return it == tokens->answers.end() ? nullptr : &it->second;
}

}  // namespace edgerouter::dpacme
