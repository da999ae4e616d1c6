// Sticky sessions by cookie (reverse_proxy_opts.sticky): the cookie names the origin by a stable
// ID (a hash of its URL as configured, never the address itself), so a session stays on its
// origin across snapshots and restarts, and the origin set changing moves only the sessions of
// origins that left (or are unhealthy, or weigh 0).
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_REVERSE_PROXY_STICKY_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_REVERSE_PROXY_STICKY_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "proto/config.pb.h"

namespace edgerouter::backends {

inline constexpr absl::string_view kDefaultStickyCookie = "_edgerouter_sticky";

struct StickyConfig {
  std::string cookie_name;
  std::string attributes;  // "; Path=/; Max-Age=…; Secure; HttpOnly; SameSite=…"
};

StickyConfig CompileSticky(const config::v1::Sticky& sticky);

// 16 lowercase hex digits (64-bit FNV-1a of the URL): the same on every data plane and release.
std::string OriginStickyId(absl::string_view origin_url);

// The value of cookie `name` in one Cookie header value ("a=1; b=2"), if present.
std::optional<absl::string_view> FindCookie(absl::string_view cookie_header, absl::string_view name);

// The Set-Cookie value naming origin `id`.
std::string StickySetCookie(const StickyConfig& config, absl::string_view id);

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_REVERSE_PROXY_STICKY_H_
