#include "dataplane/h2/h1_bridge.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace edgerouter::h2 {
namespace {

// Fields that describe one HTTP/1.1 connection and must not cross into HTTP/2 (RFC 9113 §8.2.2).
bool ConnectionSpecific(absl::string_view lower_name) {
  return lower_name == "connection" || lower_name == "keep-alive" || lower_name == "proxy-connection" ||
         lower_name == "transfer-encoding" || lower_name == "upgrade" || lower_name == "te";
}

void AppendField(absl::string_view name, absl::string_view value, proxy::IoBuffer* out) {
  out->Append(name);
  out->Append(": ");
  out->Append(value);
  out->Append("\r\n");
}

}  // namespace

bool RequestBodyIsChunked(const Stream& stream, bool body_follows) {
  return body_follows && stream.content_length < 0;
}

void AppendRequestHead(const Stream& stream, bool body_follows, proxy::IoBuffer* out) {
  out->Append(stream.method);
  out->Append(" ");
  out->Append(stream.path.empty() ? "/" : stream.path);
  out->Append(" HTTP/1.1\r\n");
  AppendField("host", stream.authority, out);
  std::string cookies;
  for (const Header& h : stream.headers) {
    // `expect: 100-continue` is not forwarded: interim responses do not cross back to HTTP/2,
    // and the body is already on its way (flow control paces it).
    if (h.first == "host" || h.first == "expect" || ConnectionSpecific(h.first)) continue;
    if (h.first == "cookie") {
      if (!cookies.empty()) cookies += "; ";
      cookies += h.second;
      continue;
    }
    AppendField(h.first, h.second, out);
  }
  if (!cookies.empty()) AppendField("cookie", cookies, out);
  if (RequestBodyIsChunked(stream, body_follows)) out->Append("transfer-encoding: chunked\r\n");
  out->Append("\r\n");
}

void AppendChunk(absl::string_view data, proxy::IoBuffer* out) {
  if (data.empty()) return;  // a zero-size chunk would end the body
  char size[24];
  const int n = std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  out->Append(absl::string_view(size, static_cast<size_t>(n)));
  out->Append(data);
  out->Append("\r\n");
}

void AppendLastChunk(proxy::IoBuffer* out) { out->Append("0\r\n\r\n"); }

absl::Status ResponseTranslator::ParseHead(proxy::IoBuffer* in, Head* head, bool* complete) {
  http::ParseError error;
  static const http::ParserLimits kLimits;
  const http::ParseStatus status = http::ParseResponseHead(in->view(), method_, kLimits, &parsed_, &error);
  if (status == http::ParseStatus::kIncomplete) {
    *complete = false;
    return absl::OkStatus();
  }
  if (status == http::ParseStatus::kError) {
    return absl::InvalidArgumentError(absl::StrCat("response head: ", error.reason));
  }
  *complete = true;
  if (parsed_.status >= 100 && parsed_.status < 200) {  // interim (100 Continue): not forwarded
    in->Consume(parsed_.head_size);
    return absl::OkStatus();
  }
  head->status = parsed_.status;
  head->headers.reserve(parsed_.headers.size());
  for (const http::Header& h : parsed_.headers) {
    std::string name = absl::AsciiStrToLower(h.name);
    if (ConnectionSpecific(name)) continue;
    head->headers.emplace_back(std::move(name), std::string(h.value));
  }
  framing_ = parsed_.framing;
  remaining_ = parsed_.content_length;
  head->has_body = framing_ != http::BodyFraming::kNone &&
                   !(framing_ == http::BodyFraming::kContentLength && remaining_ == 0);
  in->Consume(parsed_.head_size);
  head_done_ = true;
  return absl::OkStatus();
}

}  // namespace edgerouter::h2
