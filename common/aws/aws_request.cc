#include "common/aws/aws_request.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace edgerouter::aws {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// "http://host:port[/prefix]" -> base (scheme://authority), authority, path prefix.
void SplitUrl(absl::string_view url, std::string* base, std::string* authority, std::string* prefix) {
  const size_t scheme_end = url.find("://");
  const size_t start = scheme_end == absl::string_view::npos ? 0 : scheme_end + 3;
  const size_t slash = url.find('/', start);
  *authority = std::string(url.substr(start, slash == absl::string_view::npos ? url.npos : slash - start));
  *base = std::string(url.substr(0, slash));
  *prefix = slash == absl::string_view::npos ? "" : std::string(url.substr(slash));
}

}  // namespace

Endpoints Endpoints::FromEnvironment() {
  Endpoints e;
  const std::string common = Env("AWS_ENDPOINT_URL");
  e.s3 = TrimSlash(Env("AWS_ENDPOINT_URL_S3").empty() ? common : Env("AWS_ENDPOINT_URL_S3"));
  e.lambda = TrimSlash(Env("AWS_ENDPOINT_URL_LAMBDA").empty() ? common : Env("AWS_ENDPOINT_URL_LAMBDA"));
  e.dynamodb = TrimSlash(Env("AWS_ENDPOINT_URL_DYNAMODB").empty() ? common : Env("AWS_ENDPOINT_URL_DYNAMODB"));
  return e;
}

absl::StatusOr<Credentials> ParseCredentialsFile(absl::string_view text, absl::string_view profile) {
  Credentials c;
  bool in_profile = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      in_profile = absl::StripAsciiWhitespace(line.substr(1, line.size() - 2)) == profile;
      continue;
    }
    if (!in_profile) continue;
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) continue;
    const std::string key = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, eq)));
    const std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    if (key == "aws_access_key_id") c.access_key_id = value;
    if (key == "aws_secret_access_key") c.secret_access_key = value;
    if (key == "aws_session_token") c.session_token = value;
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return absl::NotFoundError(absl::StrCat("no aws_access_key_id/aws_secret_access_key in profile [", profile, "]"));
  }
  return c;
}

absl::StatusOr<Credentials> LoadCredentials(const std::string& credentials_file) {
  if (!credentials_file.empty()) {
    std::ifstream in(credentials_file);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read AWS credentials file ", credentials_file));
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<Credentials> c = ParseCredentialsFile(text.str(), "default");
    if (!c.ok()) return absl::NotFoundError(absl::StrCat(credentials_file, ": ", c.status().message()));
    return c;
  }
  Credentials c;
  c.access_key_id = Env("AWS_ACCESS_KEY_ID");
  c.secret_access_key = Env("AWS_SECRET_ACCESS_KEY");
  c.session_token = Env("AWS_SESSION_TOKEN");
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return absl::NotFoundError("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set");
  }
  return c;
}

Target S3Target(const Endpoints& endpoints, absl::string_view bucket, absl::string_view region,
                absl::string_view key, NameValues query) {
  Target t;
  t.query = std::move(query);
  const std::string encoded_key = UriEncode(key, /*keep_slash=*/true);
  if (!endpoints.s3.empty()) {
    std::string prefix;
    SplitUrl(endpoints.s3, &t.base, &t.authority, &prefix);
    t.path = absl::StrCat(prefix, "/", bucket, encoded_key.empty() ? "" : "/", encoded_key);
  } else {
    t.authority = absl::StrCat(bucket, ".s3.", region, ".amazonaws.com");
    t.base = absl::StrCat("https://", t.authority);
    t.path = absl::StrCat("/", encoded_key);
  }
  return t;
}

Target LambdaInvokeTarget(const Endpoints& endpoints, absl::string_view region,
                          absl::string_view function_name) {
  Target t;
  std::string prefix;
  if (!endpoints.lambda.empty()) {
    SplitUrl(endpoints.lambda, &t.base, &t.authority, &prefix);
  } else {
    t.authority = absl::StrCat("lambda.", region, ".amazonaws.com");
    t.base = absl::StrCat("https://", t.authority);
  }
  t.path = absl::StrCat(prefix, "/2015-03-31/functions/", UriEncode(function_name, false), "/invocations");
  return t;
}

