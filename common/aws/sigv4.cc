// Implementation follows the published SigV4 algorithm: canonical request -> string to sign
// -> HMAC chain over date/region/service -> signature.
#include "common/aws/sigv4.h"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/types/span.h"

namespace edgerouter::aws {
namespace {

constexpr char kAlgorithm[] = "AWS4-HMAC-SHA256";
constexpr char kEmptySha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Hex(const unsigned char* data, size_t len) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(data), len));
}

// OpenSSL 3's one-shot HMAC() and SHA256() look the algorithm up in the provider store (under
// a lock) and build a fresh context on every call: 70 % of a signature's time, shared across
// the proxy's workers. The algorithms are fetched once and each thread keeps one HMAC context,
// re-keyed per use.
const EVP_MD* Sha256() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

EVP_MAC_CTX* ThreadHmacSha256() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  thread_local std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx = [] {
    std::unique_ptr<EVP_MAC_CTX, MacCtxFree> c(EVP_MAC_CTX_new(mac));
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (c == nullptr || EVP_MAC_CTX_set_params(c.get(), params) != 1) c.reset();
    return c;
  }();
  return ctx.get();
}

std::string HmacSha256(absl::string_view key, absl::string_view msg) {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t out_len = 0;
  EVP_MAC_CTX* ctx = ThreadHmacSha256();
  // Key bytes are never empty here ("AWS4" + secret, then 32-byte keys).
  if (ctx == nullptr ||
      EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   nullptr) != 1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) != 1 ||
      EVP_MAC_final(ctx, out, &out_len, sizeof(out)) != 1) {
    return std::string();  // an empty MAC: the signature cannot match, the request fails
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

// Trimall from the spec, appended to *out: strip, and fold every whitespace run (including the
// line breaks of obsolete folded headers) to one space. Quoted strings are not special.
void AppendTrimAll(std::string* out, absl::string_view v) {
  bool started = false, pending_space = false;
  for (char c : v) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      pending_space = started;
      continue;
    }
    if (pending_space) out->push_back(' ');
    pending_space = false;
    started = true;
    out->push_back(c);
  }
}

