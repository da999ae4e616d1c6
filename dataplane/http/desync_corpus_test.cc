// Runs the request-desync corpus from aws/http-desync-guardian (testdata/desync/README.md)
// through ParseRequestHead. The corpus labels each request Compliant, Acceptable, Ambiguous or
// Severe. Ambiguous and Severe requests must be rejected, or parsed into a head whose body
// framing is unambiguous and safe; Compliant requests must be accepted unless listed below.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/test_util.h"
#include "common/http/http1_parser.h"
#include "gtest/gtest.h"

namespace edgerouter::http {
namespace {

constexpr const char* kFiles[] = {
    "acceptable.yaml",      "ambiguous.yaml",     "bad-header-characters.yaml", "edge-cases.yaml",
    "more-compliant-tests.yaml", "real-life-test-cases.yaml", "rfc-compliant.yaml", "severe.yaml",
    "single-case.yaml",     "uri-specific-test-cases.yaml",
};

// Compliant cases our stricter rules reject, with the reason.
const std::map<std::string, std::string>& ExpectedCompliantRejections() {
  static const auto* m = new std::map<std::string, std::string>{
      {"Empty URI", "\"GET  HTTP/1.1\" has no request-target (RFC 9112 requires one)"},
      {"Different Transfer-Encoding headers", "501: only exactly \"chunked\" is implemented"},
      {"Different Transfer-Encoding headers combined", "501: only exactly \"chunked\" is implemented"},
      {"Correct TE OK", "501: \"gzip, chunked\"; only exactly \"chunked\" is implemented"},
      {"Transfer-Encoding: identity and chunked OK", "501: only exactly \"chunked\" is implemented"},
      {"Multiple transfer encoding headers in a single request OK",
       "501: only exactly \"chunked\" is implemented"},
      {"Transfer-Encoding with a param: chunked;custom_param",
       "400: \"gzip ;\" is not transfer-parameter syntax (token \"=\" value)"},
      {"TE with custom parameters OK", "400: \"chunked;custom_param;\" is not transfer-parameter syntax"},
  };
  return *m;
}

struct CorpusHeader {
  std::string name;
  std::string value;
};

struct CorpusCase {
  std::string file;
  std::string name;
  std::string method, uri, version;
  std::vector<CorpusHeader> headers;
  std::string tier;
};

void AppendCodePoint(unsigned cp, std::string* out) {  // U+0000..U+00FF as UTF-8
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// Backslash escapes. `yaml` selects YAML double-quoted rules; otherwise the harness's second
// pass, where an unknown escape yields the escaped character itself.
std::string Unescape(absl::string_view s, bool yaml) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    const char c = s[++i];
    if (c == 'x' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 && HexDigit(s[i + 2]) >= 0) {
      AppendCodePoint(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2]), &out);
      i += 2;
      continue;
    }
    switch (c) {
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case '0': out.push_back(yaml ? '\0' : '0'); break;
      case '\\': case '"': case '/': case ' ': case '\'': out.push_back(c); break;
      default:
        if (yaml) ADD_FAILURE() << "unsupported YAML escape \\" << c << " in " << s;
        out.push_back(c);
    }
  }
  return out;
}

// A scalar as it appears after "key:" (plain, 'single' or "double" quoted), both unescape
// layers applied.
std::string Scalar(absl::string_view raw) {
  absl::string_view s = absl::StripAsciiWhitespace(raw);
  std::string yaml;
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    yaml = Unescape(s.substr(1, s.size() - 2), /*yaml=*/true);
  } else if (s.size() >= 2 && s.front() == '\'' && s.back() == '\'') {
    yaml = absl::StrReplaceAll(s.substr(1, s.size() - 2), {{"''", "'"}});
  } else if (s != "~" && s != "null") {
    yaml = std::string(s);
  }
  return Unescape(yaml, /*yaml=*/false);
}

