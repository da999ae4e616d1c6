#include "dataplane/backends/ip_rules/ip_rules.h"

#include "absl/strings/str_cat.h"

namespace edgerouter::backends {

absl::StatusOr<std::shared_ptr<const IpRuleSet>> IpRuleSet::Compile(const config::v1::IpRules& rules) {
  auto set = std::make_shared<IpRuleSet>();
  for (int i = 0; i < rules.rules_size(); ++i) {
    const config::v1::IpRule& r = rules.rules(i);
    absl::StatusOr<net::IpPrefix> prefix = net::IpPrefix::Parse(r.prefix());
    if (!prefix.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("iprules: rule ", i + 1, ": ", prefix.status().message()));
    }
    set->rules_.push_back(Rule{*prefix, {r.apps().begin(), r.apps().end()}});
  }
  return std::shared_ptr<const IpRuleSet>(std::move(set));
}

std::optional<std::string> IpRuleSet::Deny(absl::string_view app_id, absl::string_view client_ip) const {
  const std::optional<net::IpAddress> ip = net::IpAddress::Parse(client_ip);
  if (!ip.has_value()) return absl::StrCat("invalid IP: \"", client_ip, "\"\n");
  for (const Rule& rule : rules_) {
    if (!rule.prefix.Contains(*ip)) continue;
    if (rule.apps.empty() || rule.apps.contains(app_id)) return std::nullopt;
    return absl::StrCat("your IP (", ip->ToString(), ") is not allowed (explicit deny)\n");
  }
  return absl::StrCat("your IP (", ip->ToString(), ") is not allowed (implicit deny)\n");
}

namespace {

class IpRulesAccess : public pipeline::AccessStage {
 public:
  explicit IpRulesAccess(std::string app_id) : app_id_(std::move(app_id)) {}
  absl::string_view name() const override { return "ip_rules"; }

  pipeline::Verdict Check(pipeline::Exchange& exchange) const override {
    const IpRuleSet* rules = exchange.ip_rules();
    if (rules == nullptr) return pipeline::Verdict::kContinue;  // no rules: no filtering
    std::optional<std::string> deny = rules->Deny(app_id_, exchange.client_ip());
    if (!deny.has_value()) return pipeline::Verdict::kContinue;
    exchange.SendLocal(403, "text/plain; charset=utf-8", *deny);
    return pipeline::Verdict::kAnswered;
  }

 private:
  const std::string app_id_;
};

}  // namespace

std::unique_ptr<const pipeline::AccessStage> MakeIpRulesAccess(std::string app_id) {
  return std::make_unique<IpRulesAccess>(std::move(app_id));
}

}  // namespace edgerouter::backends