// Removes "." and ".." segments and empty segments (duplicate slashes), keeping a leading
// slash and a trailing one when the last input segment was a real name.
std::string NormalizePath(absl::string_view path) {
  std::vector<absl::string_view> out;
  for (absl::string_view seg : absl::StrSplit(path, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(seg);
  }
  if (out.empty()) return "/";
  std::string result = absl::StrCat("/", absl::StrJoin(out, "/"));
  if (path.back() == '/') result.push_back('/');
  return result;
}

struct CanonicalHeaders {
  std::string block;   // "name:value\n" lines
  std::string signed_names;
};

// Headers are read in place (views into the request and the signer's own values), so the only
// copies made are the lower-cased names and the canonical block itself.
using HeaderViews = std::vector<std::pair<absl::string_view, absl::string_view>>;

CanonicalHeaders BuildCanonicalHeaders(const HeaderViews& headers) {
  std::vector<std::pair<std::string, absl::string_view>> lowered;
  lowered.reserve(headers.size());
  size_t len = 0;
  for (const auto& [name, value] : headers) {
    lowered.emplace_back(absl::AsciiStrToLower(name), value);
    len += name.size() + value.size() + 2;
  }
  // Stable so repeated headers keep their order in the comma-joined value.
  std::stable_sort(lowered.begin(), lowered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  CanonicalHeaders out;
  out.block.reserve(len);
  for (size_t i = 0; i < lowered.size(); ++i) {
    const std::string& name = lowered[i].first;
    if (i > 0 && lowered[i - 1].first == name) {
      out.block.push_back(',');
    } else {
      if (i > 0) out.block.push_back('\n');
      absl::StrAppend(&out.block, name, ":");
      if (!out.signed_names.empty()) out.signed_names.push_back(';');
      out.signed_names.append(name);
    }
    AppendTrimAll(&out.block, lowered[i].second);
  }
  if (!out.block.empty()) out.block.push_back('\n');
  return out;
}

HeaderViews Views(const NameValues& headers) {
  HeaderViews out;
  out.reserve(headers.size());
  for (const auto& [name, value] : headers) out.emplace_back(name, value);
  return out;
}

// Caller headers minus the ones the signer sets itself (a retry may still carry them).
// Compared without lower-casing copies: this runs for every signed request.
HeaderViews WithoutNames(const NameValues& headers, absl::Span<const absl::string_view> drop) {
  HeaderViews out;
  out.reserve(headers.size() + 3);  // room for the signer's own headers
  for (const auto& [name, value] : headers) {
    const bool dropped = std::any_of(drop.begin(), drop.end(), [&, &name = name](absl::string_view d) {
      return absl::EqualsIgnoreCase(name, d);
    });
    if (!dropped) out.emplace_back(name, value);
  }
  return out;
}

std::string Scope(absl::string_view date, const SigningConfig& config) {
  return absl::StrCat(date, "/", config.region, "/", config.service, "/aws4_request");
}

// The signing key depends only on the secret, the day, the region and the service, so the last
// few derived are kept per thread: four of a signature's five HMACs, saved for every request
// signed with the same credentials that day. A few, not one, so that a worker signing for two
// services in turn (S3 and Lambda, or two regions) does not derive a key for every request.
const std::string& SigningKey(const Credentials& credentials, absl::string_view date,
                              const SigningConfig& config) {
  struct Derived {
    std::string secret, date, region, service, key;
  };
  constexpr size_t kKept = 4;
  thread_local Derived kept[kKept];
  thread_local size_t next = 0;  // the slot replaced next (round robin)
  for (const Derived& d : kept) {
    if (!d.key.empty() && d.secret == credentials.secret_access_key && d.date == date &&
        d.region == config.region && d.service == config.service) {
      return d.key;
    }
  }
  std::string key = HmacSha256(absl::StrCat("AWS4", credentials.secret_access_key), date);
  key = HmacSha256(key, config.region);
  key = HmacSha256(key, config.service);
  key = HmacSha256(key, "aws4_request");
  Derived& slot = kept[next];
  next = (next + 1) % kKept;
  slot = Derived{credentials.secret_access_key, std::string(date), config.region, config.service,
                 std::move(key)};
  return slot.key;
}

struct Signed {
  std::string canonical_request;
  std::string string_to_sign;
  std::string scope;
  std::string signature;
};

Signed Sign(const SigningRequest& request, absl::string_view canonical_query,
            const CanonicalHeaders& headers, const Credentials& credentials,
            const SigningConfig& config, absl::string_view amz_date) {
  Signed s;
  const std::string& hash = request.payload_hash;
  s.canonical_request =
      absl::StrCat(request.method, "\n", CanonicalPath(request.path, config), "\n",
                   canonical_query, "\n", headers.block, "\n", headers.signed_names, "\n",
                   hash.empty() ? absl::string_view(kEmptySha256) : absl::string_view(hash));
  absl::string_view date = amz_date.substr(0, 8);
  s.scope = Scope(date, config);
  s.string_to_sign = absl::StrCat(kAlgorithm, "\n", amz_date, "\n", s.scope,
                                  "\n", Sha256Hex(s.canonical_request));
  std::string mac = HmacSha256(SigningKey(credentials, date, config), s.string_to_sign);
  s.signature = Hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
  return s;
}

// The canonical query from already-encoded pairs: byte order of the encoded names, then of the
// values for repeated names.
std::string SortedQuery(const NameValues& encoded) {
  std::vector<const std::pair<std::string, std::string>*> order;
  order.reserve(encoded.size());
  for (const auto& kv : encoded) order.push_back(&kv);
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) { return *a < *b; });
  size_t len = 0;
  for (const auto* kv : order) len += kv->first.size() + kv->second.size() + 2;
  std::string out;
  out.reserve(len);
  for (const auto* kv : order) {
    if (!out.empty()) out.push_back('&');
    absl::StrAppend(&out, kv->first, "=", kv->second);
  }
  return out;
}

}  // namespace

std::string UriEncode(absl::string_view in, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  auto kept = [keep_slash](unsigned char c) {
    return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
           (keep_slash && c == '/');
  };
  // Sized first, then written through a pointer: one allocation and no per-byte bookkeeping
  // (the query of every signed request goes through here, twice for a presigned URL).
  size_t len = 0;
  for (char ch : in) len += kept(static_cast<unsigned char>(ch)) ? 1 : 3;
  std::string out(len, '\0');
  char* p = out.data();
  for (char ch : in) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (kept(c)) {
      *p++ = ch;
    } else {
      *p++ = '%';
      *p++ = kHex[c >> 4];
      *p++ = kHex[c & 0xf];
    }
  }
  return out;
}

