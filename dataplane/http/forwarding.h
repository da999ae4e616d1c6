// The one rule for which fields of a client request reach a backend, whatever its kind
// (reverse_proxy origins, S3, Lambda), and the client-address fields the proxy sets instead.
#ifndef EDGEROUTER_DATAPLANE_HTTP_FORWARDING_H_
#define EDGEROUTER_DATAPLANE_HTTP_FORWARDING_H_

#include <string>

#include "absl/strings/string_view.h"
#include "dataplane/http/field_names.h"
#include "common/http/http1_parser.h"
#include "common/net/ip_prefix.h"

namespace edgerouter::http {

// Who the client is, as backends, the access log and metrics are told.
struct ClientAddress {
  std::string ip;             // the client's address (X-Real-IP)
  std::string forwarded_for;  // the X-Forwarded-For value backends get
  bool peer_trusted = false;  // the peer is a trusted proxy: its client-address claims stand
};

// Fills `out` (keeping its capacity) for a request from `peer_ip`. From an untrusted peer the
// client is the peer, and X-Forwarded-For is just the peer. From a trusted one (`trusted`
// holds it: --trusted_proxies), X-Forwarded-For keeps the valid addresses of the request's
// chain (garbage entries dropped) with the peer appended, and the client is the right-most
// address in it that is not a trusted proxy (the left-most one if all are).
void ResolveClientAddress(absl::string_view peer_ip, bool peer_trusted, const net::CidrSet& trusted,
                          const RequestHead& head, ClientAddress* out);

// Per-request facts the rule depends on.
struct ForwardingContext {
  const ClientAddress* client = nullptr;
  bool secure = false;               // X-Forwarded-Proto: https
  bool strip_authorization = false;  // auth_v0 took the credentials: they are ours
  // Host and Content-Length describe the message: HTTP transports write their own, event
  // backends (Lambda) pass them as the client sent them.
  bool keep_message_fields = false;
};

class ForwardedFields {
 public:
  ForwardedFields(const RequestHead& head, const ForwardingContext& ctx)
      : head_(head), ctx_(ctx), nominated_(ConnectionOptions::Of(head)) {}

  // Whether the client field `name` reaches the backend as sent. Never: hop-by-hop fields and
  // those a Connection field nominates, Expect: 100-continue (answered here), credentials
  // auth_v0 consumed, X-Forwarded-* and X-Real-IP (set by the proxy, see ForEach), and other
  // client-address claims (Forwarded, True-Client-IP, CF-Connecting-IP) unless the peer is a
  // trusted proxy.
  bool Forwards(absl::string_view name) const;
  // The first forwarded client field named `name`, or nullptr.
  const Header* Find(absl::string_view name) const;
  // emit(name, value) for every forwarded client field in order, then for the fields the proxy
  // sets: X-Forwarded-For, X-Real-IP, X-Forwarded-Proto, X-Forwarded-Host.
  template <typename Emit>
  void ForEach(Emit&& emit) const {
    for (const Header& h : head_.headers) {
      if (Forwards(h.name)) emit(h.name, h.value);
    }
    emit("X-Forwarded-For", absl::string_view(ctx_.client->forwarded_for));
    emit("X-Real-IP", absl::string_view(ctx_.client->ip));
    emit("X-Forwarded-Proto", ctx_.secure ? absl::string_view("https") : absl::string_view("http"));
    emit("X-Forwarded-Host", head_.host);
  }

 private:
  const RequestHead& head_;
  const ForwardingContext ctx_;  // small: held by value
  const ConnectionOptions nominated_;
};

}  // namespace edgerouter::http

#endif  // EDGEROUTER_DATAPLANE_HTTP_FORWARDING_H_
