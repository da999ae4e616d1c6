// policies.compress end to end: a real data plane (HTTP/1.1 and prior-knowledge HTTP/2) in
// front of a real origin, real clients (curl) and real decoders (gzip, Debian's python3-brotli,
// zstd) checking every encoding byte-exact against the origin's identity body; negotiation with
// q-values; the responses that must stay as they are; and a 100 MB compressed stream through
// the data plane in bounded memory.
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "dataplane/test/e2e_fixture.h"
#include "dataplane/test/tls_test_util.h"

namespace edgerouter::testing {
namespace {

class Compress : public DataplaneE2E {
 protected:
  std::string AppsJson() override {
    const std::string a = absl::StrCat("http://127.0.0.1:", origin_a_);
    return absl::StrReplaceAll(R"({"apps":[
 {"id":"zip","frontends":[{"kind":"hostname","hostname":"zip.test","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["A"]}},
  "policies":{"compress":{}}},
 {"id":"gz","frontends":[{"kind":"hostname","hostname":"gz.test","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["A"]}},
  "policies":{"compress":{"encodings":["gzip"],"min_response_body_bytes":100,"excluded_content_types":["text/csv"]}}},
 {"id":"plain","frontends":[{"kind":"hostname","hostname":"plain.test","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["A"]}}}
]})",
                               {{"\"A\"", "\"" + a + "\""}});
  }
  std::vector<std::string> DataplaneFlags() override { return {"--h2c"}; }

  // curl through the data plane; the response head (lower-cased names) is returned, the body
  // (content-coded as sent unless `decode`) saved to dir_/`file`.
  std::string Fetch(const std::string& host, const std::string& path, const std::string& accept, bool h2,
                    const std::string& file, const std::string& extra = "") {
    const std::string out = Shell(absl::StrCat(
        "cd ", dir_, " && curl -sS ", h2 ? "--http2-prior-knowledge " : "", extra, " -H 'Host: ", host, "' ",
        accept.empty() ? "" : absl::StrCat("-H 'Accept-Encoding: ", accept, "' "), "-D - -o ", file,
        " 'http://127.0.0.1:", http_port_, path, "' | tr 'A-Z' 'a-z' | tr -d '\\r'"));
    return out;
  }
  // The origin's own (identity) body for `path`, saved to dir_/`file`.
  void Expected(const std::string& path, const std::string& file) {
    const std::string out = Shell(
        absl::StrCat("cd ", dir_, " && curl -sS -o ", file, " 'http://127.0.0.1:", origin_a_, path, "'"));
    ASSERT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
  }
  // Decodes dir_/`file` with the coding's own tool and compares it with dir_/`expected`.
  std::string DecodeAndCompare(const std::string& coding, const std::string& file, const std::string& expected) {
    std::string decoder;
    if (coding == "gzip") decoder = absl::StrCat("gzip -dc ", file);
    if (coding == "br") {
      decoder = absl::StrCat("/usr/bin/python3 -c 'import brotli,sys; sys.stdout.buffer.write(brotli.decompress("
                             "open(sys.argv[1],\"rb\").read()))' ", file);
    }
    if (coding == "zstd") decoder = absl::StrCat("zstd -dcq ", file);
    return Shell(absl::StrCat("cd ", dir_, " && ", decoder, " > ", file, ".decoded && cmp ", file, ".decoded ",
                              expected, " && echo SAME"));
  }
};

TEST_F(Compress, EveryEncodingEveryFramingBothProtocolsDecodesByteExact) {
  Expected("/text/cl/300000", "expected");
  for (const bool h2 : {false, true}) {
    for (const std::string coding : {"gzip", "br", "zstd"}) {
      for (const std::string framing : {"cl", "chunked", "close"}) {
        SCOPED_TRACE(absl::StrCat(h2 ? "h2 " : "h1 ", coding, " ", framing));
        const std::string head = Fetch("zip.test", absl::StrCat("/text/", framing, "/300000"), coding, h2, "body");
        EXPECT_TRUE(absl::StrContains(head, absl::StrCat("content-encoding: ", coding, "\n"))) << head;
        EXPECT_TRUE(absl::StrContains(head, "vary: accept-encoding\n")) << head;
        EXPECT_TRUE(absl::StrContains(head, "etag: w/\"text-300000\"\n")) << head;  // weakened
        EXPECT_FALSE(absl::StrContains(head, "content-length:")) << head;
        EXPECT_TRUE(absl::StrContains(head, "content-type: text/plain; charset=utf-8\n")) << head;
        if (!h2) EXPECT_TRUE(absl::StrContains(head, "transfer-encoding: chunked\n")) << head;
        const std::string size = Shell(absl::StrCat("stat -c %s ", dir_, "/body"));
        EXPECT_LT(std::stol(size), 300000 / 5) << size;  // compressed, not relayed
        EXPECT_TRUE(absl::StrContains(DecodeAndCompare(coding, "body", "expected"), "SAME"));
        // curl's own decoder agrees (--compressed asks for every coding curl has).
        Fetch("zip.test", absl::StrCat("/text/", framing, "/300000"), "", h2, "curl.out",
              absl::StrCat("--compressed -H 'Accept-Encoding: ", coding, "'"));
        EXPECT_TRUE(absl::StrContains(Shell(absl::StrCat("cmp ", dir_, "/curl.out ", dir_, "/expected && echo SAME")),
                                      "SAME"));
      }
    }
  }
}

TEST_F(Compress, NegotiatesWithQValuesAndThePolicyOrder) {
  struct Case {
    std::string host, accept, want;  // want: "" = identity
  };
  for (const Case& c : std::vector<Case>{
           {"zip.test", "gzip, deflate, br, zstd", "zstd"},  // all equal: the policy's order
           {"zip.test", "gzip, br", "br"},
           {"zip.test", "br;q=0.5, gzip;q=0.9", "gzip"},  // the client's q wins
           {"zip.test", "zstd;q=0, br;q=0, *", "gzip"},
           {"zip.test", "identity", ""},
           {"zip.test", "gzip;q=0", ""},
           {"gz.test", "br, zstd", ""},  // this app offers gzip only
           {"gz.test", "br, gzip;q=0.1", "gzip"},
       }) {
    for (const bool h2 : {false, true}) {
      SCOPED_TRACE(absl::StrCat(c.host, " ", c.accept, h2 ? " h2" : " h1"));
      const std::string head = Fetch(c.host, "/text/cl/5000", c.accept, h2, "body");
      if (c.want.empty()) {
        EXPECT_FALSE(absl::StrContains(head, "content-encoding:")) << head;
        EXPECT_TRUE(absl::StrContains(head, "content-length: 5000\n")) << head;
      } else {
        EXPECT_TRUE(absl::StrContains(head, absl::StrCat("content-encoding: ", c.want, "\n"))) << head;
      }
    }
  }
}

TEST_F(Compress, IneligibleResponsesAreRelayedAsTheyAre) {
  Expected("/text/cl/5000", "expected");
  struct Case {
    std::string what, host, path, extra;
  };
  for (const Case& c : std::vector<Case>{
           {"no policy", "plain.test", "/text/cl/5000", ""},
           {"under min_response_body_bytes", "zip.test", "/text/cl/1000", ""},
           {"already encoded", "zip.test", "/text/cl/5000?h=Content-Encoding:gzip", ""},
           {"no-transform", "zip.test", "/text/cl/5000?h=Cache-Control:public,no-transform", ""},
           {"content type", "zip.test", "/text/cl/5000?h=Content-Type:image/png", ""},
           {"excluded content type", "gz.test", "/text/cl/5000?h=Content-Type:text/csv", ""},
           {"event stream", "zip.test", "/text/chunked/5000?h=Content-Type:text/event-stream", ""},
           {"range request", "zip.test", "/text/cl/5000", "-H 'Range: bytes=0-99'"},
           {"HEAD", "zip.test", "/text/cl/5000", "-I"},
       }) {
    for (const bool h2 : {false, true}) {
      SCOPED_TRACE(absl::StrCat(c.what, h2 ? " h2" : " h1"));
      const std::string head = Fetch(c.host, c.path, "gzip, br, zstd", h2, "body", c.extra);
      EXPECT_TRUE(absl::StrContains(head, " 200")) << head;
      EXPECT_FALSE(absl::StrContains(head, "vary:")) << head;
      if (c.what != "already encoded") EXPECT_FALSE(absl::StrContains(head, "content-encoding:")) << head;
      if (c.what != "event stream") EXPECT_TRUE(absl::StrContains(head, "etag: \"text-")) << head;  // still strong
    }
  }
  // The small body is the origin's, byte for byte.
  Fetch("gz.test", "/text/cl/5000", "", false, "body");
  EXPECT_TRUE(absl::StrContains(Shell(absl::StrCat("cmp ", dir_, "/body ", dir_, "/expected && echo SAME")), "SAME"));
  // A lower min applies per app: 1000 bytes are compressed on gz.test (min 100).
  EXPECT_TRUE(absl::StrContains(Fetch("gz.test", "/text/cl/1000", "gzip", false, "body"), "content-encoding: gzip"));
}

long StatusKb(pid_t pid, const std::string& field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

TEST_F(Compress, HundredMegabytesStreamInBoundedMemory) {
  constexpr uint64_t kSize = 100ull << 20;
  const std::string path = absl::StrCat("/text/chunked/", kSize);
  const std::string want = Shell(absl::StrCat("curl -sS 'http://127.0.0.1:", origin_a_, path, "' | sha256sum"));
  ASSERT_TRUE(absl::StrContains(want, "EXIT=0")) << want;
  for (const std::string coding : {"gzip", "br", "zstd"}) {
    SCOPED_TRACE(coding);
    const long hwm_before = StatusKb(dp_->pid(), "VmHWM");
    auto curl = Subprocess::Start(
        {"/bin/bash", "-c",
         absl::StrCat("set -o pipefail; curl -sS --compressed -D ", dir_, "/head.txt -H 'Host: zip.test' ",
                      "-H 'Accept-Encoding: ", coding, "' 'http://127.0.0.1:", http_port_, path, "' | sha256sum")});
    ASSERT_TRUE(curl.ok());
    auto done = (*curl)->Wait(absl::Seconds(120));
    ASSERT_TRUE(done.ok()) << done.status();
    EXPECT_EQ(*done, 0) << (*curl)->Output();
    const std::string out = (*curl)->Output();
    const long hwm_after = StatusKb(dp_->pid(), "VmHWM");
    // The data plane's peak resident memory grew by far less than the body: it streamed.
    EXPECT_LT(hwm_after - hwm_before, 32 * 1024) << "VmHWM " << hwm_before << " -> " << hwm_after << " kB";
    std::printf("%s: 100 MB streamed; data plane VmHWM %ld -> %ld kB\n", coding.c_str(), hwm_before, hwm_after);
    EXPECT_TRUE(absl::StrContains(out, want.substr(0, 64))) << out << " vs " << want;
    const std::string head = Shell(absl::StrCat("tr 'A-Z' 'a-z' < ", dir_, "/head.txt"));
    EXPECT_TRUE(absl::StrContains(head, absl::StrCat("content-encoding: ", coding))) << head;
  }
}

}  // namespace
}  // namespace edgerouter::testing
