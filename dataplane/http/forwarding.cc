#include "dataplane/http/forwarding.h"

#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace edgerouter::http {

void ResolveClientAddress(absl::string_view peer_ip, bool peer_trusted, const net::CidrSet& trusted,
                          const RequestHead& head, ClientAddress* out) {
  out->peer_trusted = peer_trusted;
  out->forwarded_for.clear();
  if (!peer_trusted) {
    // Whatever a client claims about addresses is its own word: the chain starts here.
    out->ip.assign(peer_ip.data(), peer_ip.size());
    out->forwarded_for.append(peer_ip.data(), peer_ip.size());
    return;
  }
  absl::InlinedVector<net::IpAddress, 8> chain;
  for (const Header& h : head.headers) {
    if (ClassifyFieldName(h.name) != FieldName::kXForwardedFor) continue;
    for (absl::string_view entry : absl::StrSplit(h.value, ',')) {
      std::optional<net::IpAddress> address = net::IpAddress::Parse(absl::StripAsciiWhitespace(entry));
      if (address.has_value()) chain.push_back(*address);
    }
  }
  for (const net::IpAddress& address : chain) absl::StrAppend(&out->forwarded_for, address.ToString(), ", ");
  out->forwarded_for.append(peer_ip.data(), peer_ip.size());
  if (chain.empty()) {
    out->ip.assign(peer_ip.data(), peer_ip.size());
    return;
  }
  size_t client = 0;  // all trusted: the left-most address is the best there is
  for (size_t i = chain.size(); i-- > 0;) {
    if (!trusted.Contains(chain[i])) {
      client = i;
      break;
    }
  }
  out->ip = chain[client].ToString();
}

bool ForwardedFields::Forwards(absl::string_view name) const {
  switch (ClassifyFieldName(name)) {
    case FieldName::kHopByHop:
    case FieldName::kXForwardedFor:
    case FieldName::kXRealIp:
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
    case FieldName::kClientIp:
      if (!ctx_.client->peer_trusted) return false;
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