std::string Sha256Hex(absl::string_view data) {
  // One digest context per thread, re-initialised per use: EVP_Digest() allocates a context
  // and the provider's state on every call.
  struct MdCtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (ctx == nullptr || EVP_DigestInit_ex2(ctx.get(), Sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) {
    return "";
  }
  return Hex(digest, len);
}

std::string AmzDate(absl::Time t) {
  // By hand rather than FormatTime: its format-string interpreter cost half a dozen allocations
  // on every signed request. Years past 9999 do not occur in request times.
  const absl::CivilSecond c = absl::ToCivilSecond(t, absl::UTCTimeZone());
  char buf[32];
  const int n = std::snprintf(buf, sizeof(buf), "%04d%02d%02dT%02d%02d%02dZ",
                              static_cast<int>(c.year()), c.month(), c.day(), c.hour(),
                              c.minute(), c.second());
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

std::string CanonicalPath(absl::string_view wire_path, const SigningConfig& config) {
  std::string path = wire_path.empty() ? "/" : std::string(wire_path);
  if (config.normalize_path) path = NormalizePath(path);
  if (config.double_encode_path) path = UriEncode(path, /*keep_slash=*/true);
  return path;
}

std::string CanonicalQuery(const NameValues& query) {
  NameValues encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) {
    encoded.emplace_back(UriEncode(name, false), UriEncode(value, false));
  }
  return SortedQuery(encoded);
}

HeaderSignature SignHeaders(const SigningRequest& request, const Credentials& credentials,
                            const SigningConfig& config) {
  const std::string amz_date = AmzDate(config.time);
  const bool has_token = !credentials.session_token.empty();
  absl::string_view drop[4] = {"authorization", "x-amz-date"};
  size_t dropped = 2;
  if (has_token) drop[dropped++] = "x-amz-security-token";
  if (config.add_content_sha256_header) drop[dropped++] = "x-amz-content-sha256";

  HeaderSignature out;
  out.headers_to_add.reserve(4);
  HeaderViews to_sign = WithoutNames(request.headers, absl::MakeConstSpan(drop, dropped));
  if (has_token) out.headers_to_add.emplace_back("X-Amz-Security-Token", credentials.session_token);
  out.headers_to_add.emplace_back("X-Amz-Date", amz_date);
  if (config.add_content_sha256_header) {
    out.headers_to_add.emplace_back(
        "X-Amz-Content-Sha256",
        request.payload_hash.empty() ? kEmptySha256 : request.payload_hash);
  }
  for (const auto& h : out.headers_to_add) {
    if (h.first == "X-Amz-Security-Token" && !config.sign_session_token) continue;
    to_sign.emplace_back(h.first, h.second);
  }
  CanonicalHeaders headers = BuildCanonicalHeaders(to_sign);

  Signed s = Sign(request, CanonicalQuery(request.query), headers, credentials, config,
                  amz_date);
  out.canonical_request = std::move(s.canonical_request);
  out.string_to_sign = std::move(s.string_to_sign);
  out.signature = std::move(s.signature);
  out.signed_headers = headers.signed_names;
  out.authorization = absl::StrCat(
      kAlgorithm, " Credential=", credentials.access_key_id, "/", s.scope, ", SignedHeaders=", out.signed_headers,
      ", Signature=", out.signature);
  out.headers_to_add.emplace_back("Authorization", out.authorization);
  return out;
}

QuerySignature SignQuery(const SigningRequest& request, const Credentials& credentials,
                         const SigningConfig& config) {
  const std::string amz_date = AmzDate(config.time);
  CanonicalHeaders headers = BuildCanonicalHeaders(Views(request.headers));

  QuerySignature out;
  // Emplaced one by one: an initializer list would build every string twice.
  out.query_to_add.reserve(8);
  out.query_to_add.emplace_back("X-Amz-Algorithm", kAlgorithm);
  out.query_to_add.emplace_back(
      "X-Amz-Credential",
      absl::StrCat(credentials.access_key_id, "/", Scope(amz_date.substr(0, 8), config)));
  out.query_to_add.emplace_back("X-Amz-Date", amz_date);
  out.query_to_add.emplace_back("X-Amz-Expires", absl::StrCat(absl::ToInt64Seconds(config.expires)));
  out.query_to_add.emplace_back("X-Amz-SignedHeaders", headers.signed_names);
  const bool has_token = !credentials.session_token.empty();
  if (has_token && config.sign_session_token) {
    out.query_to_add.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  // Every parameter is encoded once, for the canonical query and the query string sent.
  NameValues encoded;
  encoded.reserve(request.query.size() + out.query_to_add.size() + 2);
  const NameValues* lists[] = {&request.query, &out.query_to_add};
  for (const NameValues* list : lists) {
    for (const auto& [name, value] : *list) {
      encoded.emplace_back(UriEncode(name, false), UriEncode(value, false));
    }
  }

  Signed s = Sign(request, SortedQuery(encoded), headers, credentials, config, amz_date);
  out.canonical_request = std::move(s.canonical_request);
  out.string_to_sign = std::move(s.string_to_sign);
  out.signature = std::move(s.signature);
  if (has_token && !config.sign_session_token) {
    out.query_to_add.emplace_back("X-Amz-Security-Token", credentials.session_token);
    encoded.emplace_back("X-Amz-Security-Token", UriEncode(credentials.session_token, false));
  }
  out.query_to_add.emplace_back("X-Amz-Signature", out.signature);
  encoded.emplace_back("X-Amz-Signature", out.signature);  // lower-case hex: nothing to encode

  size_t len = 0;
  for (const auto& [name, value] : encoded) len += name.size() + value.size() + 2;
  out.query_string.reserve(len);
  for (const auto& [name, value] : encoded) {
    if (!out.query_string.empty()) out.query_string.push_back('&');
    absl::StrAppend(&out.query_string, name, "=", value);
  }
  return out;
}

}  // namespace edgerouter::aws
