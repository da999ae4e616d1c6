#include <random>
#include <string>
#include <vector>

#include "common/http/http1_parser.h"
#include "gtest/gtest.h"

namespace edgerouter::http {
namespace {

using State = ChunkedDecoder::State;

struct Result {
  State state;
  size_t consumed;  // total over all pieces
  std::string data;
};

// Feeds `input` in the given piece sizes (the rest in one piece); stops feeding once done.
Result FeedPieces(absl::string_view input, const std::vector<size_t>& pieces) {
  ChunkedDecoder d;
  Result r{State::kInProgress, 0, ""};
  auto on_data = [&r](absl::string_view data) { r.data.append(data.data(), data.size()); };
  for (size_t k = 0; k <= pieces.size() && r.consumed < input.size(); ++k) {
    const size_t n = k < pieces.size() ? pieces[k] : input.size() - r.consumed;
    absl::string_view piece = input.substr(r.consumed, n);
    const size_t used = d.Feed(piece, on_data);  // lvalue callback
    EXPECT_LE(used, piece.size());
    r.consumed += used;
    if (d.state() != State::kInProgress) break;
    EXPECT_EQ(used, piece.size()) << "an in-progress decoder consumes all it is given";
  }
  r.state = d.state();
  return r;
}

Result FeedAll(absl::string_view input) { return FeedPieces(input, {}); }

Result FeedBytewise(absl::string_view input) { return FeedPieces(input, std::vector<size_t>(input.size(), 1)); }

TEST(ChunkedDecoder, SimpleBodyStopsAtEnd) {
  const std::string body = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  const std::string next = "GET / HTTP/1.1\r\n";
  for (const Result& r : {FeedAll(body + next), FeedBytewise(body + next)}) {
    EXPECT_EQ(r.state, State::kDone);
    EXPECT_EQ(r.consumed, body.size());
    EXPECT_EQ(r.data, "hello world");
  }
  ChunkedDecoder d;
  EXPECT_EQ(d.Feed(body + next), body.size());  // overload without a callback
  EXPECT_EQ(d.state(), State::kDone);
  EXPECT_EQ(d.Feed(next), 0u);
  d.Reset();
  EXPECT_EQ(d.state(), State::kInProgress);
  EXPECT_EQ(d.Feed("0\r\n\r\n"), 5u);
  EXPECT_EQ(d.state(), State::kDone);
}

TEST(ChunkedDecoder, RandomSplits) {
  std::string body;
  std::string expected;
  std::mt19937 rng(7);
  for (int i = 0; i < 30; ++i) {
    const size_t n = rng() % 300 + 1;
    std::string chunk(n, static_cast<char>('a' + i % 26));
    char size[32];
    snprintf(size, sizeof(size), i % 2 ? "%zx" : "%zX", n);
    body += std::string(size) + (i % 3 == 0 ? ";ext=\"v;\\\"x\"" : "") + "\r\n" + chunk + "\r\n";
    expected += chunk;
  }
  body += "0;last\r\nTrailer-A: 1\r\nTrailer-B:\r\n\r\n";
  for (int round = 0; round < 200; ++round) {
    std::vector<size_t> pieces;
    for (size_t total = 0; total < body.size();) {
      pieces.push_back(rng() % 40);  // includes empty pieces
      total += pieces.back();
    }
    const Result r = FeedPieces(body + "tail", pieces);
    ASSERT_EQ(r.state, State::kDone) << "round " << round;
    ASSERT_EQ(r.consumed, body.size());
    ASSERT_EQ(r.data, expected);
  }
}

TEST(ChunkedDecoder, AcceptedForms) {
  const char* cases[] = {
      "0\r\n\r\n",
      "000\r\n\r\n",
      "A\r\n0123456789\r\n0\r\n\r\n",
      "a\r\n0123456789\r\n0\r\n\r\n",
      "1;a\r\nx\r\n0\r\n\r\n",
      "1;a=b;c=\"d e\"\r\nx\r\n0\r\n\r\n",
      "1;a=\"\\\"\"\r\nx\r\n0\r\n\r\n",
      "0\r\nX-Trailer: v\r\nY: \r\n\r\n",
      "0\r\nX: a\tb \xff\r\n\r\n",
  };
  for (const char* c : cases) {
    const std::string body = c;
    EXPECT_EQ(FeedAll(body).state, State::kDone) << body;
    const Result r = FeedBytewise(body);
    EXPECT_EQ(r.state, State::kDone) << body;
    EXPECT_EQ(r.consumed, body.size()) << body;
  }
}

TEST(ChunkedDecoder, Rejections) {
  const std::string long_ext = "1;" + std::string(ChunkedDecoder::kMaxLineBytes, 'e') + "\r\nx\r\n0\r\n\r\n";
  const std::string long_size = std::string(ChunkedDecoder::kMaxLineBytes + 1, '0') + "\r\n\r\n";
  const std::string long_trailer = "0\r\nX: " + std::string(ChunkedDecoder::kMaxLineBytes, 'v') + "\r\n\r\n";
  const std::string cases[] = {
      "\r\n",                          // empty size
      " 5\r\nhello\r\n0\r\n\r\n",      // leading whitespace
      "5 \r\nhello\r\n0\r\n\r\n",      // trailing whitespace
      "0x5\r\nhello\r\n0\r\n\r\n",     // prefix
      "-1\r\n",                        //
      "+1\r\nx\r\n0\r\n\r\n",          //
      "g\r\n",                         // not hex
      "5\nhello\r\n0\r\n\r\n",         // bare LF after size
      "5\rhello\r\n0\r\n\r\n",         // bare CR after size
      "5\r\nhelloX\r\n0\r\n\r\n",      // data longer than the size
      "5\r\nhello\n0\r\n\r\n",         // missing CR after data
      "5\r\nhello\rX0\r\n\r\n",        // missing LF after data
      "5\r\nhello0\r\n\r\n",           // missing CRLF after data
      "1; a\r\nx\r\n0\r\n\r\n",        // whitespace before the extension name
      "1 ;a\r\nx\r\n0\r\n\r\n",        // whitespace before ';'
      "1;\r\nx\r\n0\r\n\r\n",          // empty extension
      "1;a=\r\nx\r\n0\r\n\r\n",        // empty value
      "1;a=\"x\r\nx\r\n0\r\n\r\n",     // unterminated quoted string
      "1;a=\"x\"y\r\nx\r\n0\r\n\r\n",  // junk after the quoted string
      "1;a=b c\r\nx\r\n0\r\n\r\n",     //
      "1;a\x01\r\nx\r\n0\r\n\r\n",     //
      "4000000000000000\r\n",          // 2^62: over the 62-bit limit
      "10000000000000000\r\n",         // 2^64
      "ffffffffffffffffff\r\n",        //
      "0\r\nX : v\r\n\r\n",            // whitespace before the colon in a trailer
      "0\r\n X: v\r\n\r\n",            // folded trailer
      "0\r\nX v\r\n\r\n",              // trailer without colon
      "0\r\n: v\r\n\r\n",              // empty trailer name
      "0\r\nX: a\x7f\r\n\r\n",         // DEL in a trailer value
      "0\r\nX: v\n\r\n",               // bare LF after a trailer
      "0\r\nX: v\r\n\n",               // bare LF at the end
      "0\r\n\rX",                      // bare CR at the end
      "0\r\n\n",                       //
      long_ext,
      long_size,
      long_trailer,
      std::string("0\r\nX: a\0b\r\n\r\n", 11),
  };
  for (const std::string& c : cases) {
    const Result whole = FeedAll(c);
    EXPECT_EQ(whole.state, State::kError) << c;
    const Result bytes = FeedBytewise(c);
    EXPECT_EQ(bytes.state, State::kError) << c;
    EXPECT_EQ(bytes.consumed, whole.consumed) << c;
  }
  ChunkedDecoder d;
  d.Feed("zz");
  EXPECT_EQ(d.state(), State::kError);
  EXPECT_FALSE(d.error().empty());
  EXPECT_EQ(d.Feed("0\r\n\r\n"), 0u);
}

TEST(ChunkedDecoder, LimitsAreInclusive) {
  const std::string max_size = std::string(ChunkedDecoder::kMaxLineBytes - 1, '0') + "1\r\nx\r\n0\r\n\r\n";
  EXPECT_EQ(FeedAll(max_size).state, State::kDone);
  const std::string max_trailer = "0\r\nX: " + std::string(ChunkedDecoder::kMaxLineBytes - 3, 'v') + "\r\n\r\n";
  EXPECT_EQ(FeedAll(max_trailer).state, State::kDone);
  ChunkedDecoder d;
  EXPECT_EQ(d.Feed("3fffffffffffffff\r\nabc"), 21u);  // largest size: still in progress
  EXPECT_EQ(d.state(), State::kInProgress);
}

TEST(ChunkedDecoder, LargeChunkAcrossFeeds) {
  ChunkedDecoder d;
  size_t seen = 0;
  auto count = [&seen](absl::string_view data) { seen += data.size(); };
  EXPECT_EQ(d.Feed("100000\r\n", count), 8u);
  const std::string block(4096, 'z');
  for (int i = 0; i < 256; ++i) ASSERT_EQ(d.Feed(block, count), block.size());
  EXPECT_EQ(seen, 0x100000u);
  EXPECT_EQ(d.Feed("\r\n0\r\n\r\nextra", count), 7u);
  EXPECT_EQ(d.state(), State::kDone);
}

}  // namespace
}  // namespace edgerouter::http
