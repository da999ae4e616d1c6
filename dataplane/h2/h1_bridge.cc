#include "dataplane/h2/h1_bridge.h"

#include "dataplane/h2/field_rules.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace edgerouter::h2 {
namespace {

// Fields that describe one HTTP/1.1 connection and must not cross into HTTP/2 (RFC 9113 §8.2.2).
bool ConnectionSpecific(absl::string_view lower_name) {
  return field_rules::ConnectionSpecific(lower_name) || lower_name == "te";
}

}  // namespace

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
