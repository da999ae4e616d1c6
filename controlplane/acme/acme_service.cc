#include "controlplane/acme/acme_service.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <optional>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/certbus/cert_info.h"
#include "common/event_line.h"
#include "common/json_codec.h"
#include "controlplane/stream_state.h"

namespace edgerouter::acme {
namespace {

int64_t UnixOrZero(absl::Time t) {
  return t == absl::InfinitePast() || t == absl::InfiniteFuture() ? 0 : absl::ToUnixSeconds(t);
}

std::string Names(const std::vector<Http01Challenge>& challenges) {
  std::vector<std::string> names;
  for (const Http01Challenge& c : challenges) names.push_back(c.dns_name);
  return absl::StrJoin(names, ",");
}

}  // namespace

namespace {

// The names `app` wants: exact hostname frontends, hostname regexps, certresolver hosts.
void AppendNames(const controlplane::PreparedApp& app, std::vector<NameRequest>* out) {
  if (app.resource == nullptr || !app.resource->has_app()) return;
  for (const config::v1::Frontend& f : app.resource->app().frontends()) {
    if (f.kind() == "hostname" && !f.hostname().empty()) {
      out->push_back({f.hostname(), absl::StrCat("app:", app.id), false});
    } else if (f.kind() == "hostname_regexp" && !f.hostname_regexp().empty()) {
      out->push_back({f.hostname_regexp(), absl::StrCat("app:", app.id), true});
    }
  }
  for (const auto& r : app.cert_resolvers) out->push_back({r.host, absl::StrCat("certresolver:", r.resolver), r.regexp});
}

bool RequestLess(const NameRequest& a, const NameRequest& b) {
  return std::tie(a.name, a.source, a.regexp) < std::tie(b.name, b.source, b.regexp);
}

// Drops what both lists hold (a changed app usually keeps its hostnames), as multisets.
void CancelCommon(std::vector<NameRequest>* removed, std::vector<NameRequest>* added) {
  std::sort(removed->begin(), removed->end(), RequestLess);
  std::sort(added->begin(), added->end(), RequestLess);
  std::vector<NameRequest> only_removed, only_added;
  std::set_difference(removed->begin(), removed->end(), added->begin(), added->end(), std::back_inserter(only_removed),
                      RequestLess);
  std::set_difference(added->begin(), added->end(), removed->begin(), removed->end(), std::back_inserter(only_added),
                      RequestLess);
  *removed = std::move(only_removed);
  *added = std::move(only_added);
}

// What the issuer needs of a served certificate; null when even its event's fields say nothing.
std::optional<KnownCertificate> KnownCertificateOf(const snapshot::v1::Resource& r) {
  if (!r.has_certificate()) return std::nullopt;
  absl::StatusOr<KnownCertificate> cert = KnownCertificateFromPem(r.certificate().cert_pem_bundle());
  if (cert.ok()) return *std::move(cert);
  // Served from its event's fields alone: the name is covered until its expiry is near.
  absl::StatusOr<absl::Time> expires = certbus::ParseRfc3339(r.certificate().expires());
  if (!expires.ok()) return std::nullopt;
  KnownCertificate fallback{.domains = {r.certificate().domains().begin(), r.certificate().domains().end()},
                            .not_after = *expires};
  return fallback;
}

}  // namespace

std::vector<NameRequest> WantedNamesOf(const controlplane::BuiltSnapshot& snapshot) {
  std::vector<NameRequest> out;
  for (const auto& app : snapshot.apps) AppendNames(*app, &out);
  return out;
}

absl::StatusOr<std::unique_ptr<AcmeService>> AcmeService::Create(AcmeServiceOptions options,
                                                                 controlplane::EventLog* log,
                                                                 controlplane::ConfigHub* hub,
                                                                 controlplane::DiscoveryServer* discovery) {
  if (options.issuer.client.directory_url.empty()) return absl::InvalidArgumentError("--acme_directory is empty");
  if (options.kek_public_file.empty()) {
    return absl::InvalidArgumentError(
        "--acme_kek_public is required with --acme_directory (the edge nodes' KEK public key: keys are wrapped for it)");
  }
  absl::StatusOr<certbus::KekPublicKey> kek = certbus::LoadKekPublicKeyFile(options.kek_public_file);
  if (!kek.ok()) {
    return absl::Status(kek.status().code(), absl::StrCat("--acme_kek_public=", options.kek_public_file, ": ",
                                                          kek.status().message()));
  }
  return std::unique_ptr<AcmeService>(new AcmeService(std::move(options), *std::move(kek), log, hub, discovery));
}

AcmeService::AcmeService(AcmeServiceOptions options, certbus::KekPublicKey kek, controlplane::EventLog* log,
                         controlplane::ConfigHub* hub, controlplane::DiscoveryServer* discovery)
    : options_(std::move(options)), log_(log), hub_(hub), discovery_(discovery), stream_(AcmeStreamName(options_.tenant)) {
  AccountKeyStore* keys = this;
  if (!options_.account_key_file.empty()) {
    file_keys_ = std::make_unique<FileAccountKeyStore>(options_.account_key_file);
    keys = file_keys_.get();
  }
  issuer_ = std::make_unique<Issuer>(options_.issuer, std::move(kek), keys, this, this, &lease_);
  issuer_->SetOrderJournal(this);
}

AcmeService::~AcmeService() { Stop(); }

void AcmeService::OnSnapshot(std::shared_ptr<const controlplane::BuiltSnapshot> snapshot) {
  static const controlplane::BuiltSnapshot kNothing;
  // Only what differs from the last snapshot is looked at: the chunks both share are skipped,
  // so a one-app change costs the same at 100,000 apps as at 10.
  const controlplane::BuiltSnapshot& last = last_snapshot_ != nullptr ? *last_snapshot_ : kNothing;
  std::vector<NameRequest> removed, added;
  controlplane::DiffSets(
      last.apps, snapshot->apps, [](const auto& a, const auto& b) { return a == b; },
      [&](const controlplane::PreparedAppPtr& app) { AppendNames(*app, &removed); },
      [&](const controlplane::PreparedAppPtr* old, const controlplane::PreparedAppPtr& app) {
        if (old != nullptr) AppendNames(**old, &removed);
        AppendNames(*app, &added);
      });
  CancelCommon(&removed, &added);
  std::vector<std::pair<std::string, std::optional<KnownCertificate>>> certs;
  controlplane::DiffSets(
      last.resources, snapshot->resources, [](const auto& a, const auto& b) { return a->version() == b->version(); },
      [&](const controlplane::ResourcePtr& r) {
        if (r->has_certificate()) certs.emplace_back(r->name(), std::nullopt);
      },
      [&](const controlplane::ResourcePtr*, const controlplane::ResourcePtr& r) {
        if (r->has_certificate()) certs.emplace_back(r->name(), KnownCertificateOf(*r));
      });
  last_snapshot_ = std::move(snapshot);
  if (!certs.empty()) issuer_->UpdateCertificates(std::move(certs));
  if (!removed.empty() || !added.empty()) issuer_->UpdateWantedNames(removed, added);
}

absl::Status AcmeService::Start(controlplane::LeaseKeeper* duties) {
  // The backlog is delivered inside Watch: the account key and open orders are known after it.
  absl::StatusOr<std::unique_ptr<controlplane::WatchHandle>> watch =
      log_->Watch(stream_, 0, [this](const controlplane::LogEntry& entry) {
        std::vector<controlplane::ResourcePtr> resources;
        {
          absl::MutexLock lock(&mu_);
          const size_t before = state_.challenges().size();
          state_.Apply(entry);
          if (before == 0 && state_.challenges().empty()) return;  // nothing to publish
          resources = state_.ChallengeResources();
        }
        hub_->SetAcmeChallenges(std::move(resources));
      });
  if (!watch.ok()) return absl::Status(watch.status().code(), absl::StrCat(stream_, ": ", watch.status().message()));
  watch_ = *std::move(watch);
  lease_.keeper.store(duties);
  issuer_->Start();
  return absl::OkStatus();
}

void AcmeService::Stop() {
  if (issuer_ != nullptr) issuer_->Stop();
  watch_.reset();
}

void AcmeService::Append(const events::v1::Event& event, const char* what) {
  absl::StatusOr<uint64_t> v = log_->Append(stream_, {event}, std::nullopt);
  if (!v.ok()) {
    std::fprintf(stderr, "level=WARN msg=\"acme: append failed\" what=%s stream=%s error=\"%s\"\n", what,
                 stream_.c_str(), std::string(v.status().message()).c_str());
  }
}

bool AcmeService::ChallengesServed(const std::vector<Http01Challenge>& challenges, std::string* waiting_for) {
  std::shared_ptr<const controlplane::BuiltSnapshot> current = hub_->Current();
  if (current == nullptr) {
    *waiting_for = "the first snapshot";
    return false;
  }
  for (const Http01Challenge& c : challenges) {
    if (current->Find(absl::StrCat("acme/", c.token)) == nullptr) {
      *waiting_for = absl::StrCat("a snapshot with the token for ", c.dns_name);
      return false;
    }
  }
  std::vector<std::string> behind;
  for (const admin::v1::NodeStatus& node : discovery_->Nodes()) {
    if (node.connected() && node.last_acked_version() != current->version) behind.push_back(node.node_id());
  }
  *waiting_for = absl::StrCat("data planes ", absl::StrJoin(behind, ","));
  return behind.empty();
}

absl::Status AcmeService::Publish(const std::vector<Http01Challenge>& challenges) {
  events::v1::AcmeChallengesPublished published;
  for (const Http01Challenge& c : challenges) {
    events::v1::AcmeHttp01Challenge* out = published.add_challenges();
    out->set_domain(c.dns_name);
    out->set_token(c.token);
    out->set_key_authorization(c.key_authorization);
  }
  // One order runs fleet-wide at a time, so tokens of any other order are stale (a holder died
  // before withdrawing them): they leave the snapshots in the same version.
  events::v1::AcmeChallengesWithdrawn stale;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [token, c] : state_.challenges()) {
      bool current = false;
      for (const Http01Challenge& n : challenges) current |= n.token == token;
      if (!current) stale.add_tokens(token);
    }
  }
  std::vector<events::v1::Event> batch;
  if (stale.tokens_size() > 0) batch.push_back(MakeAcmeEvent("AcmeChallengesWithdrawn", stale));
  batch.push_back(MakeAcmeEvent("AcmeChallengesPublished", published));
  absl::StatusOr<uint64_t> v = log_->Append(stream_, std::move(batch), std::nullopt);
  if (!v.ok()) return absl::Status(v.status().code(), absl::StrCat("publishing challenges on ", stream_, ": ", v.status().message()));
  // The CA validates right after this returns: wait until the data planes hold the tokens.
  const absl::Time deadline = absl::Now() + options_.ack_timeout;
  std::string waiting_for;
  while (!ChallengesServed(challenges, &waiting_for)) {
    if (absl::Now() >= deadline) {
      // One stuck data plane must not stop every order: the CA's validation decides.
      std::fprintf(stderr, "level=WARN msg=\"acme: challenges not acknowledged in time; answering the CA anyway\" names=%s waiting_for=\"%s\"\n",
                   Names(challenges).c_str(), waiting_for.c_str());
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  absl::SleepFor(options_.challenge_grace);  // data planes on other replicas
  return absl::OkStatus();
}

void AcmeService::Withdraw(const std::vector<Http01Challenge>& challenges) {
  events::v1::AcmeChallengesWithdrawn withdrawn;
  for (const Http01Challenge& c : challenges) withdrawn.add_tokens(c.token);
  Append(MakeAcmeEvent("AcmeChallengesWithdrawn", withdrawn), "AcmeChallengesWithdrawn");
}

absl::Status AcmeService::Publish(const events::v1::CertificateObtained& event) {
  if (absl::Status s = controlplane::ValidateCertificate(event); !s.ok()) return s;
  absl::StatusOr<uint64_t> v =
      log_->Append(hub_->certbus_stream(), {MakeSystemEvent("CertificateObtained", ToCompactJson(event))}, std::nullopt);
  if (!v.ok()) return v.status();
  hub_->WaitForCertbusVersion(*v, absl::Seconds(5));
  std::fprintf(stderr, "level=INFO msg=\"acme: certificate published\" id=%s expires=%s reason=%s stream=%s@%llu\n",
               event.id().c_str(), event.expires().c_str(), event.reason().c_str(), hub_->certbus_stream().c_str(),
               static_cast<unsigned long long>(*v));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<AccountKey>> AcmeService::Load() {
  std::string pem;
  {
    absl::MutexLock lock(&mu_);
    pem = state_.account_key_pem();
  }
  if (pem.empty()) return std::optional<AccountKey>();
  absl::StatusOr<AccountKey> key = AccountKey::FromPem(pem, absl::StrCat("account key in ", stream_));
  if (!key.ok()) return key.status();
  return std::optional<AccountKey>(*std::move(key));
}

absl::Status AcmeService::Save(const AccountKey& key) {
  absl::StatusOr<std::string> pem = key.ToPem();
  if (!pem.ok()) return pem.status();
  events::v1::AcmeAccountKeyCreated created;
  created.set_key_pem(*pem);
  uint64_t seen;
  {
    absl::MutexLock lock(&mu_);
    seen = state_.version();
  }
  // Only at the version read: a concurrent writer's key wins, and the next Load finds it.
  absl::StatusOr<uint64_t> v = log_->Append(stream_, {MakeAcmeEvent("AcmeAccountKeyCreated", created)}, seen);
  if (!v.ok()) return absl::Status(v.status().code(), absl::StrCat(stream_, ": ", v.status().message()));
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline) {  // the watch brings it back (Load reads the state)
    {
      absl::MutexLock lock(&mu_);
      if (state_.version() >= *v) break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return absl::OkStatus();
}

std::string AcmeService::OpenOrder(const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto it = state_.open_orders().find(name);
  return it == state_.open_orders().end() ? "" : it->second;
}

void AcmeService::OrderStarted(const std::string& name, const std::string& order_url) {
  events::v1::AcmeOrderStarted started;
  started.set_domain(name);
  started.set_order_url(order_url);
  Append(MakeAcmeEvent("AcmeOrderStarted", started), "AcmeOrderStarted");
}

void AcmeService::OrderEnded(const std::string& name, const std::string& outcome) {
  events::v1::AcmeOrderEnded ended;
  ended.set_domain(name);
  ended.set_outcome(outcome);
  Append(MakeAcmeEvent("AcmeOrderEnded", ended), "AcmeOrderEnded");
}

admin::v1::ListAcmeNamesResponse AcmeService::Status() const {
  admin::v1::ListAcmeNamesResponse out;
  out.set_enabled(true);
  out.set_directory_url(options_.issuer.client.directory_url);
  controlplane::LeaseKeeper* keeper = lease_.keeper.load();
  out.set_issuer_here(keeper != nullptr && keeper->held());
  if (keeper != nullptr) out.set_issuer_holder(keeper->holder());
  for (const NameStatus& s : issuer_->States()) {
    admin::v1::AcmeNameStatus* n = out.add_names();
    n->set_name(s.name);
    for (const std::string& source : s.sources) n->add_sources(source);
    n->set_state(std::string(NameStateName(s.state)));
    n->set_detail(s.detail);
    n->set_not_after_unix(UnixOrZero(s.not_after));
    n->set_renew_at_unix(UnixOrZero(s.renew_at));
    n->set_retry_at_unix(UnixOrZero(s.retry_at));
    n->set_failures(s.failures);
  }
  const IssuerStats stats = issuer_->stats();
  out.set_account_url(stats.account_url);
  out.set_orders_started(stats.orders_started);
  out.set_orders_failed(stats.orders_failed);
  out.set_certificates_issued(stats.certificates_issued);
  return out;
}

void AcmeService::RegisterMetrics(metrics::MetricsRegistry* registry) {
  registry->AddCallbackCounter("er_cp_acme_orders_total", "ACME orders started by this replica since start.",
                             [this] { return static_cast<double>(issuer_->stats().orders_started); });
  registry->AddCallbackCounter("er_cp_acme_order_failures_total", "ACME orders that failed on this replica since start.",
                             [this] { return static_cast<double>(issuer_->stats().orders_failed); });
  registry->AddCallbackCounter("er_cp_acme_orders_resumed_total", "ACME orders continued from another replica's open order.",
                             [this] { return static_cast<double>(issuer_->stats().orders_resumed); });
  registry->AddCallbackCounter("er_cp_acme_certificates_issued_total", "Certificates obtained and published by this replica since start.",
                             [this] { return static_cast<double>(issuer_->stats().certificates_issued); });
  registry->AddCallbackCounter("er_cp_acme_renewal_info_fetches_total",
                               "ACME renewalInfo (ARI) requests made by this replica since start.",
                               [this] { return static_cast<double>(issuer_->stats().renewal_info_fetches); });
  registry->AddCallbackCounter("er_cp_acme_renewal_info_failures_total",
                               "ACME renewalInfo (ARI) requests that failed (the two-thirds rule stands).",
                               [this] { return static_cast<double>(issuer_->stats().renewal_info_failures); });
  registry->AddCallbackCounter("er_cp_acme_orders_replacing_total",
                               "ACME renewal orders sent with `replaces` (the CA gave renewal info).",
                               [this] { return static_cast<double>(issuer_->stats().orders_replacing); });
  registry->AddCallbackGauge("er_cp_acme_issuer_active", "1 while this replica holds the duties lease and runs the ACME issuer.",
                             [this] { return issuer_->stats().lease_held ? 1.0 : 0.0; });
  for (NameState state : {NameState::kQueued, NameState::kPending, NameState::kIssued, NameState::kFailing,
                          NameState::kExcluded, NameState::kSkipped}) {
    registry->AddCallbackGauge(absl::StrCat("er_cp_acme_names_", NameStateName(state)),
                               absl::StrCat("Wanted names in ACME state ", NameStateName(state), "."), [this, state] {
                                 return static_cast<double>(issuer_->Summarize().by_state[static_cast<int>(state)]);
                               });
  }
  registry->AddCallbackGauge("er_cp_acme_next_renewal_timestamp_seconds",
                             "Unix time of the earliest renewal of an issued name (0: none).", [this] {
                               return static_cast<double>(UnixOrZero(issuer_->Summarize().next_renewal));
                             });
}

}  // namespace edgerouter::acme
