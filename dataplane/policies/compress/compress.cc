#include "dataplane/policies/compress/compress.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "dataplane/http/content_coding.h"

namespace edgerouter::policies::compress {

const char* const kDefaultContentTypes[] = {
    "text/*", "application/json", "application/*+json", "application/javascript", "application/x-javascript",
    "application/ecmascript", "application/xml", "application/*+xml", "application/x-ndjson", "image/svg+xml",
    nullptr};

namespace {

// Event streams must reach the client event by event; never compressed unless listed exactly.
constexpr absl::string_view kEventStream = "text/event-stream";

// "Text/HTML; charset=utf-8" -> "text/html".
std::string MediaType(absl::string_view content_type) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';'))));
}

// "text/*" matches any text type; "application/*+json" any application type ending in +json.
bool Matches(absl::string_view pattern, absl::string_view type) {
  const size_t star = pattern.find('*');
  if (star == absl::string_view::npos) return pattern == type;
  return type.size() >= pattern.size() - 1 && absl::StartsWith(type, pattern.substr(0, star)) &&
         absl::EndsWith(type, pattern.substr(star + 1));
}

bool ListMatches(const std::vector<std::string>& list, absl::string_view type) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& p) { return Matches(p, type); });
}

const http::Header* Find(absl::Span<const http::Header> headers, absl::string_view name) {
  for (const http::Header& h : headers) {
    if (absl::EqualsIgnoreCase(h.name, name)) return &h;
  }
  return nullptr;
}

