#include "controlplane/acme/acme_stream.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/app_config.h"
#include "common/event_line.h"
#include "common/json_codec.h"

namespace edgerouter::acme {
namespace {

template <typename Payload>
bool Decode(const events::v1::Event& event, Payload* payload) {
  return config::DecodeEventPayload(event.payload_json(), config::InputMode::kTolerant, payload).ok();
}

// A token is one path segment of base64url characters (RFC 8555 §8.3).
bool ValidToken(const std::string& token) {
  if (token.empty() || token.size() > 256) return false;
  for (char c : token) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace

std::string AcmeStreamName(const std::string& tenant) { return absl::StrCat("/t-", tenant, "/acme"); }

events::v1::Event MakeAcmeEvent(const std::string& type, const google::protobuf::Message& payload) {
  return MakeSystemEvent(type, ToCompactJson(payload));
}

void AcmeStreamState::Apply(const controlplane::LogEntry& entry) {
  version_ = entry.version;
  for (const events::v1::Event& event : entry.events) {
    bool ok = false;
    if (event.type() == "AcmeAccountKeyCreated") {
      events::v1::AcmeAccountKeyCreated created;
      ok = Decode(event, &created) && !created.key_pem().empty();
      if (ok && account_key_pem_.empty()) account_key_pem_ = created.key_pem();
    } else if (event.type() == "AcmeChallengesPublished") {
      events::v1::AcmeChallengesPublished published;
      ok = Decode(event, &published);
      for (const events::v1::AcmeHttp01Challenge& c : published.challenges()) {
        if (ValidToken(c.token())) challenges_[c.token()] = c;
      }
    } else if (event.type() == "AcmeChallengesWithdrawn") {
      events::v1::AcmeChallengesWithdrawn withdrawn;
      ok = Decode(event, &withdrawn);
      for (const std::string& token : withdrawn.tokens()) challenges_.erase(token);
    } else if (event.type() == "AcmeOrderStarted") {
      events::v1::AcmeOrderStarted started;
      ok = Decode(event, &started) && !started.domain().empty();
      if (ok) open_orders_[started.domain()] = started.order_url();
    } else if (event.type() == "AcmeOrderEnded") {
      events::v1::AcmeOrderEnded ended;
      ok = Decode(event, &ended);
      if (ok) open_orders_.erase(ended.domain());
    }
    if (!ok) ++skipped_;
  }
}

std::vector<controlplane::ResourcePtr> AcmeStreamState::ChallengeResources() const {
  std::vector<controlplane::ResourcePtr> out;
  out.reserve(challenges_.size());
  for (const auto& [token, c] : challenges_) {  // map order: sorted by name
    auto r = std::make_shared<snapshot::v1::Resource>();
    r->set_name(absl::StrCat("acme/", token));
    snapshot::v1::AcmeChallenge* challenge = r->mutable_acme_challenge();
    challenge->set_token(token);
    challenge->set_key_authorization(c.key_authorization());
    challenge->set_domain(c.domain());
    r->set_version(controlplane::ContentVersion(*challenge));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace edgerouter::acme
