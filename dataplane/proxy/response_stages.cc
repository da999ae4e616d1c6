// Where response heads meet the app's response stages (pipeline::ResponseStage): every head a
// request routed to an app produces passes here before it is written, in one of its two forms:
//  - fields (http::Header views): proxied responses, for the HTTP/1.1 writer and for the
//    HTTP/2 hand-off (StreamPort::TakeResponseHead) alike — EditedResponseFields;
//  - "Name: value\r\n" lines: local answers, S3, Lambda and turbocharger responses, which both
//    codecs get as HTTP/1.1 bytes (HTTP/2 translates them) — AppendResponseLines.
// A chain without response stages costs one branch per response and nothing else.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "dataplane/http/field_names.h"
#include "dataplane/proxy/http_session.h"

namespace edgerouter::proxy {
namespace {

class FieldsView : public pipeline::ResponseHeadView {
 public:
  FieldsView(int status, absl::Span<const http::Header> fields) : status_(status), fields_(fields) {}
  int status() const override { return status_; }
  std::optional<absl::string_view> header(absl::string_view name) const override {
    for (const http::Header& h : fields_) {
      if (absl::EqualsIgnoreCase(h.name, name)) return h.value;
    }
    return std::nullopt;
  }

 private:
  int status_;
  absl::Span<const http::Header> fields_;
};

// Splits one "Name: value" line (without CRLF); false for a line without a colon.
bool SplitLine(absl::string_view line, absl::string_view* name, absl::string_view* value) {
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return false;
  *name = line.substr(0, colon);
  *value = absl::StripAsciiWhitespace(line.substr(colon + 1));
  return true;
}

class LinesView : public pipeline::ResponseHeadView {
 public:
  LinesView(int status, absl::string_view lines) : status_(status), lines_(lines) {}
  int status() const override { return status_; }
  std::optional<absl::string_view> header(absl::string_view name) const override {
    for (absl::string_view line : absl::StrSplit(lines_, "\r\n", absl::SkipEmpty())) {
      absl::string_view n, v;
      if (SplitLine(line, &n, &v) && absl::EqualsIgnoreCase(n, name)) return v;
    }
    return std::nullopt;
  }

 private:
  int status_;
  absl::string_view lines_;
};

}  // namespace

bool ResponseStageMayEdit(absl::string_view name) {
  return !http::IsHopByHop(name) && !absl::EqualsIgnoreCase(name, "Content-Length");
}

bool DownstreamConnection::RunResponseStages(const pipeline::ResponseHeadView& head) {
  req_.response_edit.Clear();
  req_.chain->RunResponseStages(*this, head, &req_.response_edit);
  return !req_.response_edit.empty();
}

bool DownstreamConnection::KeepsResponseField(absl::string_view name) const {
  return !req_.response_edit.Removes(name) || !ResponseStageMayEdit(name);
}

bool DownstreamConnection::EditedResponseFields(int status, absl::Span<const http::Header> fields) {
  if (!HasResponseStages()) return false;
  return RunResponseStages(FieldsView(status, fields));
}

void DownstreamConnection::AppendResponseLines(int status, absl::string_view lines, std::string* out) {
  using Compressor = policies::compress::ResponseCompressor;
  const Compressor* compressor = req_.compressor.get();
  const bool edited = HasResponseStages() && RunResponseStages(LinesView(status, lines));
  if (!edited && compressor == nullptr) {
    out->append(lines.data(), lines.size());
    return;
  }
  for (absl::string_view line : absl::StrSplit(lines, "\r\n", absl::SkipEmpty())) {
    absl::string_view name, value;
    if (SplitLine(line, &name, &value) &&
        ((edited && !KeepsResponseField(name)) || (compressor != nullptr && Compressor::Replaces(name)))) {
      continue;
    }
    absl::StrAppend(out, line, "\r\n");
  }
  if (edited) {
    for (const auto& [name, value] : req_.response_edit.add) {
      if (ResponseStageMayEdit(name)) absl::StrAppend(out, name, ": ", value, "\r\n");
    }
  }
  if (compressor != nullptr) {
    for (const http::Header& h : compressor->added_fields()) absl::StrAppend(out, h.name, ": ", h.value, "\r\n");
  }
}

// The compress policy for a head built as lines (S3, Lambda): the same decision as for a
// proxied head, on the fields parsed from the lines (views into `lines`, which must outlive the
// compressor's start; its added fields are copies).
bool DownstreamConnection::StartCompressionOfLines(int status, absl::string_view lines, bool has_body,
                                                   uint64_t length) {
  if (req_.compress_coding == policies::compress::Coding::kIdentity) return false;
  std::vector<http::Header> fields;
  for (absl::string_view line : absl::StrSplit(lines, "\r\n", absl::SkipEmpty())) {
    absl::string_view name, value;
    if (SplitLine(line, &name, &value)) fields.push_back({name, value});
  }
  return StartCompression(status, fields,
                          has_body ? http::BodyFraming::kContentLength : http::BodyFraming::kNone, length);
}

}  // namespace edgerouter::proxy
