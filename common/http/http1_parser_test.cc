#include "common/http/http1_parser.h"

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

// Counts global allocations so the steady-state test can prove the parser never allocates.
namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// noinline: once inlined, GCC 12 flags the free() as mismatched with the new-expression.
__attribute__((noinline)) void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace edgerouter::http {
namespace {

ParseStatus Parse(absl::string_view raw, RequestHead* head, ParseError* error,
                  const ParserLimits& limits = ParserLimits()) {
  return ParseRequestHead(raw, limits, head, error);
}

// Every proper prefix of a complete head must be kIncomplete (all-or-nothing parsing).
void ExpectPrefixesIncomplete(absl::string_view raw, size_t head_size) {
  RequestHead head;
  ParseError error;
  for (size_t n = 0; n < head_size; ++n) {
    ASSERT_EQ(Parse(raw.substr(0, n), &head, &error), ParseStatus::kIncomplete) << "prefix " << n;
  }
}

TEST(RequestParser, SimpleGet) {
  const std::string raw = "GET /a/b?x=1&y HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\n\r\n";
  RequestHead h;
  ParseError e;
  ASSERT_EQ(Parse(raw, &h, &e), ParseStatus::kDone) << e.reason;
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.target, "/a/b?x=1&y");
  EXPECT_EQ(h.path, "/a/b");
  EXPECT_EQ(h.query, "x=1&y");
  EXPECT_EQ(h.version_minor, 1);
  EXPECT_EQ(h.host, "a.example");
  ASSERT_EQ(h.headers.size(), 2u);
  EXPECT_EQ(h.headers[1].name, "Accept");
  EXPECT_EQ(h.headers[1].value, "*/*");
  EXPECT_EQ(h.framing, BodyFraming::kNone);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.expect_continue);
  EXPECT_FALSE(h.upgrade);
  EXPECT_EQ(h.head_size, raw.size());
  ASSERT_NE(h.Find("aCCEPT"), nullptr);
  EXPECT_EQ(h.Find("aCCEPT")->value, "*/*");
  EXPECT_EQ(h.Find("Missing"), nullptr);
  ExpectPrefixesIncomplete(raw, raw.size());
}

TEST(RequestParser, PostWithContentLengthLeavesBody) {
  const std::string head = "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
  const std::string raw = head + "hello";
  RequestHead h;
  ParseError e;
  ASSERT_EQ(Parse(raw, &h, &e), ParseStatus::kDone) << e.reason;
  EXPECT_EQ(h.framing, BodyFraming::kContentLength);
  EXPECT_EQ(h.content_length, 5u);
  EXPECT_EQ(h.head_size, head.size());
  EXPECT_EQ(absl::string_view(raw).substr(h.head_size), "hello");
}

TEST(RequestParser, PostChunked) {
  RequestHead h;
  ParseError e;
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChunKed\r\n\r\n", &h, &e),
            ParseStatus::kDone)
      << e.reason;
  EXPECT_EQ(h.framing, BodyFraming::kChunked);
}

TEST(RequestParser, IdenticalDuplicateContentLengthIsMerged) {
  RequestHead h;
  ParseError e;
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n", &h, &e),
            ParseStatus::kDone);
  EXPECT_EQ(h.framing, BodyFraming::kContentLength);
  EXPECT_EQ(h.content_length, 7u);
}

TEST(RequestParser, PipelinedRequests) {
  const std::string first = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string second = "POST /two HTTP/1.1\r\nHost: b\r\nContent-Length: 0\r\n\r\n";
  const std::string raw = first + second;
  RequestHead h;
  ParseError e;
  ASSERT_EQ(Parse(raw, &h, &e), ParseStatus::kDone);
  EXPECT_EQ(h.path, "/one");
  ASSERT_EQ(h.head_size, first.size());
  ASSERT_EQ(Parse(absl::string_view(raw).substr(h.head_size), &h, &e), ParseStatus::kDone);
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.path, "/two");
  EXPECT_EQ(h.host, "b");
  EXPECT_EQ(h.head_size, second.size());
}