// Reader for exactly this corpus's shape: a top-level sequence of cases, each with scalar
// fields, a `headers` sequence of {name, value, tier} maps and an `expected` map.
void ReadCorpusFile(const std::string& file, const std::string& text, std::vector<CorpusCase>* out) {
  std::vector<CorpusCase>& cases = *out;
  std::string section;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StripAsciiWhitespace(line).empty() || absl::StripLeadingAsciiWhitespace(line)[0] == '#') continue;
    const size_t indent = line.find_first_not_of(' ');
    absl::string_view rest = line.substr(indent);
    const bool item = absl::ConsumePrefix(&rest, "- ");
    if (section == "expected" && indent == 6 && item) continue;  // required_message_items
    const size_t colon = rest.find(':');
    ASSERT_NE(colon, absl::string_view::npos) << file << ": " << line;
    const absl::string_view key = rest.substr(0, colon);
    const std::string value = Scalar(rest.substr(colon + 1));
    if (indent == 0 && item && key == "name") {
      cases.push_back(CorpusCase{file, value});
      section.clear();
      continue;
    }
    ASSERT_FALSE(cases.empty()) << file << ": " << line;
    CorpusCase& c = cases.back();
    if (indent == 2 && !item) {
      section = std::string(key);
      if (key == "uri") c.uri = value;
      if (key == "method") c.method = value;
      if (key == "version") c.version = value;
    } else if (section == "headers" && indent == 4 && item && key == "name") {
      c.headers.push_back(CorpusHeader{value, ""});
    } else if (section == "headers" && indent == 6 && !item && (key == "value" || key == "tier")) {
      if (key == "value") c.headers.back().value = value;
    } else if (section == "expected" && indent == 4 && !item) {
      if (key == "tier") c.tier = value;
    } else {
      FAIL() << "unexpected line in " << file << ": " << line;
    }
  }
}

bool HasCtl(absl::string_view s, bool allow_tab) {
  for (unsigned char c : s) {
    if ((c < 0x20 && !(allow_tab && c == '\t')) || c == 0x7F) return true;
  }
  return false;
}

bool IsDigits(absl::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == absl::string_view::npos;
}

// Independent re-derivation of what an accepted head must look like to be safe to forward:
// nothing left in the buffer, no control bytes anywhere, no CL/TE look-alike names, and the
// framing exactly what the (single, plain) CL or TE field says.
void ExpectSafe(const CorpusCase& c, const std::string& raw, const RequestHead& h, size_t header_count) {
  EXPECT_EQ(h.head_size, raw.size()) << "bytes left over could be read as another request";
  EXPECT_EQ(h.headers.size(), header_count);
  EXPECT_FALSE(HasCtl(c.method, false) || HasCtl(c.uri, false) || HasCtl(c.version, false));
  std::vector<absl::string_view> cl, te;
  for (const CorpusHeader& hdr : c.headers) {
    EXPECT_FALSE(HasCtl(hdr.name, false) || HasCtl(hdr.value, true)) << hdr.name;
    std::string folded = absl::AsciiStrToLower(hdr.name);
    folded.erase(std::remove_if(folded.begin(), folded.end(), [](char ch) { return ch == '-' || ch == '_'; }),
                 folded.end());
    if (folded == "contentlength") {
      EXPECT_TRUE(absl::EqualsIgnoreCase(hdr.name, "content-length")) << hdr.name;
      cl.push_back(absl::StripAsciiWhitespace(hdr.value));
    }
    if (folded == "transferencoding") {
      EXPECT_TRUE(absl::EqualsIgnoreCase(hdr.name, "transfer-encoding")) << hdr.name;
      te.push_back(absl::StripAsciiWhitespace(hdr.value));
    }
  }
  EXPECT_TRUE(cl.empty() || te.empty());
  if (!te.empty()) {
    EXPECT_EQ(te.size(), 1u);
    EXPECT_TRUE(absl::EqualsIgnoreCase(te[0], "chunked")) << te[0];
    EXPECT_EQ(h.framing, BodyFraming::kChunked);
  } else if (!cl.empty()) {
    for (absl::string_view v : cl) {
      EXPECT_TRUE(IsDigits(v)) << v;
      EXPECT_EQ(std::stoull(std::string(v)), h.content_length) << v;
    }
    EXPECT_EQ(h.framing, BodyFraming::kContentLength);
  } else {
    EXPECT_EQ(h.framing, BodyFraming::kNone);
  }
}

