#include "dataplane/routing/route_table.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/app_config.h"

namespace edgerouter::routing {
namespace {

constexpr char kUpperHex[] = "0123456789ABCDEF";

// Longest raw prefix first (edgerouter sorts by len(prefix)). Ties, which edgerouter leaves to
// an unstable sort, go by app id, then snapshot position (ids are not enforced unique), then
// frontend order, so every data plane resolves them the same way.
bool PrefixBefore(const Mount& a, const Mount& b) {
  if (a.prefix.size() != b.prefix.size()) return a.prefix.size() > b.prefix.size();
  if (a.app_id != b.app_id) return a.app_id < b.app_id;
  if (a.app_index != b.app_index) return a.app_index < b.app_index;
  return a.frontend_index < b.frontend_index;
}

// Regexps are tried in snapshot order; the snapshot sorts apps by id, but a table built from
// any other order must still behave the same.
bool SnapshotBefore(const Mount& a, const Mount& b) {
  if (a.app_id != b.app_id) return a.app_id < b.app_id;
  if (a.app_index != b.app_index) return a.app_index < b.app_index;
  return a.frontend_index < b.frontend_index;
}

// The same canonical form for config hostnames and request hosts: DNS names are
// case-insensitive, and "example.com." names the same host as "example.com".
void CanonicaliseHost(std::string* host) {
  absl::AsciiStrToLower(host);
  if (!host->empty() && host->back() == '.') host->pop_back();
}

// The bytes Go's HTTP server accepts in a Host header (httpguts.ValidHostHeader); edgerouter
// never sees anything else, and rejecting the rest keeps odd bytes out of 404 bodies and
// redirect Locations.
constexpr std::array<bool, 256> kHostBytes = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 'a' + 'A'] = true;
  for (const char* p = "!$%&'()*+,-.:;=[]_~"; *p != 0; ++p) t[static_cast<unsigned char>(*p)] = true;
  return t;
}();
bool IsHostByte(char c) { return kHostBytes[static_cast<unsigned char>(c)]; }

// The one-pass path's table: an ordinary host byte's lower-case form; 0 for a byte no Host
// holds; 1 for ':', '[' and ']' (a port or an IPv6 literal: the general path's business).
constexpr std::array<uint8_t, 256> kHostFold = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    if (!kHostBytes[c]) continue;
    t[c] = static_cast<uint8_t>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  }
  t[':'] = t['['] = t[']'] = 1;
  return t;
}();

bool IsValidPort(absl::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  int value = 0;
  for (char c : port) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    value = value * 10 + (c - '0');
  }
  return value <= 65535;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.3.
