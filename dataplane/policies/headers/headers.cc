#include "dataplane/policies/headers/headers.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace edgerouter::policies {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

// Sorted: the order fields are written in does not depend on map iteration.
Fields Sorted(const google::protobuf::Map<std::string, std::string>& map) {
  Fields fields(map.begin(), map.end());
  std::sort(fields.begin(), fields.end());
  return fields;
}

// The configured origins; a client's Origin is compared with them, and what goes back is the
// configured spelling, never the client's bytes.
struct CorsOrigins {
  bool any = false;  // "*"
  std::vector<std::string> exact;

  explicit CorsOrigins(const config::v1::HeadersPolicy& p) {
    for (const std::string& o : p.access_control_allow_origin_list()) {
      if (o == "*") {
        any = true;
      } else {
        exact.push_back(o);
      }
    }
  }
  bool enabled() const { return any || !exact.empty(); }
  // What Access-Control-Allow-Origin says for `origin` (null: not allowed).
  const std::string* Match(absl::string_view origin) const {
    static const std::string* const kAny = new std::string("*");
    for (const std::string& o : exact) {
      if (absl::EqualsIgnoreCase(o, origin)) return &o;
    }
    return any ? kAny : nullptr;
  }
};

// OPTIONS with Origin and Access-Control-Request-Method from an allowed origin: 204 with the
// allow fields. The response stage adds Access-Control-Allow-Origin (and credentials, Vary) to
// it as to every response.
class CorsPreflight : public pipeline::AccessStage {
 public:
  explicit CorsPreflight(const config::v1::HeadersPolicy& p) : origins_(p) {
    if (!p.access_control_allow_methods().empty()) {
      absl::StrAppend(&fields_, "Access-Control-Allow-Methods: ", absl::StrJoin(p.access_control_allow_methods(), ", "),
                      "\r\n");
    }
    if (!p.access_control_allow_headers().empty()) {
      absl::StrAppend(&fields_, "Access-Control-Allow-Headers: ", absl::StrJoin(p.access_control_allow_headers(), ", "),
                      "\r\n");
    }
    if (p.access_control_max_age() > 0) {
      absl::StrAppend(&fields_, "Access-Control-Max-Age: ", p.access_control_max_age(), "\r\n");
    }
  }
  absl::string_view name() const override { return "cors_preflight"; }
  pipeline::Verdict Check(pipeline::Exchange& exchange) const override {
    if (exchange.method() != "OPTIONS") return pipeline::Verdict::kContinue;
    const std::optional<absl::string_view> origin = exchange.request_header("Origin");
    if (!origin.has_value() || !exchange.request_header("Access-Control-Request-Method").has_value() ||
        origins_.Match(*origin) == nullptr) {
      return pipeline::Verdict::kContinue;  // not a preflight we answer: the backend does
    }
    exchange.SendLocal(204, "", "", fields_);
    return pipeline::Verdict::kAnswered;
  }

 private:
  CorsOrigins origins_;
  std::string fields_;  // "Name: value\r\n" lines of the answer
};

class RequestHeaders : public pipeline::RequestStage {
 public:
  explicit RequestHeaders(pipeline::RequestHeaderEdit edit) : edit_(std::move(edit)) {}
  absl::string_view name() const override { return "request_headers"; }
  pipeline::Verdict OnRequest(pipeline::Exchange& exchange) const override {
    exchange.EditRequestHeaders(&edit_);
    return pipeline::Verdict::kContinue;
  }

 private:
  const pipeline::RequestHeaderEdit edit_;
};

// Whether a Vary value already lists `token`.
bool VaryLists(absl::string_view vary, absl::string_view token) {
  for (absl::string_view part : absl::StrSplit(vary, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part == "*" || absl::EqualsIgnoreCase(part, token)) return true;
  }
  return false;
}

