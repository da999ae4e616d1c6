// HTTP/1.1 request and response heads from untrusted peers. Invariants, besides no crash:
// - framing is a function of the head alone: every prefix shorter than an accepted head is
//   "incomplete" (never an error, never a different head), every longer input gives the same
//   head size — and so does the head fed through HeadProgress in small reads;
// - an accepted request has one framing (chunked without Content-Length, or Content-Length
//   without Transfer-Encoding);
// - an accepted origin-form request, written back out, parses to the same method, target,
//   headers and framing.
// The first input byte picks requests or responses; the rest is the head.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/http/http1_parser.h"

namespace {

using namespace edgerouter::http;

bool NameIs(absl::string_view name, absl::string_view want) { return absl::EqualsIgnoreCase(name, want); }

template <typename Head, typename Parse>
void CheckPrefixes(absl::string_view input, const Head& whole, ParseStatus whole_status, Parse parse) {
  for (size_t cut = 0; cut < input.size(); cut += 1 + cut / 8) {
    Head head;
    ParseError error;
    const ParseStatus s = parse(input.substr(0, cut), &head, &error);
    if (whole_status == ParseStatus::kDone) {
      if (cut < whole.head_size && s != ParseStatus::kIncomplete) abort();
      if (cut >= whole.head_size && (s != ParseStatus::kDone || head.head_size != whole.head_size)) abort();
    }
  }
}

void Requests(absl::string_view input) {
  const ParserLimits limits;
  auto parse = [&](absl::string_view b, RequestHead* h, ParseError* e) { return ParseRequestHead(b, limits, h, e); };
  RequestHead whole;
  ParseError error;
  const ParseStatus status = parse(input, &whole, &error);
  CheckPrefixes(input, whole, status, parse);

  // The same bytes arriving 3 at a time through HeadProgress reach the same verdict.
  HeadProgress progress;
  ParseStatus incremental = ParseStatus::kIncomplete;
  RequestHead head;
  for (size_t end = 3; incremental == ParseStatus::kIncomplete; end += 3) {
    const absl::string_view seen = input.substr(0, std::min(end, input.size()));
    if (progress.ShouldParse(seen, limits) || seen.size() == input.size()) incremental = parse(seen, &head, &error);
    if (seen.size() == input.size()) break;
  }
  if (incremental != status) abort();
  if (status != ParseStatus::kDone) return;
  if (head.head_size != whole.head_size) abort();

  bool cl = false, te = false;
  for (const Header& h : whole.headers) {
    cl |= NameIs(h.name, "content-length");
    te |= NameIs(h.name, "transfer-encoding");
  }
  if (whole.framing == BodyFraming::kChunked && cl) abort();
  if (whole.framing == BodyFraming::kContentLength && te) abort();
  if (whole.framing == BodyFraming::kUntilClose) abort();

  // (Absolute-form targets carry the host in the target; only with a Host header as well does
  // the origin-form copy say the same thing.)
  if (whole.target.empty() || whole.target[0] != '/' || whole.Find("host") == nullptr) return;
  std::string out = absl::StrCat(whole.method, " ", whole.target, " HTTP/1.", whole.version_minor, "\r\n");
  for (const Header& h : whole.headers) absl::StrAppend(&out, h.name, ": ", h.value, "\r\n");
  out += "\r\n";
  RequestHead again;
  if (parse(out, &again, &error) != ParseStatus::kDone) abort();
  if (again.method != whole.method || again.target != whole.target || again.framing != whole.framing ||
      again.content_length != whole.content_length || again.headers.size() != whole.headers.size() ||
      !absl::EqualsIgnoreCase(again.host, whole.host) || again.keep_alive != whole.keep_alive) {
    abort();
  }
  for (size_t i = 0; i < whole.headers.size(); ++i) {
    if (again.headers[i].name != whole.headers[i].name || again.headers[i].value != whole.headers[i].value) abort();
  }
}

void Responses(absl::string_view input, absl::string_view method) {
  const ParserLimits limits;
  auto parse = [&](absl::string_view b, ResponseHead* h, ParseError* e) {
    return ParseResponseHead(b, method, limits, h, e);
  };
  ResponseHead whole;
  ParseError error;
  const ParseStatus status = parse(input, &whole, &error);
  CheckPrefixes(input, whole, status, parse);
  if (status != ParseStatus::kDone) return;
  bool cl = false;
  for (const Header& h : whole.headers) cl |= NameIs(h.name, "content-length");
  if (whole.framing == BodyFraming::kChunked && cl) abort();
  if (method == "HEAD" && whole.framing != BodyFraming::kNone) abort();
  if ((whole.status == 204 || whole.status == 304) && whole.framing != BodyFraming::kNone) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > 8192) return 0;
  const absl::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: Requests(input); break;
    case 1: Responses(input, "GET"); break;
    default: Responses(input, "HEAD"); break;
  }
  return 0;
}
