#include "dataplane/policies/compress/encoder.h"

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include <random>

#include "gtest/gtest.h"

namespace edgerouter::policies::compress {
namespace {

std::string Gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out(64 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = in.size();
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = out.size();
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

std::string Unbrotli(const std::string& in) {
  std::string out(64 << 20, '\0');
  size_t n = out.size();
  EXPECT_EQ(BrotliDecoderDecompress(in.size(), reinterpret_cast<const uint8_t*>(in.data()), &n,
                                    reinterpret_cast<uint8_t*>(out.data())),
            BROTLI_DECODER_RESULT_SUCCESS);
  out.resize(n);
  return out;
}

std::string Unzstd(const std::string& in) {
  std::string out(64 << 20, '\0');
  const size_t n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
  EXPECT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

std::string Decode(Coding c, const std::string& in) {
  switch (c) {
    case Coding::kGzip: return Gunzip(in);
    case Coding::kBrotli: return Unbrotli(in);
    case Coding::kZstd: return Unzstd(in);
    default: return in;
  }
}

// Compressible text with some noise, `n` bytes.
std::string Text(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < n) s += "<p class=\"row\">item " + std::to_string(rng() % 1000) + " of the list</p>\n";
  s.resize(n);
  return s;
}

class EncoderTest : public testing::TestWithParam<Coding> {};

TEST_P(EncoderTest, RoundTripsInPiecesWithFlushes) {
  const std::string input = Text(3 << 20, 1);
  auto enc = NewEncoder(GetParam());
  ASSERT_TRUE(enc.ok()) << enc.status();
  std::string out;
  size_t flushed_at = 0;
  for (size_t off = 0, i = 0; off < input.size(); ++i) {
    const size_t n = std::min<size_t>(1 + (i * 7919) % 40000, input.size() - off);
    ASSERT_TRUE((*enc)->Feed(absl::string_view(input).substr(off, n), &out).ok());
    off += n;
    if (i % 17 == 0) {
      ASSERT_TRUE((*enc)->Flush(&out).ok());
      flushed_at = out.size();
      EXPECT_GT(flushed_at, 0u);  // a flush makes what was fed decodable now
    }
  }
  ASSERT_TRUE((*enc)->Finish(&out).ok());
  EXPECT_LT(out.size(), input.size() / 4) << CodingName(GetParam());
  EXPECT_EQ(Decode(GetParam(), out), input);
}

TEST_P(EncoderTest, EmptyBodyIsAValidStream) {
  auto enc = NewEncoder(GetParam());
  ASSERT_TRUE(enc.ok());
  std::string out;
  ASSERT_TRUE((*enc)->Flush(&out).ok());  // a flush with nothing fed is harmless
  ASSERT_TRUE((*enc)->Finish(&out).ok());
  EXPECT_FALSE(out.empty());
  EXPECT_EQ(Decode(GetParam(), out), "");
}

TEST_P(EncoderTest, IncompressibleInputStillRoundTrips) {
  std::mt19937 rng(7);
  std::string input(1 << 20, '\0');
  for (char& c : input) c = static_cast<char>(rng());
  auto enc = NewEncoder(GetParam());
  ASSERT_TRUE(enc.ok());
  std::string out;
  ASSERT_TRUE((*enc)->Feed(input, &out).ok());
  ASSERT_TRUE((*enc)->Finish(&out).ok());
  EXPECT_EQ(Decode(GetParam(), out), input);
}

INSTANTIATE_TEST_SUITE_P(AllCodings, EncoderTest, testing::Values(Coding::kGzip, Coding::kBrotli, Coding::kZstd),
                         [](const testing::TestParamInfo<Coding>& i) { return std::string(CodingName(i.param)); });

TEST(CodingTest, NamesRoundTrip) {
  for (Coding c : {Coding::kGzip, Coding::kBrotli, Coding::kZstd, Coding::kIdentity}) {
    EXPECT_EQ(ParseCoding(CodingName(c)), c);
  }
  EXPECT_EQ(ParseCoding("BR"), Coding::kBrotli);
  EXPECT_FALSE(ParseCoding("deflate").has_value());
  EXPECT_FALSE(NewEncoder(Coding::kIdentity).ok());
}

}  // namespace
}  // namespace edgerouter::policies::compress