bool IsUnreserved(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

absl::string_view TrimTrailingSlashes(absl::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

absl::Status AppError(const config::v1::Application& app, int frontend_index,
                      absl::string_view detail) {
  return absl::InvalidArgumentError(
      absl::StrCat("app ", app.id(), ": frontends[", frontend_index, "]", detail));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RouteTable>> RouteTable::Build(
    const std::vector<const config::v1::Application*>& apps, int copies) {
  std::vector<AppRoutes> added;
  added.reserve(apps.size());
  for (const config::v1::Application* app : apps) added.push_back({app, nullptr});
  return Edit(nullptr, {}, added, copies, /*index_apps=*/true);
}

absl::StatusOr<std::unique_ptr<RouteTable>> RouteTable::Update(const RouteTable* previous,
                                                               const std::vector<AppRoutes>& removed,
                                                               const std::vector<AppRoutes>& added, int copies) {
  return Edit(previous, removed, added, copies, /*index_apps=*/false);
}

absl::StatusOr<std::unique_ptr<RouteTable>> RouteTable::Edit(const RouteTable* previous,
                                                             const std::vector<AppRoutes>& removed,
                                                             const std::vector<AppRoutes>& added, int copies,
                                                             bool index_apps) {
  copies = std::max(copies, 1);
  auto table = std::make_unique<RouteTable>();
  if (previous != nullptr) table->hosts_ = previous->hosts_;
  // Working copies of what the edit touches; the rest stays shared with `previous`.
  std::optional<PrefixList> global;
  std::optional<RegexpList> regexps;
  absl::flat_hash_map<std::string, PrefixList> hosts;
  auto global_list = [&]() -> PrefixList& {
    if (!global) global = previous != nullptr ? *previous->global_ : PrefixList();
    return *global;
  };
  auto regexp_list = [&]() -> RegexpList& {
    if (!regexps) regexps = previous != nullptr ? *previous->regexps_ : RegexpList();
    return *regexps;
  };
  auto host_list = [&](const std::string& host) -> PrefixList& {
    auto [it, inserted] = hosts.try_emplace(host);
    if (inserted) {
      if (const std::shared_ptr<const PrefixList>* old = table->hosts_.Find(host)) it->second = **old;
    }
    return it->second;
  };

  for (const AppRoutes& r : removed) {
    auto mine = [&](const Mount& m) { return m.target == r.target && m.app_id == r.app->id(); };
    for (const config::v1::Frontend& f : r.app->frontends()) {
      if (f.kind() == "path_prefix") {
        std::erase_if(global_list(), mine);
      } else if (f.kind() == "hostname") {
        std::string host = f.hostname();
        CanonicaliseHost(&host);
        std::erase_if(host_list(host), mine);
      } else if (f.kind() == "hostname_regexp") {
        std::erase_if(regexp_list(), [&](const std::shared_ptr<const RegexpMount>& m) { return mine(m->mount); });
      }
    }
  }
  for (size_t i = 0; i < added.size(); ++i) {
    const config::v1::Application& app = *added[i].app;
    for (int j = 0; j < app.frontends_size(); ++j) {
      const config::v1::Frontend& f = app.frontends(j);
      Mount mount;
      mount.app_id = app.id();
      mount.app_index = index_apps ? static_cast<int>(i) : 0;
      mount.frontend_index = j;
      mount.prefix = f.path_prefix();
      mount.strip_path_prefix = f.strip_path_prefix();
      mount.allow_insecure_http = f.allow_insecure_http();
      mount.target = added[i].target;
      if (f.kind() == "path_prefix") {
        global_list().push_back(std::move(mount));
      } else if (f.kind() == "hostname") {
        // No port stripping here: edgerouter compares against the port-less request host, so a
        // configured "host:port" never matches, and "::1" must stay usable for "[::1]".
        std::string host = f.hostname();
        CanonicaliseHost(&host);
        host_list(host).push_back(std::move(mount));
      } else if (f.kind() == "hostname_regexp") {
        RE2::Options options;
        options.set_case_sensitive(false);
        options.set_log_errors(false);
        const std::string pattern = config::HostnameRegexpToRe2(f.hostname_regexp());
        auto regexp_mount = std::make_shared<RegexpMount>();
        regexp_mount->mount = std::move(mount);
        for (int c = 0; c < copies; ++c) {
          auto re = std::make_unique<RE2>(pattern, options);
          if (!re->ok()) {
            return AppError(app, j, absl::StrCat(".hostname_regexp: invalid regexp \"",
                                                 f.hostname_regexp(), "\": ", re->error()));
          }
          regexp_mount->copies.push_back(std::move(re));
        }
        regexp_list().push_back(std::move(regexp_mount));
      } else {
        // The control plane validates kinds; an unknown one here means a newer snapshot schema.
        return AppError(app, j, absl::StrCat(".kind: unknown frontend kind: ", f.kind()));
      }
    }
  }

  if (global) {
    std::stable_sort(global->begin(), global->end(), PrefixBefore);
    table->global_ = std::make_shared<const PrefixList>(*std::move(global));
  } else {
    table->global_ = previous != nullptr ? previous->global_ : std::make_shared<const PrefixList>();
  }
  for (auto& [host, list] : hosts) {
    if (list.empty()) {
      table->hosts_.Erase(host);
      continue;
    }
    std::stable_sort(list.begin(), list.end(), PrefixBefore);
    table->hosts_.Set(host, std::make_shared<const PrefixList>(std::move(list)));
  }
  if (regexps) {
    std::stable_sort(regexps->begin(), regexps->end(),
                     [](const std::shared_ptr<const RegexpMount>& a, const std::shared_ptr<const RegexpMount>& b) {
                       return SnapshotBefore(a->mount, b->mount);
                     });
    table->regexps_ = std::make_shared<const RegexpList>(*std::move(regexps));
  } else {
    table->regexps_ = previous != nullptr ? previous->regexps_ : std::make_shared<const RegexpList>();
  }
  return table;
}

const Mount* RouteTable::Match(absl::string_view host, absl::string_view path, size_t copy) const {
  for (const Mount& m : *global_) {
    if (PathMatches(m.prefix, path)) return &m;
  }
  // Heterogeneous lookup: no std::string is built for the key.
  if (const std::shared_ptr<const PrefixList>* list = hosts_.Find(host)) {
    for (const Mount& m : **list) {
      if (PathMatches(m.prefix, path)) return &m;
    }
  }
  // The path test is the cheap one, so it goes first; both must hold either way.
  const re2::StringPiece host_piece(host.data(), host.size());
  for (const std::shared_ptr<const RegexpMount>& r : *regexps_) {
    if (PathMatches(r->mount.prefix, path) &&
        RE2::PartialMatch(host_piece, *r->copies[copy % r->copies.size()])) {
      return &r->mount;
    }
  }
  return nullptr;
}

size_t RouteTable::mount_count() const {
  size_t n = global_->size() + regexps_->size();
  hosts_.ForEach([&n](const std::string&, const std::shared_ptr<const PrefixList>& list) { n += list->size(); });
  return n;
}

bool RouteTable::SharesHostWith(const RouteTable& other, absl::string_view host) const {
  const std::shared_ptr<const PrefixList>* mine = hosts_.Find(host);
  const std::shared_ptr<const PrefixList>* theirs = other.hosts_.Find(host);
  return mine != nullptr && theirs != nullptr && *mine == *theirs;
}

bool NormalizeHost(absl::string_view host_header, std::string* out) {
  // One pass for the usual "name" (no ':' or brackets): validate and lower-case while copying.
  // Empty labels are refused on every path (see below), so ".." and a leading '.' end it here.
  const size_t n = host_header.size();
  out->resize(n);
  char* const dst = out->data();
  uint8_t previous = '.';  // a leading '.' is an empty first label
  size_t i = 0;
  for (; i < n; ++i) {
    const uint8_t folded = kHostFold[static_cast<uint8_t>(host_header[i])];
    if (folded <= 1) {
      if (folded == 0) return false;
      break;  // ':', '[' or ']'
    }
    if (folded == '.' && previous == '.') return false;
    previous = folded;
    dst[i] = static_cast<char>(folded);
  }
  if (i == n) {
    if (!out->empty() && out->back() == '.') out->pop_back();
    return !out->empty();
  }
  if (host_header[i] == ':' && i > 0 && IsValidPort(host_header.substr(i + 1))) {
    // "name:port", the other usual form: the name before i is checked and folded already.
    out->resize(i);
    if (out->back() == '.') out->pop_back();
    return !out->empty();
  }
  for (; i < n; ++i) {  // the bytes before i are valid already
    if (!IsHostByte(host_header[i])) return false;
  }
  absl::string_view host = host_header;
  if (host_header.find(':') == absl::string_view::npos) {
    // edgerouter uses a value without ':' verbatim.
  } else if (host_header.front() == '[') {
    // "[v6]" or "[v6]:port". Go's SplitHostPort also demands the port; a bare bracketed
    // literal is unambiguous, so it is accepted.
    const size_t close = host_header.find(']');
    if (close == absl::string_view::npos) return false;
    host = host_header.substr(1, close - 1);
    const absl::string_view rest = host_header.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !IsValidPort(rest.substr(1)))) return false;
  } else {
    // "host:port". More than one ':' is an unbracketed IPv6 literal, which SplitHostPort
    // rejects ("too many colons"): "::1" could be a host or a host plus port.
    const size_t colon = host_header.rfind(':');
    host = host_header.substr(0, colon);
    if (host.find(':') != absl::string_view::npos) return false;
    if (!IsValidPort(host_header.substr(colon + 1))) return false;
  }
  if (host.find_first_of("[]") != absl::string_view::npos) return false;
  // Empty labels ("a..b", ".a", "a..") name no host (nginx answers 400 too); without this,
  // "a.." would become "a." and normalising would not be idempotent.
  if (!host.empty() && (host.front() == '.' || absl::StrContains(host, ".."))) return false;
  out->assign(host.data(), host.size());
  CanonicaliseHost(out);
  return !out->empty();
}

bool PathMatches(absl::string_view prefix, absl::string_view path) {
  if (prefix == "/") return true;
  const absl::string_view p = TrimTrailingSlashes(prefix);
  if (path.size() < p.size() || path.substr(0, p.size()) != p) return false;
  return path.size() == p.size() || path[p.size()] == '/';
}

std::string StripPrefix(absl::string_view prefix, absl::string_view path) {
  // edgerouter slices off the raw prefix. When the path is shorter than that ("/x" under
  // "/x/") Go panics; cutting the trimmed prefix instead gives "/" there, and for prefixes
  // with extra trailing slashes ("/x//" on "/x/yz") it keeps whole segments.
  absl::string_view rest;
  if (path.substr(0, prefix.size()) == prefix) {
    rest = path.substr(prefix.size());
  } else {
    rest = path.substr(std::min(TrimTrailingSlashes(prefix).size(), path.size()));
  }
  if (!rest.empty() && rest.front() == '/') return std::string(rest);
  return absl::StrCat("/", rest);
}

absl::StatusOr<std::string> NormalizePath(absl::string_view raw_path) {
  if (raw_path.empty() || raw_path.front() != '/') {
    return absl::InvalidArgumentError("path must start with '/'");
  }
  // Most paths need neither pass: no percent-encoding, no backslash, no segment starting
  // with '.' (a superset of the dot segments; raw_path[0] is '/', so i - 1 is in range).
  size_t plain = 1;
  while (plain < raw_path.size()) {
    const char c = raw_path[plain];
    if (c == '%' || c == '\\' || (c == '.' && raw_path[plain - 1] == '/')) break;
    ++plain;
  }
  if (plain == raw_path.size()) return std::string(raw_path);
  // Pass 1: decode percent-encoded unreserved characters, so "%2e%2e" is seen as ".." and
  // "/%41" and "/A" route the same; keep the rest encoded, hex upper-cased.
  std::string s;
  s.reserve(raw_path.size());
  for (size_t i = 0; i < raw_path.size(); ++i) {
    const char c = raw_path[i];
    // Some origins (Windows servers, some frameworks) read a backslash as '/': "/static\..\admin"
    // would climb out of the mount it matched. A raw backslash is a bad request.
    if (c == '\\') return absl::InvalidArgumentError("backslash in path");
    if (c != '%') {
      s.push_back(c);
      continue;
    }
    const int hi = raw_path.size() - i >= 3 ? HexValue(raw_path[i + 1]) : -1;
    const int lo = hi >= 0 ? HexValue(raw_path[i + 2]) : -1;
    if (lo < 0) return absl::InvalidArgumentError("invalid percent-encoding");
    const int value = hi * 16 + lo;
    // A NUL cuts strings short in backends written in C.
    if (value == 0) return absl::InvalidArgumentError("percent-encoded NUL");
    if (IsUnreserved(static_cast<unsigned char>(value))) {
      s.push_back(static_cast<char>(value));
    } else {
      s.push_back('%');
      s.push_back(kUpperHex[hi]);
      s.push_back(kUpperHex[lo]);
    }
    i += 2;
  }

  // Pass 2: RFC 3986 §5.2.4 remove_dot_segments, in place. The output s[0, w) never overtakes
  // the segment being read (w < pos), so the copy is safe. Empty segments ("//") are kept.
  size_t w = 0;
  size_t pos = 1;  // s[0] == '/'
  for (;;) {
    size_t end = s.find('/', pos);
    const bool last = end == std::string::npos;
    if (last) end = s.size();
    const size_t len = end - pos;
    const bool dot = len == 1 && s[pos] == '.';
    const bool dot_dot = len == 2 && s[pos] == '.' && s[pos + 1] == '.';
    if (dot_dot) {
      // Drop the last "/segment" of the output; at the root there is nothing to drop.
      while (w > 0 && s[w - 1] != '/') --w;
      if (w > 0) --w;
    }
    if (dot || dot_dot) {
      if (last) s[w++] = '/';  // "/a/b/.." -> "/a/": the result names a directory
    } else {
      s[w++] = '/';
      std::memmove(&s[w], s.data() + pos, len);
      w += len;
    }
    if (last) break;
    pos = end + 1;
  }
  s.resize(w);
  if (s.empty()) s = "/";
  return s;
}

}  // namespace edgerouter::routing
