#include "dataplane/aws/lambda_event.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace edgerouter::aws {
namespace {

using nlohmann::json;

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// Query components are form-encoded: '+' is a space, then percent-decoding.
std::string DecodeQueryComponent(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%' && i + 2 < in.size() && Hex(in[i + 1]) >= 0 && Hex(in[i + 2]) >= 0) {
      out += static_cast<char>(Hex(in[i + 1]) * 16 + Hex(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

std::string DecodePath(absl::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && Hex(in[i + 1]) >= 0 && Hex(in[i + 2]) >= 0) {
      out += static_cast<char>(Hex(in[i + 1]) * 16 + Hex(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

bool ValidUtf8(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    const int extra = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : -1;
    if (extra < 0 || i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string HeaderValue(const LambdaRequest& r, absl::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (absl::EqualsIgnoreCase(n, name)) return v;
  }
  return "";
}

// A JSON value from a result's header map as a header value (numbers and booleans allowed).
std::string ValueText(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

bool SafeHeader(absl::string_view name, absl::string_view value) {
  if (name.empty()) return false;
  for (char c : name) {
    if (c <= ' ' || c == ':' || c == 0x7f) return false;
  }
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  // Framing is ours to set.
  static constexpr absl::string_view kOurs[] = {"content-length", "transfer-encoding", "connection", "keep-alive",
                                                "upgrade"};
  for (absl::string_view o : kOurs) {
    if (absl::EqualsIgnoreCase(name, o)) return false;
  }
  return true;
}

}  // namespace

bool IsTextBody(absl::string_view content_type, absl::string_view body) {
  const std::string type = absl::AsciiStrToLower(content_type.substr(0, content_type.find(';')));
  const bool textual = absl::StartsWith(type, "text/") || type == "application/json" ||
                       type == "application/xml" || type == "application/javascript" ||
                       type == "application/x-www-form-urlencoded" || type == "application/graphql" ||
                       absl::EndsWith(type, "+json") || absl::EndsWith(type, "+xml");
  return textual && ValidUtf8(body);
}

std::string BuildLambdaEvent(const LambdaRequest& r, bool v2) {
  const std::string time = absl::FormatTime("%d/%b/%Y:%H:%M:%S +0000", r.time, absl::UTCTimeZone());
  const int64_t epoch_ms = absl::ToUnixMillis(r.time);
  const std::string user_agent = HeaderValue(r, "User-Agent");
  // Query parameters, decoded, in order.
  std::vector<std::pair<std::string, std::string>> params;
  if (!r.query.empty()) {
    for (absl::string_view part : absl::StrSplit(r.query, '&', absl::SkipEmpty())) {
      const size_t eq = part.find('=');
      params.emplace_back(DecodeQueryComponent(part.substr(0, eq)),
                          eq == absl::string_view::npos ? "" : DecodeQueryComponent(part.substr(eq + 1)));
    }
  }
  const bool text = r.body.empty() || IsTextBody(HeaderValue(r, "Content-Type"), r.body);
  json event;
  if (!v2) {
    json headers = json::object(), multi_headers = json::object();
    for (const auto& [name, value] : r.headers) {
      headers[name] = value;  // the last value wins, as in API Gateway's single-value map
      multi_headers[name].push_back(value);
    }
    json qs = nullptr, multi_qs = nullptr;
    for (const auto& [name, value] : params) {
      qs[name] = value;
      multi_qs[name].push_back(value);
    }
    const std::string path = DecodePath(r.path);
    event = {
        {"resource", "/{proxy+}"},
        {"path", path},
        {"httpMethod", r.method},
        {"headers", headers},
        {"multiValueHeaders", multi_headers},
        {"queryStringParameters", qs},
        {"multiValueQueryStringParameters", multi_qs},
        {"pathParameters", {{"proxy", path.substr(1)}}},
        {"stageVariables", nullptr},
        {"requestContext",
         {{"accountId", ""},
          {"apiId", ""},
          {"resourceId", ""},
          {"resourcePath", "/{proxy+}"},
          {"stage", "$default"},
          {"requestId", r.request_id},
          {"extendedRequestId", r.request_id},
          {"requestTime", time},
          {"requestTimeEpoch", epoch_ms},
          {"path", path},
          {"httpMethod", r.method},
          {"protocol", r.protocol},
          {"domainName", r.host},
          {"domainPrefix", r.host.substr(0, r.host.find('.'))},
          {"identity", {{"sourceIp", r.source_ip}, {"userAgent", user_agent}}}}},
        {"body", r.body.empty() ? json(nullptr) : json(text ? r.body : absl::Base64Escape(r.body))},
        {"isBase64Encoded", !text},
    };
    return event.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  // 2.0: lower-case names, repeats joined with ',', cookies in their own array.
  json headers = json::object();
  json cookies = json::array();
  for (const auto& [name, value] : r.headers) {
    const std::string lower = absl::AsciiStrToLower(name);
    if (lower == "cookie") {
      for (absl::string_view c : absl::StrSplit(value, ';', absl::SkipWhitespace())) {
        cookies.push_back(std::string(absl::StripAsciiWhitespace(c)));
      }
      continue;
    }
    if (headers.contains(lower)) {
      headers[lower] = absl::StrCat(headers[lower].get<std::string>(), ",", value);
    } else {
      headers[lower] = value;
    }
  }
  event = {
      {"version", "2.0"},
      {"routeKey", "$default"},
      {"rawPath", r.path},
      {"rawQueryString", r.query},
      {"headers", headers},
      {"requestContext",
       {{"accountId", ""},
        {"apiId", ""},
        {"domainName", r.host},
        {"domainPrefix", r.host.substr(0, r.host.find('.'))},
        {"http",
         {{"method", r.method},
          {"path", DecodePath(r.path)},
          {"protocol", r.protocol},
          {"sourceIp", r.source_ip},
          {"userAgent", user_agent}}},
        {"requestId", r.request_id},
        {"routeKey", "$default"},
        {"stage", "$default"},
        {"time", time},
        {"timeEpoch", epoch_ms}}},
      {"isBase64Encoded", !text},
  };
  if (!cookies.empty()) event["cookies"] = cookies;
  if (!params.empty()) {
    json qs = json::object();
    for (const auto& [name, value] : params) {
      qs[name] = qs.contains(name) ? absl::StrCat(qs[name].get<std::string>(), ",", value) : value;
    }
    event["queryStringParameters"] = qs;
  }
  if (!r.body.empty()) event["body"] = text ? r.body : absl::Base64Escape(r.body);
  return event.dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::StatusOr<LambdaHttpResponse> MapLambdaResult(absl::string_view payload, bool v2) {
  json result = json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  LambdaHttpResponse out;
  const bool structured = result.is_object() && result.contains("statusCode");
  if (!structured) {
    if (!v2) return absl::InvalidArgumentError("Lambda result is not a proxy response (no statusCode)");
    // HTTP API: a result without statusCode is the body of a 200 JSON response.
    out.status = 200;
    out.headers = "Content-Type: application/json\r\n";
    out.body = result.is_discarded() ? std::string(payload)
               : result.is_string()   ? result.get<std::string>()
                                      : result.dump();
    return out;
  }
  const json& status = result["statusCode"];
  int code = 0;
  if (status.is_number_integer()) {
    code = status.get<int>();
  } else if (status.is_string()) {
    if (!absl::SimpleAtoi(status.get<std::string>(), &code)) code = 0;
  }
  if (code < 200 || code > 599) return absl::InvalidArgumentError(absl::StrCat("invalid statusCode ", status.dump()));
  out.status = code;
  std::vector<std::pair<std::string, std::string>> lines;
  if (result.contains("headers") && result["headers"].is_object()) {
    for (const auto& [name, value] : result["headers"].items()) lines.emplace_back(name, ValueText(value));
  }
  if (result.contains("multiValueHeaders") && result["multiValueHeaders"].is_object()) {
    for (const auto& [name, values] : result["multiValueHeaders"].items()) {
      if (!values.is_array()) continue;
      for (const json& v : values) {
        std::pair<std::string, std::string> line(name, ValueText(v));
        if (std::find(lines.begin(), lines.end(), line) == lines.end()) lines.push_back(std::move(line));
      }
    }
  }
  if (v2 && result.contains("cookies") && result["cookies"].is_array()) {
    for (const json& c : result["cookies"]) lines.emplace_back("Set-Cookie", ValueText(c));
  }
  for (const auto& [name, value] : lines) {
    if (SafeHeader(name, value)) absl::StrAppend(&out.headers, name, ": ", value, "\r\n");
  }
  if (result.contains("body") && !result["body"].is_null()) {
    std::string body = ValueText(result["body"]);
    const bool base64 = result.contains("isBase64Encoded") && result["isBase64Encoded"].is_boolean() &&
                        result["isBase64Encoded"].get<bool>();
    if (base64) {
      if (!absl::Base64Unescape(body, &out.body)) return absl::InvalidArgumentError("body is not valid base64");
    } else {
      out.body = std::move(body);
    }
  }
  return out;
}

}  // namespace edgerouter::aws