TEST(RequestParser, HeaderValuesAreTrimmed) {
  RequestHead h;
  ParseError e;
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nHost:a\r\nX-A: \t a  b \t \r\nX-Empty:\r\nX-Blank:  \t\r\n"
                  "X-Obs: caf\xc3\xa9\r\n\r\n",
                  &h, &e),
            ParseStatus::kDone)
      << e.reason;
  EXPECT_EQ(h.host, "a");
  EXPECT_EQ(h.Find("x-a")->value, "a  b");
  EXPECT_EQ(h.Find("x-empty")->value, "");
  EXPECT_EQ(h.Find("x-blank")->value, "");
  EXPECT_EQ(h.Find("x-obs")->value, "caf\xc3\xa9");
  // Names near the framing ones are fine when they are not look-alikes.
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Location: /x\r\nContent-Lengths: 1\r\n"
                  "Transfer-Encodings: x\r\nTE: trailers\r\nCache-Control: no-cache\r\n\r\n",
                  &h, &e),
            ParseStatus::kDone)
      << e.reason;
  EXPECT_EQ(h.framing, BodyFraming::kNone);
}

TEST(RequestParser, AbsoluteForm) {
  RequestHead h;
  ParseError e;
  ASSERT_EQ(Parse("GET http://a.example/x?y HTTP/1.1\r\nHost: A.example\r\n\r\n", &h, &e), ParseStatus::kDone)
      << e.reason;
  EXPECT_EQ(h.target, "/x?y");
  EXPECT_EQ(h.path, "/x");
  EXPECT_EQ(h.query, "y");
  EXPECT_EQ(h.host, "a.example");

  ASSERT_EQ(Parse("GET HTTPS://b.example:8443 HTTP/1.0\r\n\r\n", &h, &e), ParseStatus::kDone) << e.reason;
  EXPECT_EQ(h.target, "/");
  EXPECT_EQ(h.path, "/");
  EXPECT_EQ(h.query, "");
  EXPECT_EQ(h.host, "b.example:8443");  // HTTP/1.0 may omit Host; the authority stands in
}

TEST(RequestParser, OptionsAsterisk) {
  RequestHead h;
  ParseError e;
  ASSERT_EQ(Parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &h, &e), ParseStatus::kDone);
  EXPECT_EQ(h.target, "*");
  EXPECT_EQ(h.path, "*");
  EXPECT_EQ(h.query, "");
}

TEST(RequestParser, KeepAliveRules) {
  struct Case {
    const char* raw;
    bool keep_alive;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: foo , CLOSE\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: x,keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
  };
  for (const Case& c : cases) {
    RequestHead h;
    ParseError e;
    ASSERT_EQ(Parse(c.raw, &h, &e), ParseStatus::kDone) << c.raw;
    EXPECT_EQ(h.keep_alive, c.keep_alive) << c.raw;
  }
}

TEST(RequestParser, ExpectContinue) {
  RequestHead h;
  ParseError e;
  ASSERT_EQ(Parse("PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-Continue\r\n\r\n", &h, &e),
            ParseStatus::kDone);
  EXPECT_TRUE(h.expect_continue);
  ASSERT_EQ(Parse("PUT /f HTTP/1.0\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n", &h, &e),
            ParseStatus::kDone);
  EXPECT_FALSE(h.expect_continue);  // RFC 9110 §10.1.1: ignored for HTTP/1.0
}

