// Request routing with edgerouter's semantics (reference §5), compiled once per snapshot.
//
// Resolution order, first match wins:
//   1. global `path_prefix` mounts (host-independent), longest prefix first;
//   2. exact-hostname mounts, longest prefix first (a host with no matching prefix falls through);
//   3. hostname-regexp mounts in snapshot order (apps sorted by id, then frontend order); a
//      regexp that matches the host but not the path lets the next one try.
// Equal-length prefixes: ordered by app id, then frontend index (documented, deterministic;
// edgerouter's order is unspecified there).
// Prefix matching: "/" matches everything; otherwise prefix p (trailing '/' trimmed) matches a
// path equal to p or starting with p + "/"; "" matches every path.
// Improvements over edgerouter: hosts are compared case-insensitively and without a trailing
// dot (both in the config and in the request); stripping a prefix from the bare prefix path
// gives "/" (edgerouter panics).
#ifndef EDGEROUTER_DATAPLANE_ROUTING_ROUTE_TABLE_H_
#define EDGEROUTER_DATAPLANE_ROUTING_ROUTE_TABLE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dataplane/util/sharded_map.h"
#include "proto/config.pb.h"
#include "re2/re2.h"

namespace edgerouter::routing {

// What a mount routes to (the data plane's compiled app derives from it): held by the mount,
// so a table keeps alive what it routes to, and an app can come and go without indexes.
struct RouteTarget {
  virtual ~RouteTarget() = default;
};

struct Mount {
  std::string app_id;
  int app_index = 0;       // position among the apps given to Build (0 from Update): ties only
  int frontend_index = 0;
  std::string prefix;      // raw frontend.path_prefix
  bool strip_path_prefix = false;
  bool allow_insecure_http = false;
  std::shared_ptr<const RouteTarget> target;  // null from Build
};

class RouteTable {
 public:
  // `apps` must outlive nothing: everything needed is copied. Apps are expected to be valid
  // (validated by the control plane); a hostname_regexp that fails to compile is an error
  // naming the app id (the whole snapshot is then NACKed by the caller).
  // `copies`: how many threads will call Match (one per worker). Each gets its own compiled
  // hostname regexps, because RE2's lazily built DFA takes a shared lock on every search and
  // workers must not contend on one cache line per request.
  static absl::StatusOr<std::unique_ptr<RouteTable>> Build(
      const std::vector<const config::v1::Application*>& apps, int copies = 1);

  struct AppRoutes {
    const config::v1::Application* app = nullptr;
    std::shared_ptr<const RouteTarget> target;
  };
  // The table `previous` (null: empty) without the mounts of `removed` (identified by app id
  // and target) and with those of `added`: O(what they touch). Host lists no app of either
  // touches and compiled regexps of unchanged apps are shared with `previous`, which stays
  // valid and unchanged. The path_prefix and regexp lists are short and copied when touched.
  static absl::StatusOr<std::unique_ptr<RouteTable>> Update(const RouteTable* previous,
                                                            const std::vector<AppRoutes>& removed,
                                                            const std::vector<AppRoutes>& added, int copies = 1);

  // `host`: the request's host, already normalised with NormalizeHost. `path`: the normalised
  // path (NormalizePath). Returns nullptr when nothing matches (404 "no website for hostname").
  // `copy`: the caller's index below Build's `copies` (its worker), so hostname regexps are
  // searched with that caller's own RE2 objects. Takes no shared lock and allocates nothing
  // itself (RE2 may allocate DFA states, bounded by its max_mem, the first time it meets a new
  // kind of input).
  const Mount* Match(absl::string_view host, absl::string_view path, size_t copy = 0) const;

  size_t mount_count() const;
  // The RE2 object Match uses for regexp mount `i` and caller `copy` (for tests).
  const RE2* regexp_for(size_t i, size_t copy) const {
    return (*regexps_)[i]->copies[copy % (*regexps_)[i]->copies.size()].get();
  }
  // Whether `host`'s mount list is the same object in both tables (for tests of the sharing).
  bool SharesHostWith(const RouteTable& other, absl::string_view host) const;

 private:
  // Sorted: longest prefix first, then app id, then frontend index.
  using PrefixList = std::vector<Mount>;
  struct RegexpMount {
    std::vector<std::unique_ptr<RE2>> copies;  // the same pattern, one per calling thread
    Mount mount;
  };
  using RegexpList = std::vector<std::shared_ptr<const RegexpMount>>;  // in snapshot order

  static absl::StatusOr<std::unique_ptr<RouteTable>> Edit(const RouteTable* previous,
                                                          const std::vector<AppRoutes>& removed,
                                                          const std::vector<AppRoutes>& added, int copies,
                                                          bool index_apps);

  std::shared_ptr<const PrefixList> global_;
  util::ShardedMap<std::shared_ptr<const PrefixList>> hosts_;  // key: normalised host
  std::shared_ptr<const RegexpList> regexps_;
};

// Host header value -> lower-case host without port and without a trailing dot.
// "Example.COM:8080" -> "example.com", "[::1]:443" -> "::1", "example.com." -> "example.com".
// A value without ':' is taken whole (as edgerouter does); otherwise it is split like Go's
// net.SplitHostPort, except that "[v6]" without a port is accepted. Returns false for a
// malformed value (an unbracketed IPv6 literal such as "::1", an empty host, an empty,
// non-numeric or >65535 port, stray brackets, a byte Go's HTTP server refuses in Host), which
// the caller answers with 400 `failed to parse hostname header: <value>`.
bool NormalizeHost(absl::string_view host_header, std::string* out);

// True if `prefix` (raw frontend.path_prefix) matches `path` per the rules above.
bool PathMatches(absl::string_view prefix, absl::string_view path);

// The path the backend sees after stripping `prefix` from `path` (which PathMatches):
// "/files/foobar.txt" with "/files/" -> "/foobar.txt"; "/x" with "/x/" -> "/"; always starts
// with '/'. The raw prefix is cut when `path` starts with it (edgerouter), else the prefix
// with its trailing '/'s trimmed.
std::string StripPrefix(absl::string_view prefix, absl::string_view path);

// Normalises a raw request path (still percent-encoded, starting with '/') for routing and
// forwarding, the way Envoy's normalize_path does: percent-encoded unreserved characters
// (ALPHA / DIGIT / "-" / "." / "_" / "~") are decoded, other percent-encodings are kept
// (upper-cased hex; "%2F" stays encoded so it never acts as a separator), dot-segments ("." and
// "..", also when percent-encoded) are removed per RFC 3986 §5.2.4, and "//" is kept.
// A ".." that would climb above the root is clamped at the root (not an error).
// Errors (-> 400, InvalidArgument): invalid percent-encoding, "%00", a raw '\\', a path not
// starting with '/'.
absl::StatusOr<std::string> NormalizePath(absl::string_view raw_path);

}  // namespace edgerouter::routing

#endif  // EDGEROUTER_DATAPLANE_ROUTING_ROUTE_TABLE_H_
