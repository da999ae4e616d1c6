#include "controlplane/acme/acme_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controlplane/acme/acme_csr.h"

namespace edgerouter::acme {
namespace {

std::string StringMember(const nlohmann::json& json, const char* key) {
  auto it = json.find(key);
  return it != json.end() && it->is_string() ? it->get<std::string>() : "";
}

std::optional<AcmeProblem> ErrorMember(const nlohmann::json& json) {
  auto it = json.find("error");
  return it == json.end() ? std::nullopt : ParseProblem(*it);
}

absl::StatusOr<nlohmann::json> ParseObject(const HttpResponse& r, absl::string_view what) {
  nlohmann::json json = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::DataLossError(
        absl::StrCat(what, ": the CA's answer is not a JSON object: ", r.body.substr(0, 200)));
  }
  return json;
}

AcmeOrder ParseOrder(const nlohmann::json& json, std::string url) {
  AcmeOrder order;
  order.url = std::move(url);
  order.status = StringMember(json, "status");
  if (auto ids = json.find("identifiers"); ids != json.end() && ids->is_array()) {
    for (const nlohmann::json& id : *ids) {
      if (id.is_object() && StringMember(id, "type") == "dns")
        order.dns_names.push_back(StringMember(id, "value"));
    }
  }
  if (auto authzs = json.find("authorizations"); authzs != json.end() && authzs->is_array()) {
    for (const nlohmann::json& a : *authzs) {
      if (a.is_string()) order.authorizations.push_back(a.get<std::string>());
    }
  }
  order.finalize = StringMember(json, "finalize");
  order.certificate = StringMember(json, "certificate");
  order.error = ErrorMember(json);
  return order;
}

AcmeAuthorization ParseAuthorization(const nlohmann::json& json, std::string url) {
  AcmeAuthorization authz;
  authz.url = std::move(url);
  authz.status = StringMember(json, "status");
  if (auto id = json.find("identifier"); id != json.end() && id->is_object()) {
    authz.dns_name = StringMember(*id, "value");
  }
  if (auto w = json.find("wildcard"); w != json.end() && w->is_boolean()) authz.wildcard = w->get<bool>();
  if (auto chs = json.find("challenges"); chs != json.end() && chs->is_array()) {
    for (const nlohmann::json& c : *chs) {
      if (!c.is_object()) continue;
      authz.challenges.push_back({StringMember(c, "type"), StringMember(c, "url"), StringMember(c, "status"),
                                  StringMember(c, "token"), ErrorMember(c)});
    }
  }
  return authz;
}

std::string OrderName(const AcmeOrder& order) {
  return absl::StrCat("order ", order.url, " (", absl::StrJoin(order.dns_names, ", "), ")");
}

absl::Status OrderFailed(const AcmeOrder& order) {
  const std::string what = OrderName(order);
  if (order.error.has_value())
    return ProblemStatus(absl::StrCat(what, " is invalid"), *order.error, 0, std::nullopt);
  return absl::FailedPreconditionError(absl::StrCat(what, " is ", order.status));
}

absl::Status CheckDeadline(absl::Time deadline, absl::string_view what) {
  if (absl::Now() < deadline) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat(what, ": deadline passed"));
}

}  // namespace

AcmeClient::AcmeClient(AcmeClientOptions options, AccountKey key)
    : options_(std::move(options)),
      key_(std::move(key)),
      http_(HttpClientOptions{.ca_file = options_.ca_file, .timeout = options_.request_timeout}) {}

absl::StatusOr<std::unique_ptr<AcmeClient>> AcmeClient::Connect(AcmeClientOptions options, AccountKey key) {
  std::unique_ptr<AcmeClient> client(new AcmeClient(std::move(options), std::move(key)));
  if (absl::Status s = client->FetchDirectory(); !s.ok()) return s;
  return client;
}