TEST(DesyncCorpus, AmbiguousAndSevereAreRejectedOrSafe) {
  std::vector<CorpusCase> cases;
  for (const char* file : kFiles) {
    const std::string text =
        edgerouter::testing::ReadFileOrDie(edgerouter::testing::RunfilePath(absl::StrCat("testdata/desync/", file)));
    const size_t before = cases.size();
    ReadCorpusFile(file, text, &cases);
    ASSERT_GT(cases.size(), before) << file;
  }
  ASSERT_EQ(cases.size(), 159u);  // the README's count

  struct Counts {
    int total = 0, accepted = 0;
    std::map<int, int> rejected;  // by status
  };
  std::map<std::string, Counts> by_tier;
  std::vector<std::string> notes;
  std::map<std::string, int> compliant_rejected_seen;
  for (const CorpusCase& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.file, ": ", c.name));
    // The corpus targets framing and never sends Host; HTTP/1.1 without Host is a plain 400
    // here, so a Host is appended (last, to keep each case's own line layout) to make the
    // framing rules decide.
    std::string raw = absl::StrCat(c.method, " ", c.uri, " ", c.version, "\r\n");
    bool has_host = false;
    for (const CorpusHeader& h : c.headers) {
      absl::StrAppend(&raw, h.name, ": ", h.value, "\r\n");
      has_host |= absl::EqualsIgnoreCase(h.name, "host");
    }
    const bool add_host = !has_host && c.version == "HTTP/1.1";
    if (add_host) raw += "Host: desync.test\r\n";
    raw += "\r\n";

    RequestHead head;
    ParseError error;
    const ParseStatus st = ParseRequestHead(raw, ParserLimits(), &head, &error);
    ASSERT_NE(st, ParseStatus::kIncomplete);
    Counts& counts = by_tier[c.tier];
    ++counts.total;
    if (st == ParseStatus::kDone) {
      ++counts.accepted;
      ExpectSafe(c, raw, head, c.headers.size() + add_host);
      if (c.tier == "Ambiguous" || c.tier == "Severe") {
        notes.push_back(absl::StrCat("  accepted ", c.tier, ": ", c.file, ": ", c.name));
      }
    } else {
      ++counts.rejected[error.status];
      EXPECT_NE(error.reason, "missing Host header");
      if (c.tier == "Compliant" || c.tier == "Acceptable") {
        notes.push_back(absl::StrCat("  rejected ", c.tier, " (", error.status, " ", error.reason, "): ", c.file,
                                     ": ", c.name));
      }
    }
    if (c.tier == "Compliant") {
      const bool listed = ExpectedCompliantRejections().count(c.name) != 0;
      EXPECT_EQ(st == ParseStatus::kError, listed) << error.status << " " << error.reason;
      if (listed) ++compliant_rejected_seen[c.name];
    } else {
      ASSERT_TRUE(c.tier == "Acceptable" || c.tier == "Ambiguous" || c.tier == "Severe") << c.tier;
    }
    // Growing-buffer consistency: no prefix is accepted, errors keep their status.
    for (size_t n = 0; n < raw.size(); ++n) {
      ParseError pe;
      const ParseStatus ps = ParseRequestHead(absl::string_view(raw).substr(0, n), ParserLimits(), &head, &pe);
      ASSERT_NE(ps, ParseStatus::kDone) << "prefix " << n;
      if (ps == ParseStatus::kError) {
        ASSERT_EQ(st, ParseStatus::kError) << "prefix " << n << ": " << pe.reason;
        ASSERT_EQ(pe.status, error.status) << "prefix " << n << ": " << pe.reason;
      }
    }
    // Fed one byte per read through HeadProgress, as the data plane reads a slow head: the
    // same verdict as the whole head at once.
    HeadProgress progress;
    ParseStatus fed = ParseStatus::kIncomplete;
    ParseError fed_error;
    for (size_t n = 1; n <= raw.size() && fed == ParseStatus::kIncomplete; ++n) {
      const absl::string_view prefix = absl::string_view(raw).substr(0, n);
      if (progress.ShouldParse(prefix, ParserLimits())) fed = ParseRequestHead(prefix, ParserLimits(), &head, &fed_error);
    }
    ASSERT_EQ(fed, st);
    if (st == ParseStatus::kError) {
      ASSERT_EQ(fed_error.status, error.status) << fed_error.reason;
    } else {
      ASSERT_EQ(head.head_size, raw.size());
    }
  }
  EXPECT_EQ(compliant_rejected_seen.size(), ExpectedCompliantRejections().size());

  std::printf("desync corpus: %zu cases\n", cases.size());
  for (const auto& [tier, counts] : by_tier) {
    std::string rejected;
    int rejected_total = 0;
    for (const auto& [status, n] : counts.rejected) {
      absl::StrAppend(&rejected, rejected.empty() ? "" : ", ", status, ": ", n);
      rejected_total += n;
    }
    std::printf("  %-10s total %3d  accepted %3d  rejected %3d (%s)\n", tier.c_str(), counts.total,
                counts.accepted, rejected_total, rejected.c_str());
  }
  for (const std::string& note : notes) std::printf("%s\n", note.c_str());
}

}  // namespace
}  // namespace edgerouter::http