TEST(RequestParser, UpgradeWebsocket) {
  RequestHead h;
  ParseError e;
  ASSERT_EQ(Parse("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                  &h, &e),
            ParseStatus::kDone);
  EXPECT_TRUE(h.upgrade);
  EXPECT_EQ(h.Find("upgrade")->value, "websocket");
  ASSERT_EQ(Parse("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", &h, &e), ParseStatus::kDone);
  EXPECT_FALSE(h.upgrade);  // no "upgrade" connection option
  ASSERT_EQ(Parse("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n", &h, &e), ParseStatus::kDone);
  EXPECT_FALSE(h.upgrade);  // no Upgrade header
}

struct Rejection {
  const char* name;
  std::string raw;
  int status;
};

std::vector<Rejection> Rejections() {
  const std::string ok = "GET / HTTP/1.1\r\nHost: a\r\n";
  const std::string post = "POST / HTTP/1.1\r\nHost: a\r\n";
  return {
      {"CL and TE", post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"TE and CL", post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400},
      {"differing CL", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
      {"CL list", post + "Content-Length: 5, 5\r\n\r\n", 400},
      {"CL plus sign", post + "Content-Length: +5\r\n\r\n", 400},
      {"CL minus sign", post + "Content-Length: -5\r\n\r\n", 400},
      {"CL inner space", post + "Content-Length: 1 0\r\n\r\n", 400},
      {"CL hex", post + "Content-Length: 0x5\r\n\r\n", 400},
      {"CL empty", post + "Content-Length:\r\n\r\n", 400},
      {"CL over int64", post + "Content-Length: 9223372036854775808\r\n\r\n", 400},
      {"CL over uint64", post + "Content-Length: 18446744073709551616\r\n\r\n", 400},
      {"TE gzip, chunked (unsupported coding)", post + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"TE split gzip / chunked", post + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
      {"TE chunked with parameter", post + "Transfer-Encoding: chunked;q=1\r\n\r\n", 501},
      {"TE chunked, gzip", post + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400},
      {"TE gzip only", post + "Transfer-Encoding: gzip\r\n\r\n", 400},
      {"TE chunked twice", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"TE xchunked", post + "Transfer-Encoding: xchunked\r\n\r\n", 400},
      {"TE empty element", post + "Transfer-Encoding: ,chunked\r\n\r\n", 400},
      {"TE bad parameter", post + "Transfer-Encoding: chunked;x\r\n\r\n", 400},
      {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"Transfer_Encoding look-alike", post + "Transfer_Encoding: chunked\r\n\r\n", 400},
      {"Content_Length look-alike", post + "content_length: 5\r\n\r\n", 400},
      {"Transfer---Encoding look-alike", post + "Transfer---Encoding: chunked\r\n\r\n", 400},
      {"ContentLength look-alike", post + "ContentLength: 5\r\n\r\n", 400},
      {"bare LF after request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400},
      {"bare LF after header", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400},
      {"bare LF as blank line", ok + "\n", 400},
      {"bare CR after request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400},
      {"bare CR in value", ok + "X: a\rb\r\n\r\n", 400},
      {"bare CR as blank line", ok + "\rX\r\n", 400},
      {"obs-fold", ok + "X: a\r\n b\r\n\r\n", 400},
      {"obs-fold with tab", ok + "X: a\r\n\tb\r\n\r\n", 400},
      {"space before first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
      {"space before colon", ok + "X-A : b\r\n\r\n", 400},
      {"tab before colon", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n", 400},
      {"empty header name", ok + ": b\r\n\r\n", 400},
      {"header without colon", ok + "X-A b\r\n\r\n", 400},
      {"non-token name", ok + "X(A): b\r\n\r\n", 400},
      {"NUL in value", ok + std::string("X: a\0b\r\n\r\n", 10), 400},
      {"CTL in value", ok + "X: a\x01" "b\r\n\r\n", 400},
      {"DEL in value", ok + "X: a\x7f\r\n\r\n", 400},
      {"NUL in name", ok + std::string("X\0: b\r\n\r\n", 9), 400},
      {"missing Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400},
      {"two Hosts", ok + "Host: a\r\n\r\n", 400},
      {"absolute-form Host mismatch", "GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n", 400},
      {"absolute-form without Host", "GET http://a/ HTTP/1.1\r\n\r\n", 400},
      {"absolute-form ftp", "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"absolute-form userinfo", "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"absolute-form query without path", "GET http://a?x HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"origin-form without slash", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"asterisk with GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"CONNECT", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", 501},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
      {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505},
      {"HTTP/0.9 version", "GET / HTTP/0.9\r\n\r\n", 505},
      {"lowercase http/1.1", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
      {"version 1.10", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400},
      {"space after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
      {"two versions", "GET / HTTP/1.1 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"no version", "GET /\r\nHost: a\r\n\r\n", 400},
      {"double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"tab in target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"DEL in target", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"method not a token", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"empty line before request", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
  };
}

TEST(RequestParser, Rejections) {
  for (const Rejection& r : Rejections()) {
    SCOPED_TRACE(r.name);
    RequestHead h;
    ParseError e;
    ASSERT_EQ(Parse(r.raw, &h, &e), ParseStatus::kError);
    EXPECT_EQ(e.status, r.status) << e.reason;
    EXPECT_FALSE(e.reason.empty());
    // Fed as a growing buffer, no prefix may be accepted, and errors never change status.
    for (size_t n = 0; n < r.raw.size(); ++n) {
      ParseError pe;
      const ParseStatus st = Parse(absl::string_view(r.raw).substr(0, n), &h, &pe);
      ASSERT_NE(st, ParseStatus::kDone) << "prefix " << n;
      if (st == ParseStatus::kError) {
        ASSERT_EQ(pe.status, r.status) << "prefix " << n << ": " << pe.reason;
      }
    }
  }
}

TEST(RequestParser, RequestLineLimitOnPartialBuffer) {
  ParserLimits limits;
  limits.max_request_line = 64;
  RequestHead h;
  ParseError e;
  // Exactly at the limit (excluding CRLF) is fine.
  const std::string at_limit = "GET /" + std::string(64 - 14, 'a') + " HTTP/1.1";
  ASSERT_EQ(at_limit.size(), 64u);
  ASSERT_EQ(Parse(at_limit + "\r\nHost: a\r\n\r\n", &h, &e, limits), ParseStatus::kDone) << e.reason;
  EXPECT_EQ(Parse(at_limit + "\r", &h, &e, limits), ParseStatus::kIncomplete);
  // One byte more fails as soon as the buffer proves it, without waiting for the CRLF.
  EXPECT_EQ(Parse("GET /a" + at_limit.substr(5) + "\r\nHost: a\r\n\r\n", &h, &e, limits), ParseStatus::kError);
  EXPECT_EQ(e.status, 414);
  const std::string partial = "GET /" + std::string(100, 'a');
  EXPECT_EQ(Parse(partial.substr(0, 66), &h, &e, limits), ParseStatus::kIncomplete);
  EXPECT_EQ(Parse(partial.substr(0, 67), &h, &e, limits), ParseStatus::kError);
  EXPECT_EQ(e.status, 414);
  // Default limits: a long line without CRLF.
  EXPECT_EQ(Parse("GET /" + std::string(9000, 'a'), &h, &e), ParseStatus::kError);
  EXPECT_EQ(e.status, 414);
}

TEST(RequestParser, HeaderLimits) {
  ParserLimits limits;
  limits.max_header_bytes = 128;
  limits.max_headers = 3;
  RequestHead h;
  ParseError e;
  const std::string start = "GET / HTTP/1.1\r\nHost: a\r\n";
  // Partial head already over max_header_bytes.
  EXPECT_EQ(Parse(start + "X: " + std::string(200, 'v'), &h, &e, limits), ParseStatus::kError);
  EXPECT_EQ(e.status, 431);
  EXPECT_EQ(Parse(start + "X: " + std::string(50, 'v'), &h, &e, limits), ParseStatus::kIncomplete);
  // A head of exactly max_header_bytes is accepted, one byte more is not.
  std::string exact = start + "X: " + std::string(128 - start.size() - 7, 'v') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), 128u);
  EXPECT_EQ(Parse(exact, &h, &e, limits), ParseStatus::kDone) << e.reason;
  EXPECT_EQ(Parse(start + "X: v" + exact.substr(start.size() + 3), &h, &e, limits), ParseStatus::kError);
  EXPECT_EQ(e.status, 431);
  // Too many headers: three fit, four do not.
  EXPECT_EQ(Parse(start + "A: 1\r\nB: 2\r\n\r\n", &h, &e, limits), ParseStatus::kDone);
  EXPECT_EQ(Parse(start + "A: 1\r\nB: 2\r\nC: 3\r\n", &h, &e, limits), ParseStatus::kError);
  EXPECT_EQ(e.status, 431);
}

TEST(RequestParser, SteadyStateDoesNotAllocate) {
  std::string raw = "POST /p?q HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: keep-alive\r\n";
  for (int i = 0; i < 40; ++i) absl::StrAppend(&raw, "X-Header-", i, ": value ", i, "\r\n");
  raw += "\r\n";
  RequestHead h;
  ParseError e;
  ASSERT_EQ(Parse(raw, &h, &e), ParseStatus::kDone);  // grows the header list once
  const Header* storage = h.headers.data();
  const long before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(Parse(raw, &h, &e), ParseStatus::kDone);
    ASSERT_EQ(Parse(absl::string_view(raw).substr(0, raw.size() / 2), &h, &e), ParseStatus::kIncomplete);
  }
  EXPECT_EQ(g_allocations.load(), before);
  EXPECT_EQ(h.headers.data(), storage);
}

ParseStatus ParseResponse(absl::string_view raw, ResponseHead* head, ParseError* error,
                          absl::string_view method = "GET") {
  return ParseResponseHead(raw, method, ParserLimits(), head, error);
}

// Forwarding looks for fields a Connection header nominates only when the head may have some.
TEST(Parsers, SayWhetherAConnectionFieldMayNominateFields) {
  struct Case {
    const char* connection;  // nullptr: no Connection field
    bool options;
  } cases[] = {{nullptr, false},           {"keep-alive", false}, {"Close", false},
               {"Upgrade, keep-alive", false}, {"x-secret", true}, {"keep-alive, X-Secret", true},
               {"closed", true}};
  for (const Case& c : cases) {
    const std::string field = c.connection == nullptr ? "" : absl::StrCat("Connection: ", c.connection, "\r\n");
    RequestHead request;
    ParseError e;
    ASSERT_EQ(Parse(absl::StrCat("GET / HTTP/1.1\r\nHost: a\r\n", field, "\r\n"), &request, &e), ParseStatus::kDone);
    EXPECT_EQ(request.connection_options, c.options) << (c.connection ? c.connection : "none");
    ResponseHead response;
    ASSERT_EQ(ParseResponseHead(absl::StrCat("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", field, "\r\n"), "GET",
                                ParserLimits(), &response, &e),
              ParseStatus::kDone);
    EXPECT_EQ(response.connection_options, c.options) << (c.connection ? c.connection : "none");
  }
  RequestHead cleared;
  EXPECT_TRUE(cleared.connection_options);  // a head built by hand is looked through
}

TEST(ResponseParser, Framing) {
  struct Case {
    const char* raw;
    const char* method;
    BodyFraming framing;
    bool keep_alive;
  };
  const Case cases[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", "GET", BodyFraming::kContentLength, true},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", BodyFraming::kChunked, true},
      {"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", "GET", BodyFraming::kUntilClose, false},
      {"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", "HEAD", BodyFraming::kNone, true},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD", BodyFraming::kNone, true},
      {"HTTP/1.1 204 No Content\r\n\r\n", "GET", BodyFraming::kNone, true},
      {"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", "GET", BodyFraming::kNone, true},
      {"HTTP/1.1 100 Continue\r\n\r\n", "POST", BodyFraming::kNone, true},
      {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", "GET", BodyFraming::kNone, true},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", "GET", BodyFraming::kContentLength,
       false},
      {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", "GET", BodyFraming::kContentLength, false},
      {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", "GET",
       BodyFraming::kContentLength, true},
      {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", "GET", BodyFraming::kUntilClose, false},
      {"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n", "GET", BodyFraming::kContentLength,
       true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.raw);
    ResponseHead h;
    ParseError e;
    ASSERT_EQ(ParseResponse(c.raw, &h, &e, c.method), ParseStatus::kDone) << e.reason;
    EXPECT_EQ(h.framing, c.framing);
    EXPECT_EQ(h.keep_alive, c.keep_alive);
    EXPECT_EQ(h.head_size, strlen(c.raw));
  }
}

TEST(ResponseParser, StatusLine) {
  ResponseHead h;
  ParseError e;
  const std::string raw = "HTTP/1.1 404 Not  Found\r\nContent-Length: 3\r\n\r\nabc";
  ASSERT_EQ(ParseResponse(raw, &h, &e), ParseStatus::kDone);
  EXPECT_EQ(h.status, 404);
  EXPECT_EQ(h.reason, "Not  Found");
  EXPECT_EQ(h.version_minor, 1);
  EXPECT_EQ(h.content_length, 3u);
  EXPECT_EQ(h.head_size, raw.size() - 3);
  EXPECT_EQ(h.Find("content-length")->value, "3");
  for (size_t n = 0; n < h.head_size; ++n) {
    ASSERT_EQ(ParseResponse(absl::string_view(raw).substr(0, n), &h, &e), ParseStatus::kIncomplete) << n;
  }
  ASSERT_EQ(ParseResponse("HTTP/1.1 200\r\n\r\n", &h, &e), ParseStatus::kDone);  // no reason phrase
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.reason, "");
}

TEST(ResponseParser, Rejections) {
  const struct {
    const char* raw;
    int status;
  } cases[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"HTTP/1.1 204 No Content\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
      {"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"HTTP/1.1 200 OK\nContent-Length: 1\r\n\r\n", 400},
      {"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", 400},
      {"HTTP/1.1 200 OK\r\nX : a\r\n\r\n", 400},
      {"HTTP/1.1 20 OK\r\n\r\n", 400},
      {"HTTP/1.1 2000 OK\r\n\r\n", 400},
      {"HTTP/1.1 099 OK\r\n\r\n", 400},
      {"HTTP/1.1  200 OK\r\n\r\n", 400},
      {"HTTP/2.0 200 OK\r\n\r\n", 505},
      {"http/1.1 200 OK\r\n\r\n", 400},
      {"HTTP/1.1 200 O\x01K\r\n\r\n", 400},
  };
  for (const auto& c : cases) {
    ResponseHead h;
    ParseError e;
    ASSERT_EQ(ParseResponse(c.raw, &h, &e), ParseStatus::kError) << c.raw;
    EXPECT_EQ(e.status, c.status) << c.raw << ": " << e.reason;
  }
  ResponseHead h;
  ParseError e;
  EXPECT_EQ(ParseResponse("HTTP/1.1 200 " + std::string(9000, 'x'), &h, &e), ParseStatus::kError);
}

}  // namespace
// Feeds `raw` one byte per "read" the way the data plane does (HeadProgress decides when to
// parse); returns the verdict and counts the full parses.
struct Fed {
  ParseStatus status = ParseStatus::kIncomplete;
  ParseError error;
  size_t head_size = 0;
  int parses = 0;
  size_t at = 0;  // bytes fed when the verdict came
};
Fed FeedByteByByte(absl::string_view raw, const ParserLimits& limits = ParserLimits()) {
  Fed fed;
  HeadProgress progress;
  RequestHead head;
  for (size_t n = 1; n <= raw.size() && fed.status == ParseStatus::kIncomplete; ++n) {
    if (!progress.ShouldParse(raw.substr(0, n), limits)) continue;
    ++fed.parses;
    fed.status = ParseRequestHead(raw.substr(0, n), limits, &head, &fed.error);
    fed.head_size = head.head_size;
    fed.at = n;
  }
  return fed;
}

// The defect: every read parsed the head from byte 0, so a 60 KB head sent one byte per
// segment meant ~60,000 parses of up to 60 KB each. Now one per line.
TEST(HeadProgress, SlowHeadIsParsedOncePerLine) {
  std::string raw = "GET /slow HTTP/1.1\r\nHost: a.test\r\n";
  int lines = 2;
  while (raw.size() < 60000) {
    absl::StrAppend(&raw, "X-Fill-", lines, ": ", std::string(600, 'v'), "\r\n");
    ++lines;
  }
  raw += "\r\n";
  const Fed fed = FeedByteByByte(raw);
  ASSERT_EQ(fed.status, ParseStatus::kDone) << fed.error.reason;
  EXPECT_EQ(fed.head_size, raw.size());
  // One per line end (blank line included), the first byte, the request-line limit: ~100
  // parses, where every byte used to be one (60,000).
  EXPECT_LE(fed.parses, lines + 3);
}

TEST(HeadProgress, GarbageIsRejectedOnItsFirstBytes) {
  const Fed fed = FeedByteByByte(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
  EXPECT_EQ(fed.status, ParseStatus::kError);
  EXPECT_EQ(fed.at, 1u);
}

TEST(HeadProgress, LimitsAnswerWithoutALineEnd) {
  ParserLimits limits;
  limits.max_request_line = 100;
  limits.max_header_bytes = 1000;
  const Fed line = FeedByteByByte("GET /" + std::string(200, 'a'), limits);
  EXPECT_EQ(line.status, ParseStatus::kError);
  EXPECT_EQ(line.error.status, 414);
  EXPECT_LE(line.at, 103u);
  const Fed head = FeedByteByByte("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(2000, 'b'), limits);
  EXPECT_EQ(head.status, ParseStatus::kError);
  EXPECT_EQ(head.error.status, 431);
  EXPECT_EQ(head.at, 1001u);
}

TEST(HeadProgress, AnErrorInsideALineIsReportedWhenTheLineEnds) {
  const std::string raw = "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n";
  const Fed fed = FeedByteByByte(raw);
  EXPECT_EQ(fed.status, ParseStatus::kError);
  EXPECT_EQ(fed.error.status, 400);
  EXPECT_EQ(fed.at, raw.size());
}

}  // namespace edgerouter::http
