#include "dataplane/h2/request_decoder.h"

#include "dataplane/h2/field_rules.h"

namespace edgerouter::h2 {
namespace {

// Names whose field the decoded request does not carry (all lower-case on HTTP/2). The session
// refuses a request with a connection-specific one already (field_rules); dropping them again
// keeps the decoded value free of them whatever the session's options.
bool Dropped(absl::string_view name) {
  if (field_rules::ConnectionSpecific(name)) return true;
  // Host becomes the authority; an interim 100 does not cross back (flow control paces the
  // body); TE may only say "trailers", which is hop-by-hop.
  return name == "te" || name == "host" || name == "expect";
}

}  // namespace

http::ParseStatus DecodeRequest(const Stream& stream, const http::ParserLimits& limits, http::RequestHead* out,
                                std::string* cookies, http::ParseError* error) {
  out->Clear();
  out->method = stream.method;
  out->target = stream.path;
  out->host = stream.authority;
  out->version_major = 2;
  out->version_minor = 0;
  // Host first, from :authority, as an HTTP/1.1 request carries it: backends that pass the
  // message on (Lambda events) see the same fields from both protocols.
  http::Header& host = out->headers.emplace_back();
  host.name = "host";
  host.value = out->host;
  cookies->clear();
  size_t cookie_at = 0;  // index in out->headers of the (first) cookie field
  int cookie_fields = 0;
  for (const FieldView& h : stream.headers) {
    const absl::string_view name = h.first;
    if (Dropped(name)) continue;
    if (name == "cookie") {
      if (cookie_fields++ == 0) {
        cookie_at = out->headers.size();
      } else {
        if (cookie_fields == 2) {
          const absl::string_view first = out->headers[cookie_at].value;
          cookies->assign(first.data(), first.size());
        }
        cookies->append("; ");
        cookies->append(h.second.data(), h.second.size());
        continue;
      }
    }
    http::Header& field = out->headers.emplace_back();
    field.name = name;
    field.value = h.second;
  }
  if (cookie_fields > 1) out->headers[cookie_at].value = absl::string_view(*cookies);
  const http::ParseStatus status = http::CheckSplitRequestHead(limits, out, error);
  if (status != http::ParseStatus::kDone) return status;
  if (out->framing == http::BodyFraming::kNone && !stream.request_ended) {
    out->framing = http::BodyFraming::kUntilStreamEnd;
  }
  return status;
}

}  // namespace edgerouter::h2
