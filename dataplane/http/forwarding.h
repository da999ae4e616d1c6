// The one rule for which fields of a client request reach a backend, whatever its kind
// (reverse_proxy origins, S3, Lambda), and the client-address fields the proxy sets instead.
#ifndef EDGEROUTER_DATAPLANE_HTTP_FORWARDING_H_
#define EDGEROUTER_DATAPLANE_HTTP_FORWARDING_H_

#include <string>

#include "absl/strings/string_view.h"
#include "dataplane/http/field_names.h"
#include "dataplane/http/http1_parser.h"

namespace edgerouter::http {

// Who the client is, as backends and the access log are told.
struct ClientAddress {
  std::string ip;             // the client's address
  std::string forwarded_for;  // the X-Forwarded-For value backends get
};

// Fills `out` (keeping its capacity) for a request from `peer_ip`: the X-Forwarded-For values
// the request carries, with the peer appended.
void ResolveClientAddress(absl::string_view peer_ip, const RequestHead& head, ClientAddress* out);

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
      : head_(head), ctx_(ctx), nominated_(ConnectionOptions::Of(head.headers)) {}

  // Whether the client field `name` reaches the backend as sent. Never: hop-by-hop fields and
  // those a Connection field nominates, Expect: 100-continue (answered here), credentials
  // auth_v0 consumed, and the X-Forwarded-* fields (set by the proxy, see ForEach).
  bool Forwards(absl::string_view name) const;
  // The first forwarded client field named `name`, or nullptr.
  const Header* Find(absl::string_view name) const;
  // emit(name, value) for every forwarded client field in order, then for the fields the proxy
  // sets: X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host.
  template <typename Emit>
  void ForEach(Emit&& emit) const {
    for (const Header& h : head_.headers) {
      if (Forwards(h.name)) emit(h.name, h.value);
    }
    emit("X-Forwarded-For", absl::string_view(ctx_.client->forwarded_for));
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