absl::Status AcmeClient::FetchDirectory() {
  const std::string what = absl::StrCat("ACME directory ", options_.directory_url);
  absl::StatusOr<HttpResponse> r = http_.Get(options_.directory_url);
  ++stats_.requests;
  if (!r.ok()) return absl::UnavailableError(absl::StrCat(what, ": ", r.status().message()));
  if (r->status != 200) {
    return absl::UnavailableError(absl::StrCat(what, ": HTTP ", r->status, ": ", r->body.substr(0, 200)));
  }
  absl::StatusOr<nlohmann::json> json = ParseObject(*r, what);
  if (!json.ok()) return json.status();
  directory_.new_nonce = StringMember(*json, "newNonce");
  directory_.new_account = StringMember(*json, "newAccount");
  directory_.new_order = StringMember(*json, "newOrder");
  directory_.revoke_cert = StringMember(*json, "revokeCert");
  directory_.key_change = StringMember(*json, "keyChange");
  directory_.renewal_info = StringMember(*json, "renewalInfo");
  if (auto meta = json->find("meta"); meta != json->end() && meta->is_object()) {
    directory_.terms_of_service = StringMember(*meta, "termsOfService");
    if (auto ear = meta->find("externalAccountRequired"); ear != meta->end() && ear->is_boolean()) {
      directory_.external_account_required = ear->get<bool>();
    }
  }
  for (const auto& [field, value] :
       {std::pair{"newNonce", &directory_.new_nonce}, std::pair{"newAccount", &directory_.new_account},
        std::pair{"newOrder", &directory_.new_order}}) {
    if (value->empty()) return absl::DataLossError(absl::StrCat(what, ": no \"", field, "\" URL"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> AcmeClient::TakeNonce() {
  if (!nonce_.empty()) return std::exchange(nonce_, "");
  absl::StatusOr<HttpResponse> r = http_.Head(directory_.new_nonce);
  ++stats_.requests;
  if (!r.ok()) return absl::UnavailableError(absl::StrCat("newNonce: ", r.status().message()));
  std::string nonce = r->Header("replay-nonce");
  if (nonce.empty()) {
    return absl::UnavailableError(
        absl::StrCat("newNonce ", directory_.new_nonce, ": HTTP ", r->status, " without a Replay-Nonce"));
  }
  return nonce;
}

void AcmeClient::KeepNonce(const HttpResponse& response) {
  std::string nonce = response.Header("replay-nonce");
  if (!nonce.empty()) nonce_ = std::move(nonce);
}

absl::StatusOr<HttpResponse> AcmeClient::Post(absl::string_view what, const std::string& url,
                                              absl::string_view payload, bool use_jwk,
                                              absl::string_view accept) {
  const std::string context = absl::StrCat(what, " at ", url);
  if (!use_jwk && account_url_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(context, ": no account (RegisterAccount or FindAccount first)"));
  }
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<std::string> nonce = TakeNonce();
    if (!nonce.ok()) return nonce.status();
    absl::StatusOr<std::string> jws =
        SignJws(key_, {.nonce = *nonce, .url = url, .kid = use_jwk ? "" : account_url_}, payload);
    if (!jws.ok()) return jws.status();
    absl::StatusOr<HttpResponse> r = http_.PostJose(url, *jws, accept);
    ++stats_.requests;
    if (!r.ok())
      return absl::UnavailableError(absl::StrCat(what, ": ", r.status().message()));  // names the URL
    KeepNonce(*r);
    if (r->status >= 200 && r->status < 300) {
      last_response_ = *r;
      return r;
    }
    nlohmann::json body = nlohmann::json::parse(r->body, nullptr, false);
    std::optional<AcmeProblem> problem = ParseProblem(body);
    if (problem.has_value() && problem->type == absl::StrCat(kAcmeErrorPrefix, "badNonce") && attempt == 0) {
      // The answer carried a fresh nonce (RFC 8555 §6.5); a second refusal is reported.
      ++stats_.bad_nonce_retries;
      continue;
    }
    if (!problem.has_value()) problem = AcmeProblem{.type = "", .detail = r->body.substr(0, 300)};
    return ProblemStatus(context, *problem, r->status,
                         ParseRetryAfter(r->Header("retry-after"), absl::Now()));
  }
}

absl::StatusOr<std::string> AcmeClient::AccountRequest(const nlohmann::json& payload,
                                                       absl::string_view what) {
  absl::StatusOr<HttpResponse> r = Post(what, directory_.new_account, payload.dump(), /*use_jwk=*/true);
  if (!r.ok()) return r.status();
  const std::string context = absl::StrCat(what, " at ", directory_.new_account);
  std::string location = r->Header("location");
  if (location.empty()) return absl::DataLossError(absl::StrCat(context, ": no Location (account URL)"));
  absl::StatusOr<nlohmann::json> json = ParseObject(*r, context);
  if (!json.ok()) return json.status();
  const std::string status = StringMember(*json, "status");
  if (status != "valid") {
    return absl::FailedPreconditionError(absl::StrCat(context, ": account ", location, " is ", status));
  }
  account_url_ = std::move(location);
  return account_url_;
}

absl::StatusOr<std::string> AcmeClient::RegisterAccount(const AcmeAccountRequest& request) {
  nlohmann::json payload = {{"termsOfServiceAgreed", request.terms_of_service_agreed}};
  if (!request.emails.empty()) {
    nlohmann::json contacts = nlohmann::json::array();
    for (const std::string& email : request.emails) {
      if (email.find('@') == std::string::npos || email.find_first_of(",; \t\r\n") != std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("ACME contact email \"", email, "\" is not an address"));
      }
      contacts.push_back(absl::StartsWith(email, "mailto:") ? email : absl::StrCat("mailto:", email));
    }
    payload["contact"] = std::move(contacts);
  }
  return AccountRequest(payload, "newAccount");
}

absl::StatusOr<std::string> AcmeClient::FindAccount() {
  return AccountRequest({{"onlyReturnExisting", true}}, "newAccount (onlyReturnExisting)");
}

absl::StatusOr<AcmeOrder> AcmeClient::NewOrder(const std::vector<std::string>& dns_names,
                                               const std::string& replaces) {
  if (dns_names.empty()) return absl::InvalidArgumentError("newOrder: no names");
  nlohmann::json ids = nlohmann::json::array();
  for (const std::string& name : dns_names) ids.push_back({{"type", "dns"}, {"value", name}});
  const std::string what = absl::StrCat("newOrder for ", absl::StrJoin(dns_names, ", "));
  nlohmann::json payload = {{"identifiers", ids}};
  if (!replaces.empty()) payload["replaces"] = replaces;
  absl::StatusOr<HttpResponse> r = Post(what, directory_.new_order, payload.dump());
  if (!r.ok() && !replaces.empty() && !ProblemType(r.status()).empty()) {
    // The CA refused the order as a replacement (already replaced, unknown certificate…): the
    // renewal matters more than the hint.
    return NewOrder(dns_names, "");
  }
  if (!r.ok()) return r.status();
  std::string location = r->Header("location");
  if (location.empty())
    return absl::DataLossError(absl::StrCat(what, " at ", directory_.new_order, ": no Location (order URL)"));
  absl::StatusOr<nlohmann::json> json = ParseObject(*r, what);
  if (!json.ok()) return json.status();
  return ParseOrder(*json, std::move(location));
}

std::string AcmeClient::renewal_info_url() const {
  return directory_.renewal_info.empty() ? options_.renewal_info_url : directory_.renewal_info;
}

absl::StatusOr<HttpResponse> AcmeClient::FetchRenewalInfo(const std::string& cert_id) {
  std::string base = renewal_info_url();
  if (base.empty()) return absl::FailedPreconditionError("the ACME directory offers no renewalInfo");
  while (absl::EndsWith(base, "/")) base.pop_back();
  const std::string url = absl::StrCat(base, "/", cert_id);
  ++stats_.requests;
  absl::StatusOr<HttpResponse> r = http_.Get(url);
  if (!r.ok()) return absl::Status(r.status().code(), absl::StrCat("renewalInfo ", url, ": ", r.status().message()));
  if (r->status < 200 || r->status > 299) {
    return absl::UnavailableError(absl::StrCat("renewalInfo ", url, ": HTTP ", r->status));
  }
  return r;
}

absl::StatusOr<AcmeOrder> AcmeClient::FetchOrder(const std::string& url) {
  absl::StatusOr<HttpResponse> r = Post("fetch order", url, "");
  if (!r.ok()) return r.status();
  absl::StatusOr<nlohmann::json> json = ParseObject(*r, absl::StrCat("order ", url));
  if (!json.ok()) return json.status();
  return ParseOrder(*json, url);
}

absl::StatusOr<AcmeAuthorization> AcmeClient::FetchAuthorization(const std::string& url) {
  absl::StatusOr<HttpResponse> r = Post("fetch authorization", url, "");
  if (!r.ok()) return r.status();
  absl::StatusOr<nlohmann::json> json = ParseObject(*r, absl::StrCat("authorization ", url));
  if (!json.ok()) return json.status();
  return ParseAuthorization(*json, url);
}

absl::Duration NextPollDelay(const AcmeClientOptions& options, std::optional<absl::Duration> retry_after,
                             absl::Duration* interval) {
  if (retry_after.has_value()) {
    // Never sooner than the CA asks, nor busier than our own interval.
    return std::max(*retry_after, options.poll_interval);
  }
  const absl::Duration wait = *interval;
  *interval = std::min(*interval * 2, options.poll_max_interval);
  return wait;
}

absl::Status AcmeClient::PollWait(const HttpResponse& last, absl::Duration* interval, absl::Time deadline,
                                  absl::string_view what) {
  const std::optional<absl::Duration> retry_after = ParseRetryAfter(last.Header("retry-after"), absl::Now());
  const absl::Duration wait = NextPollDelay(options_, retry_after, interval);
  if (absl::Now() + wait > deadline) {
    absl::Status status = absl::DeadlineExceededError(
        absl::StrCat(what, ": not done by the deadline (next poll in ", absl::FormatDuration(wait), ")"));
    // The caller may resume the same order later: tell it when the CA wants to be asked.
    return retry_after.has_value() ? WithRetryAfter(std::move(status), *retry_after) : status;
  }
  absl::SleepFor(wait);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<AcmeClient::PendingChallenge>> AcmeClient::PendingHttp01(
    const std::string& authz_url) {
  absl::StatusOr<AcmeAuthorization> authz = FetchAuthorization(authz_url);
  if (!authz.ok()) return authz.status();
  const std::string what = absl::StrCat("authorization for ", authz->dns_name, " (", authz_url, ")");
  if (authz->status == "valid") return std::nullopt;  // the CA reused an earlier validation
  if (authz->status != "pending") {
    return absl::FailedPreconditionError(absl::StrCat(what, " is ", authz->status));
  }
  auto it = std::find_if(authz->challenges.begin(), authz->challenges.end(),
                         [](const AcmeChallenge& c) { return c.type == "http-01"; });
  if (it == authz->challenges.end()) {
    std::vector<std::string> offered;
    for (const AcmeChallenge& c : authz->challenges) offered.push_back(c.type);
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": the CA offers no http-01 challenge (only ", absl::StrJoin(offered, ", "), ")"));
  }
  if (it->token.empty() || it->token.find_first_of("/.?#% ") != std::string::npos) {
    // The token becomes a URL path segment on every edge node.
    return absl::DataLossError(absl::StrCat(what, ": unusable http-01 token \"", it->token, "\""));
  }
  return PendingChallenge{
      .http01 = {authz->dns_name, it->token, KeyAuthorization(it->token, key_), it->url, authz_url},
      .needs_response = it->status == "pending"};
}

