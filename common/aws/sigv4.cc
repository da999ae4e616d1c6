// Implementation follows the published SigV4 algorithm: canonical request -> string to sign
// -> HMAC chain over date/region/service -> signature.
#include "common/aws/sigv4.h"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/sha.h>

#include <algorithm>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

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

// Trimall from the spec: strip, and fold every whitespace run (including the line breaks of
// obsolete folded headers) to one space. Quoted strings are not special.
std::string TrimAll(absl::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (char c : v) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
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

CanonicalHeaders BuildCanonicalHeaders(const NameValues& headers) {
  NameValues lowered;
  lowered.reserve(headers.size());
  for (const auto& [name, value] : headers) {
    lowered.emplace_back(absl::AsciiStrToLower(name), TrimAll(value));
  }
  // Stable so repeated headers keep their order in the comma-joined value.
  std::stable_sort(lowered.begin(), lowered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  CanonicalHeaders out;
  for (size_t i = 0; i < lowered.size(); ++i) {
    const std::string& name = lowered[i].first;
    if (i > 0 && lowered[i - 1].first == name) {
      absl::StrAppend(&out.block, ",", lowered[i].second);
    } else {
      if (i > 0) out.block.push_back('\n');
      absl::StrAppend(&out.block, name, ":", lowered[i].second);
      if (!out.signed_names.empty()) out.signed_names.push_back(';');
      out.signed_names.append(name);
    }
  }
  if (!out.block.empty()) out.block.push_back('\n');
  return out;
}

bool HasName(const std::vector<std::string>& names, absl::string_view lower) {
  return std::find(names.begin(), names.end(), lower) != names.end();
}

// Caller headers minus the ones the signer sets itself (a retry may still carry them).
NameValues WithoutNames(const NameValues& headers, const std::vector<std::string>& drop) {
  NameValues out;
  for (const auto& h : headers) {
    if (!HasName(drop, absl::AsciiStrToLower(h.first))) out.push_back(h);
  }
  return out;
}

std::string Scope(absl::string_view date, const SigningConfig& config) {
  return absl::StrCat(date, "/", config.region, "/", config.service, "/aws4_request");
}

// The signing key depends only on the secret, the day, the region and the service, so the last
// one derived is kept per thread: four of a signature's five HMACs, saved for every request
// signed with the same credentials that day.
const std::string& SigningKey(const Credentials& credentials, absl::string_view date,
                              const SigningConfig& config) {
  struct Derived {
    std::string secret, date, region, service, key;
  };
  thread_local Derived last;
  if (last.key.empty() || last.secret != credentials.secret_access_key || last.date != date ||
      last.region != config.region || last.service != config.service) {
    std::string key = HmacSha256(absl::StrCat("AWS4", credentials.secret_access_key), date);
    key = HmacSha256(key, config.region);
    key = HmacSha256(key, config.service);
    key = HmacSha256(key, "aws4_request");
    last = Derived{credentials.secret_access_key, std::string(date), config.region,
                   config.service, std::move(key)};
  }
  return last.key;
}

struct Signed {
  std::string canonical_request;
  std::string string_to_sign;
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
  s.string_to_sign = absl::StrCat(kAlgorithm, "\n", amz_date, "\n", Scope(date, config),
                                  "\n", Sha256Hex(s.canonical_request));
  std::string mac = HmacSha256(SigningKey(credentials, date, config), s.string_to_sign);
  s.signature = Hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
  return s;
}

}  // namespace

std::string UriEncode(absl::string_view in, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() * 3);
  for (char ch : in) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, Sha256(), nullptr) != 1) return "";
  return Hex(digest, len);
}

std::string AmzDate(absl::Time t) {
  return absl::FormatTime("%Y%m%dT%H%M%SZ", t, absl::UTCTimeZone());
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
  // Byte order of the encoded names, then of the values for repeated names.
  std::sort(encoded.begin(), encoded.end());
  return absl::StrJoin(encoded, "&", absl::PairFormatter("="));
}

HeaderSignature SignHeaders(const SigningRequest& request, const Credentials& credentials,
                            const SigningConfig& config) {
  const std::string amz_date = AmzDate(config.time);
  const bool has_token = !credentials.session_token.empty();
  std::vector<std::string> drop = {"authorization", "x-amz-date"};
  if (has_token) drop.push_back("x-amz-security-token");
  if (config.add_content_sha256_header) drop.push_back("x-amz-content-sha256");

  HeaderSignature out;
  NameValues to_sign = WithoutNames(request.headers, drop);
  if (has_token) out.headers_to_add.emplace_back("X-Amz-Security-Token", credentials.session_token);
  out.headers_to_add.emplace_back("X-Amz-Date", amz_date);
  if (config.add_content_sha256_header) {
    out.headers_to_add.emplace_back(
        "X-Amz-Content-Sha256",
        request.payload_hash.empty() ? kEmptySha256 : request.payload_hash);
  }
  for (const auto& h : out.headers_to_add) {
    if (h.first == "X-Amz-Security-Token" && !config.sign_session_token) continue;
    to_sign.push_back(h);
  }
  CanonicalHeaders headers = BuildCanonicalHeaders(to_sign);

  Signed s = Sign(request, CanonicalQuery(request.query), headers, credentials, config,
                  amz_date);
  out.canonical_request = std::move(s.canonical_request);
  out.string_to_sign = std::move(s.string_to_sign);
  out.signature = std::move(s.signature);
  out.signed_headers = headers.signed_names;
  out.authorization = absl::StrCat(
      kAlgorithm, " Credential=", credentials.access_key_id, "/",
      Scope(amz_date.substr(0, 8), config), ", SignedHeaders=", out.signed_headers,
      ", Signature=", out.signature);
  out.headers_to_add.emplace_back("Authorization", out.authorization);
  return out;
}

QuerySignature SignQuery(const SigningRequest& request, const Credentials& credentials,
                         const SigningConfig& config) {
  const std::string amz_date = AmzDate(config.time);
  CanonicalHeaders headers = BuildCanonicalHeaders(request.headers);

  QuerySignature out;
  out.query_to_add = {
      {"X-Amz-Algorithm", kAlgorithm},
      {"X-Amz-Credential", absl::StrCat(credentials.access_key_id, "/",
                                        Scope(amz_date.substr(0, 8), config))},
      {"X-Amz-Date", amz_date},
      {"X-Amz-Expires", absl::StrCat(absl::ToInt64Seconds(config.expires))},
      {"X-Amz-SignedHeaders", headers.signed_names},
  };
  const bool has_token = !credentials.session_token.empty();
  if (has_token && config.sign_session_token) {
    out.query_to_add.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  NameValues all = request.query;
  all.insert(all.end(), out.query_to_add.begin(), out.query_to_add.end());

  Signed s = Sign(request, CanonicalQuery(all), headers, credentials, config, amz_date);
  out.canonical_request = std::move(s.canonical_request);
  out.string_to_sign = std::move(s.string_to_sign);
  out.signature = std::move(s.signature);
  if (has_token && !config.sign_session_token) {
    out.query_to_add.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  out.query_to_add.emplace_back("X-Amz-Signature", out.signature);

  NameValues sent = request.query;
  sent.insert(sent.end(), out.query_to_add.begin(), out.query_to_add.end());
  std::vector<std::string> parts;
  parts.reserve(sent.size());
  for (const auto& [name, value] : sent) {
    parts.push_back(absl::StrCat(UriEncode(name, false), "=", UriEncode(value, false)));
  }
  out.query_string = absl::StrJoin(parts, "&");
  return out;
}

}  // namespace edgerouter::aws