class ResponseHeaders : public pipeline::ResponseStage {
 public:
  explicit ResponseHeaders(const config::v1::HeadersPolicy& p) : origins_(p), credentials_(p.access_control_allow_credentials()) {
    for (const auto& [name, value] : Sorted(p.custom_response_headers())) {
      if (value.empty()) {
        remove_.push_back(name);
      } else {
        set_.emplace_back(name, value);
      }
    }
    add_ = Sorted(p.add_response_headers());
    // As Traefik: HSTS only with a max-age (the flags alone would send max-age=0, which clears it).
    if (p.sts_seconds() > 0) {
      hsts_ = absl::StrCat("max-age=", p.sts_seconds(), p.sts_include_subdomains() ? "; includeSubDomains" : "",
                           p.sts_preload() ? "; preload" : "");
    }
    if (p.content_type_nosniff()) set_.emplace_back("X-Content-Type-Options", "nosniff");
    if (!p.custom_frame_options_value().empty()) {
      set_.emplace_back("X-Frame-Options", p.custom_frame_options_value());
    } else if (p.frame_deny()) {
      set_.emplace_back("X-Frame-Options", "DENY");
    }
    if (!p.referrer_policy().empty()) set_.emplace_back("Referrer-Policy", p.referrer_policy());
    expose_ = absl::StrJoin(p.access_control_expose_headers(), ", ");
  }
  absl::string_view name() const override { return "response_headers"; }

  void OnResponseHead(pipeline::Exchange& exchange, const pipeline::ResponseHeadView& head,
                      pipeline::ResponseHeadEdit* edit) const override {
    for (const std::string& name : remove_) edit->Remove(name);
    for (const auto& [name, value] : set_) edit->Set(name, value);
    for (const auto& [name, value] : add_) edit->Add(name, value);
    // RFC 6797 §7.2: HSTS over plain HTTP is ignored by browsers and must not be sent.
    if (!hsts_.empty() && exchange.secure()) edit->Set("Strict-Transport-Security", hsts_);
    if (origins_.enabled()) Cors(exchange, head, edit);
  }

 private:
  void Cors(pipeline::Exchange& exchange, const pipeline::ResponseHeadView& head,
            pipeline::ResponseHeadEdit* edit) const {
    if (!origins_.exact.empty()) {
      // The answer depends on Origin (allowed or not): caches must key on it.
      const std::optional<absl::string_view> vary = head.header("Vary");
      if (!vary.has_value()) {
        edit->Add("Vary", "Origin");
      } else if (!VaryLists(*vary, "Origin")) {
        edit->Set("Vary", absl::StrCat(*vary, ", Origin"));
      }
    }
    const std::optional<absl::string_view> origin = exchange.request_header("Origin");
    if (!origin.has_value()) return;
    const std::string* allowed = origins_.Match(*origin);
    if (allowed == nullptr) return;
    edit->Set("Access-Control-Allow-Origin", *allowed);
    if (credentials_) edit->Set("Access-Control-Allow-Credentials", "true");
    if (!expose_.empty()) edit->Set("Access-Control-Expose-Headers", expose_);
  }

  CorsOrigins origins_;
  bool credentials_;
  std::vector<std::string> remove_;
  Fields set_, add_;
  std::string hsts_;
  std::string expose_;
};

bool HasResponseEdits(const config::v1::HeadersPolicy& p) {
  return !p.custom_response_headers().empty() || !p.add_response_headers().empty() || p.sts_seconds() > 0 ||
         p.content_type_nosniff() || p.frame_deny() ||
         !p.custom_frame_options_value().empty() || !p.referrer_policy().empty() ||
         !p.access_control_allow_origin_list().empty();
}

}  // namespace

void AddHeadersAccess(const config::v1::HeadersPolicy& policy, pipeline::ChainBuilder* chain) {
  if (CorsOrigins(policy).enabled()) chain->AddAccess(std::make_unique<CorsPreflight>(policy));
}

void AddHeadersStages(const config::v1::HeadersPolicy& policy, pipeline::ChainBuilder* chain) {
  pipeline::RequestHeaderEdit request;
  for (const auto& [name, value] : Sorted(policy.custom_request_headers())) {
    request.remove.push_back(name);  // set = remove the client's, then add ours
    if (!value.empty()) request.add.emplace_back(name, value);
  }
  for (const auto& [name, value] : Sorted(policy.add_request_headers())) request.add.emplace_back(name, value);
  if (!request.remove.empty() || !request.add.empty()) {
    chain->AddRequest(std::make_unique<RequestHeaders>(std::move(request)));
  }
  if (HasResponseEdits(policy)) chain->AddResponse(std::make_unique<ResponseHeaders>(policy));
}

}  // namespace edgerouter::policies