absl::Status AcmeClient::AwaitAuthorization(const Http01Challenge& challenge, absl::Time deadline) {
  const std::string what =
      absl::StrCat("authorization for ", challenge.dns_name, " (", challenge.authorization_url, ")");
  absl::Duration interval = options_.poll_interval;
  while (true) {
    absl::StatusOr<AcmeAuthorization> authz = FetchAuthorization(challenge.authorization_url);
    if (!authz.ok()) return authz.status();
    if (authz->status == "valid") return absl::OkStatus();
    if (authz->status == "invalid") {
      for (const AcmeChallenge& c : authz->challenges) {
        if (c.type == "http-01" && c.error.has_value()) {
          return ProblemStatus(absl::StrCat(what, " is invalid: http-01 ", c.url), *c.error, 0, std::nullopt);
        }
      }
      return absl::FailedPreconditionError(absl::StrCat(what, " is invalid (the CA gave no reason)"));
    }
    if (authz->status != "pending") {
      return absl::FailedPreconditionError(absl::StrCat(what, " is ", authz->status));
    }
    if (absl::Status s = PollWait(last_response_, &interval, deadline, what); !s.ok()) return s;
  }
}

absl::Status AcmeClient::AuthorizeHttp01(const AcmeOrder& order, const Http01Responder& responder,
                                         absl::Time deadline) {
  if (!responder.present) return absl::InvalidArgumentError("AuthorizeHttp01: no responder");
  const std::string what = OrderName(order);
  std::vector<PendingChallenge> pending;
  for (const std::string& url : order.authorizations) {
    if (absl::Status s = CheckDeadline(deadline, what); !s.ok()) return s;
    absl::StatusOr<std::optional<PendingChallenge>> p = PendingHttp01(url);
    if (!p.ok()) return p.status();
    if (p->has_value()) pending.push_back(**std::move(p));
  }
  if (pending.empty()) return absl::OkStatus();
  std::vector<Http01Challenge> challenges;
  for (const PendingChallenge& p : pending) challenges.push_back(p.http01);
  // One call for the whole order: the caller publishes every answer at once (one snapshot).
  if (absl::Status s = responder.present(challenges); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(what, ": presenting ", challenges.size(),
                                               " http-01 answer(s): ", s.message()));
  }
  struct Cleanup {
    const Http01Responder& responder;
    const std::vector<Http01Challenge>& challenges;
    ~Cleanup() {
      if (responder.cleanup) responder.cleanup(challenges);
    }
  } cleanup{responder, challenges};
  // Answer every challenge first, so the CA validates them side by side, then wait for each.
  for (const PendingChallenge& p : pending) {
    if (!p.needs_response) continue;
    absl::StatusOr<HttpResponse> r =
        Post(absl::StrCat("http-01 response for ", p.http01.dns_name), p.http01.url, "{}");
    if (!r.ok()) return r.status();
  }
  for (const Http01Challenge& c : challenges) {
    if (absl::Status s = AwaitAuthorization(c, deadline); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<AcmeOrder> AcmeClient::Finalize(const AcmeOrder& order, const std::string& csr_der,
                                               absl::Time deadline) {
  const std::string what = OrderName(order);
  AcmeOrder current = order;
  absl::Duration interval = options_.poll_interval;
  // The CA may move the order to "ready" a moment after its last authorization became valid.
  while (current.status == "pending") {
    if (absl::Status s = PollWait(last_response_, &interval, deadline, what); !s.ok()) return s;
    absl::StatusOr<AcmeOrder> next = FetchOrder(order.url);
    if (!next.ok()) return next.status();
    current = *std::move(next);
  }
  if (current.status == "invalid") return OrderFailed(current);
  if (current.status == "ready") {
    absl::StatusOr<HttpResponse> r = Post(absl::StrCat("finalize ", what), current.finalize,
                                          nlohmann::json{{"csr", Base64Url(csr_der)}}.dump());
    if (!r.ok()) return r.status();
    absl::StatusOr<nlohmann::json> json = ParseObject(*r, what);
    if (!json.ok()) return json.status();
    current = ParseOrder(*json, order.url);
    interval = options_.poll_interval;
  } else if (current.status != "processing" && current.status != "valid") {
    return absl::FailedPreconditionError(absl::StrCat(what, " is ", current.status, ", cannot finalize"));
  }
  while (current.status != "valid") {
    if (current.status == "invalid") return OrderFailed(current);
    if (current.status != "processing" && current.status != "ready") {
      return absl::FailedPreconditionError(absl::StrCat(what, " is ", current.status, " after finalize"));
    }
    if (absl::Status s = PollWait(last_response_, &interval, deadline, what); !s.ok()) return s;
    absl::StatusOr<AcmeOrder> next = FetchOrder(order.url);
    if (!next.ok()) return next.status();
    current = *std::move(next);
  }
  if (current.certificate.empty())
    return absl::DataLossError(absl::StrCat(what, " is valid without a certificate URL"));
  return current;
}

absl::StatusOr<std::string> AcmeClient::DownloadCertificate(const std::string& url) {
  absl::StatusOr<HttpResponse> r =
      Post("download certificate", url, "", false, "application/pem-certificate-chain");
  if (!r.ok()) return r.status();
  if (!absl::StrContains(r->body, "-----BEGIN CERTIFICATE-----")) {
    return absl::DataLossError(absl::StrCat("certificate ", url, ": not a PEM chain (Content-Type ",
                                            r->Header("content-type"), ")"));
  }
  return r->body;
}

absl::StatusOr<IssuedCertificate> AcmeClient::ObtainCertificate(const std::vector<std::string>& dns_names,
                                                                const Http01Responder& responder,
                                                                absl::Time deadline) {
  return ObtainCertificate(dns_names, responder, deadline, "", nullptr, nullptr);
}

absl::StatusOr<IssuedCertificate> AcmeClient::ObtainCertificate(
    const std::vector<std::string>& dns_names, const Http01Responder& responder, absl::Time deadline,
    const std::string& resume_order_url, const std::function<void(const AcmeOrder&)>& on_new_order,
    bool* resumed, const std::string& replaces) {
  absl::StatusOr<AcmeOrder> order = absl::NotFoundError("no order to resume");
  if (!resume_order_url.empty()) {
    // A processing or valid order was finalized with a key that died with its replica: only
    // pending and ready orders can be continued.
    order = FetchOrder(resume_order_url);
    std::vector<std::string> want = dns_names, have = order.ok() ? order->dns_names : std::vector<std::string>();
    std::sort(want.begin(), want.end());
    std::sort(have.begin(), have.end());
    if (order.ok() && (want != have || (order->status != "pending" && order->status != "ready"))) {
      order = absl::FailedPreconditionError("not resumable");
    }
  }
  if (resumed != nullptr) *resumed = order.ok();
  if (!order.ok()) {
    order = NewOrder(dns_names, replaces);
    if (!order.ok()) return order.status();
    if (on_new_order) on_new_order(*order);
  }
  if (order->status == "invalid") return OrderFailed(*order);
  if (order->status == "pending") {
    if (absl::Status s = AuthorizeHttp01(*order, responder, deadline); !s.ok()) return s;
  } else if (order->status != "ready") {
    // A processing or valid order was finalized with a key we do not hold.
    return absl::FailedPreconditionError(absl::StrCat(OrderName(*order), " is already ", order->status));
  }
  absl::StatusOr<EvpPkeyPtr> key = GenerateP256Key();
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> csr = MakeCsrDer(key->get(), dns_names);
  if (!csr.ok()) return csr.status();
  absl::StatusOr<AcmeOrder> done = Finalize(*order, *csr, deadline);
  if (!done.ok()) return done.status();
  absl::StatusOr<std::string> chain = DownloadCertificate(done->certificate);
  if (!chain.ok()) return chain.status();
  return IssuedCertificate{*std::move(chain), *std::move(key), done->url};
}

}  // namespace edgerouter::acme