Target DynamoDbTarget(const Endpoints& endpoints, absl::string_view region) {
  Target t;
  std::string prefix;
  if (!endpoints.dynamodb.empty()) {
    SplitUrl(endpoints.dynamodb, &t.base, &t.authority, &prefix);
  } else {
    t.authority = absl::StrCat("dynamodb.", region, ".amazonaws.com");
    t.base = absl::StrCat("https://", t.authority);
  }
  t.path = absl::StrCat(prefix, "/");
  return t;
}

SignedRequest SignAwsRequest(Service service, absl::string_view region, absl::string_view method,
                             const Target& target, const NameValues& extra_headers,
                             std::string payload_hash, const Credentials& credentials, absl::Time now,
                             const NameValues& signed_headers) {
  SigningRequest req;
  req.method = std::string(method);
  req.path = target.path;
  req.query = target.query;
  req.headers = {{"Host", target.authority}};
  req.headers.insert(req.headers.end(), signed_headers.begin(), signed_headers.end());
  req.payload_hash = std::move(payload_hash);
  SigningConfig config;
  config.region = std::string(region);
  config.time = now;
  if (service == Service::kS3) {
    config.service = "s3";
    config.normalize_path = false;  // S3 signs the wire path verbatim
    config.double_encode_path = false;
    config.add_content_sha256_header = true;
  } else {
    config.service = service == Service::kLambda ? "lambda" : "dynamodb";
  }
  HeaderSignature sig = SignHeaders(req, credentials, config);
  SignedRequest out;
  out.method = req.method;
  out.url = absl::StrCat(target.base, target.path);
  if (!target.query.empty()) absl::StrAppend(&out.url, "?", CanonicalQuery(target.query));
  out.header_lines.reserve(2 + sig.headers_to_add.size() + extra_headers.size() + signed_headers.size());
  out.header_lines.push_back(absl::StrCat("Host: ", target.authority));
  for (const auto& [name, value] : signed_headers) out.header_lines.push_back(absl::StrCat(name, ": ", value));
  for (const auto& [name, value] : sig.headers_to_add) out.header_lines.push_back(absl::StrCat(name, ": ", value));
  for (const auto& [name, value] : extra_headers) out.header_lines.push_back(absl::StrCat(name, ": ", value));
  return out;
}

absl::string_view ContentTypeForPath(absl::string_view path) {
  // The types a static site needs; everything else is served as bytes.
  static constexpr std::pair<absl::string_view, absl::string_view> kTypes[] = {
      {"html", "text/html; charset=utf-8"},       {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},         {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},  {"json", "application/json"},
      {"map", "application/json"},                {"webmanifest", "application/manifest+json"},
      {"txt", "text/plain; charset=utf-8"},       {"md", "text/markdown; charset=utf-8"},
      {"csv", "text/csv; charset=utf-8"},         {"xml", "application/xml"},
      {"rss", "application/rss+xml"},             {"atom", "application/atom+xml"},
      {"svg", "image/svg+xml"},                   {"png", "image/png"},
      {"jpg", "image/jpeg"},                      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},                       {"webp", "image/webp"},
      {"avif", "image/avif"},                     {"ico", "image/vnd.microsoft.icon"},
      {"bmp", "image/bmp"},                       {"woff", "font/woff"},
      {"woff2", "font/woff2"},                    {"ttf", "font/ttf"},
      {"otf", "font/otf"},                        {"eot", "application/vnd.ms-fontobject"},
      {"pdf", "application/pdf"},                 {"zip", "application/zip"},
      {"gz", "application/gzip"},                 {"wasm", "application/wasm"},
      {"mp4", "video/mp4"},                       {"webm", "video/webm"},
      {"mp3", "audio/mpeg"},                      {"ogg", "audio/ogg"},
      {"wav", "audio/wav"},                       {"xhtml", "application/xhtml+xml"},
  };
  const size_t slash = path.rfind('/');
  absl::string_view name = slash == absl::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = name.rfind('.');
  if (dot != absl::string_view::npos) {
    absl::string_view ext = name.substr(dot + 1);
    for (const auto& [e, type] : kTypes) {
      if (absl::EqualsIgnoreCase(e, ext)) return type;
    }
  }
  return "application/octet-stream";
}

bool IsHtmlPath(absl::string_view path) { return absl::StartsWith(ContentTypeForPath(path), "text/html"); }

std::string XmlErrorCode(absl::string_view body) {
  const size_t start = body.find("<Code>");
  if (start == absl::string_view::npos) return "";
  const size_t end = body.find("</Code>", start);
  if (end == absl::string_view::npos) return "";
  return std::string(body.substr(start + 6, end - start - 6));
}

}  // namespace edgerouter::aws