// A comma-separated field (all its lines) lists `token` (case-insensitive).
bool ListsToken(absl::Span<const http::Header> headers, absl::string_view name, absl::string_view token) {
  for (const http::Header& h : headers) {
    if (!absl::EqualsIgnoreCase(h.name, name)) continue;
    for (absl::string_view member : absl::StrSplit(h.value, ',')) {
      member = absl::StripAsciiWhitespace(member.substr(0, member.find('=')));
      if (absl::EqualsIgnoreCase(member, token)) return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<Policy> Policy::Compile(const config::v1::CompressPolicy& proto) {
  Policy p;
  for (const std::string& name : proto.encodings()) {
    std::optional<Coding> c = ParseCoding(name);
    if (!c.has_value() || *c == Coding::kIdentity) {
      return absl::InvalidArgumentError(absl::StrCat("compress.encodings: unknown encoding \"", name, "\""));
    }
    if (std::find(p.order_.begin(), p.order_.end(), *c) == p.order_.end()) p.order_.push_back(*c);
  }
  if (p.order_.empty()) p.order_ = {Coding::kZstd, Coding::kBrotli, Coding::kGzip};
  for (const std::string& t : proto.included_content_types()) p.included_.push_back(absl::AsciiStrToLower(t));
  if (p.included_.empty()) {
    for (const char* const* t = kDefaultContentTypes; *t != nullptr; ++t) p.included_.push_back(*t);
  }
  for (const std::string& t : proto.excluded_content_types()) p.excluded_.push_back(absl::AsciiStrToLower(t));
  if (proto.min_response_body_bytes() > 0) p.min_bytes_ = proto.min_response_body_bytes();
  return p;
}

Coding Policy::Negotiate(absl::string_view accept_encoding) const {
  if (accept_encoding.empty()) return Coding::kIdentity;
  Coding best = Coding::kIdentity;
  int best_q = 0;
  for (Coding c : order_) {
    const int q = http::AcceptedCodingQuality(accept_encoding, CodingName(c));
    if (q > best_q) {  // strictly higher: on a tie the earlier (preferred) coding stays
      best = c;
      best_q = q;
    }
  }
  return best;
}

bool Policy::CompressesType(absl::string_view content_type) const {
  const std::string type = MediaType(content_type);
  if (type.empty() || ListMatches(excluded_, type)) return false;
  if (type == kEventStream) return std::find(included_.begin(), included_.end(), type) != included_.end();
  return ListMatches(included_, type);
}

bool RequestAllows(absl::string_view method, bool has_range) { return method != "HEAD" && !has_range; }

std::unique_ptr<ResponseCompressor> ResponseCompressor::Start(const Policy& policy, Coding coding, int status,
                                                              absl::Span<const http::Header> headers,
                                                              http::BodyFraming framing, uint64_t content_length) {
  if (coding == Coding::kIdentity || status < 200 || status == 204 || status == 206 || status == 304) return nullptr;
  if (framing == http::BodyFraming::kNone) return nullptr;
  if (framing == http::BodyFraming::kContentLength && content_length < policy.min_bytes()) return nullptr;
  if (const http::Header* ce = Find(headers, "Content-Encoding");
      ce != nullptr && !absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(ce->value), "identity")) {
    return nullptr;
  }
  if (ListsToken(headers, "Cache-Control", "no-transform")) return nullptr;
  const http::Header* type = Find(headers, "Content-Type");
  if (type == nullptr || !policy.CompressesType(type->value)) return nullptr;
  absl::StatusOr<std::unique_ptr<Encoder>> encoder = NewEncoder(coding);
  if (!encoder.ok()) return nullptr;  // the codec library failed to allocate: send it as it is

  std::unique_ptr<ResponseCompressor> rc(new ResponseCompressor());
  rc->encoder_ = *std::move(encoder);
  // Vary: the origin's members (all lines) plus Accept-Encoding, unless already there or "*".
  bool listed = false;
  for (const http::Header& h : headers) {
    if (!absl::EqualsIgnoreCase(h.name, "Vary")) continue;
    for (absl::string_view member : absl::StrSplit(h.value, ',', absl::SkipWhitespace())) {
      member = absl::StripAsciiWhitespace(member);
      if (member.empty()) continue;
      if (member == "*" || absl::EqualsIgnoreCase(member, "Accept-Encoding")) listed = true;
      absl::StrAppend(&rc->vary_, rc->vary_.empty() ? "" : ", ", member);
    }
  }
  if (!listed) absl::StrAppend(&rc->vary_, rc->vary_.empty() ? "" : ", ", "Accept-Encoding");
  // A strong validator promises identical bytes; the encoded body is only equivalent.
  if (const http::Header* etag = Find(headers, "ETag"); etag != nullptr) {
    rc->etag_ = absl::StartsWith(etag->value, "W/") ? std::string(etag->value) : absl::StrCat("W/", etag->value);
  }
  rc->added_.push_back({"Content-Encoding", CodingName(coding)});
  rc->added_.push_back({"Vary", rc->vary_});
  if (!rc->etag_.empty()) rc->added_.push_back({"ETag", rc->etag_});
  return rc;
}

bool ResponseCompressor::Replaces(absl::string_view name) {
  return absl::EqualsIgnoreCase(name, "Content-Length") || absl::EqualsIgnoreCase(name, "ETag") ||
         absl::EqualsIgnoreCase(name, "Vary") || absl::EqualsIgnoreCase(name, "Accept-Ranges") ||
         absl::EqualsIgnoreCase(name, "Content-Encoding");  // only "identity" reaches here
}

absl::string_view ResponseCompressor::Frame() {
  framed_.clear();
  if (!scratch_.empty()) absl::StrAppend(&framed_, absl::Hex(scratch_.size()), "\r\n", scratch_, "\r\n");
  return framed_;
}

absl::StatusOr<absl::string_view> ResponseCompressor::Feed(absl::string_view data, bool flush) {
  scratch_.clear();
  bytes_in_ += data.size();
  if (!data.empty()) {
    if (absl::Status s = encoder_->Feed(data, &scratch_); !s.ok()) return s;
    unflushed_ = true;
  }
  if (flush && unflushed_) {
    if (absl::Status s = encoder_->Flush(&scratch_); !s.ok()) return s;
    unflushed_ = false;
  }
  return Frame();
}

absl::StatusOr<absl::string_view> ResponseCompressor::Finish() {
  scratch_.clear();
  if (absl::Status s = encoder_->Finish(&scratch_); !s.ok()) return s;
  finished_ = true;
  Frame();
  framed_ += "0\r\n\r\n";
  return absl::string_view(framed_);
}

}  // namespace edgerouter::policies::compress
