#include "dataplane/http/forwarding.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace edgerouter::http {

void ResolveClientAddress(absl::string_view peer_ip, const RequestHead& head, ClientAddress* out) {
  out->ip.assign(peer_ip.data(), peer_ip.size());
  // The client address is appended to what earlier proxies said (as Go's ReverseProxy does).
  out->forwarded_for.clear();
  for (const Header& h : head.headers) {
    if (ClassifyFieldName(h.name) != FieldName::kXForwardedFor) continue;
    absl::StrAppend(&out->forwarded_for, h.value, ", ");
  }
  out->forwarded_for.append(peer_ip.data(), peer_ip.size());
}

bool ForwardedFields::Forwards(absl::string_view name) const {
  switch (ClassifyFieldName(name)) {
    case FieldName::kHopByHop:
    case FieldName::kXForwardedFor:
    case FieldName::kXForwardedProto:
    case FieldName::kXForwardedHost:
      return false;
    case FieldName::kHost:
    case FieldName::kContentLength:
      return ctx_.keep_message_fields;
    case FieldName::kExpect:
      if (head_.expect_continue) return false;
      break;
    case FieldName::kAuthorization:
      if (ctx_.strip_authorization) return false;
      break;
    case FieldName::kOther:
      break;
  }
  return nominated_.empty() || !nominated_.Nominates(name);
}

const Header* ForwardedFields::Find(absl::string_view name) const {
  for (const Header& h : head_.headers) {
    if (absl::EqualsIgnoreCase(h.name, name)) return Forwards(h.name) ? &h : nullptr;
  }
  return nullptr;
}

}  // namespace edgerouter::http
