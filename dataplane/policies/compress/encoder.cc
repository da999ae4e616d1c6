#include "dataplane/policies/compress/encoder.h"

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace edgerouter::policies::compress {
namespace {

// Output grows in steps of this much; the codecs write straight into the string's tail.
constexpr size_t kOutStep = 16 * 1024;

class GzipEncoder final : public Encoder {
 public:
  absl::Status Init() {
    // windowBits 15 + 16: a gzip wrapper (header and CRC-32 trailer) around raw deflate.
    if (deflateInit2(&z_, kGzipLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      return absl::InternalError("gzip: deflateInit2 failed");
    }
    initialised_ = true;
    return absl::OkStatus();
  }
  ~GzipEncoder() override {
    if (initialised_) deflateEnd(&z_);
  }
  absl::Status Feed(absl::string_view data, std::string* out) override { return Run(data, Z_NO_FLUSH, out); }
  absl::Status Flush(std::string* out) override { return Run({}, Z_SYNC_FLUSH, out); }
  absl::Status Finish(std::string* out) override { return Run({}, Z_FINISH, out); }

 private:
  absl::Status Run(absl::string_view data, int flush, std::string* out) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z_.avail_in = static_cast<uInt>(data.size());
    while (true) {
      const size_t old = out->size();
      out->resize(old + kOutStep);
      z_.next_out = reinterpret_cast<Bytef*>(out->data() + old);
      z_.avail_out = kOutStep;
      const int rc = deflate(&z_, flush);
      out->resize(old + kOutStep - z_.avail_out);
      if (rc == Z_STREAM_END) return absl::OkStatus();
      if (rc != Z_OK && rc != Z_BUF_ERROR) return absl::InternalError(absl::StrCat("gzip: deflate error ", rc));
      // Done when the input is used up and deflate had room to spare (nothing pending).
      if (z_.avail_in == 0 && z_.avail_out != 0 && flush != Z_FINISH) return absl::OkStatus();
    }
  }

  z_stream z_{};
  bool initialised_ = false;
};

class BrotliEncoder final : public Encoder {
 public:
  absl::Status Init() {
    state_ = BrotliEncoderCreateInstance(nullptr, nullptr, nullptr);
    if (state_ == nullptr) return absl::InternalError("br: BrotliEncoderCreateInstance failed");
    BrotliEncoderSetParameter(state_, BROTLI_PARAM_QUALITY, kBrotliQuality);
    BrotliEncoderSetParameter(state_, BROTLI_PARAM_LGWIN, kBrotliWindowBits);
    BrotliEncoderSetParameter(state_, BROTLI_PARAM_MODE, BROTLI_MODE_TEXT);
    return absl::OkStatus();
  }
  ~BrotliEncoder() override {
    if (state_ != nullptr) BrotliEncoderDestroyInstance(state_);
  }
  absl::Status Feed(absl::string_view data, std::string* out) override {
    return Run(data, BROTLI_OPERATION_PROCESS, out);
  }
  absl::Status Flush(std::string* out) override { return Run({}, BROTLI_OPERATION_FLUSH, out); }
  absl::Status Finish(std::string* out) override { return Run({}, BROTLI_OPERATION_FINISH, out); }

 private:
  absl::Status Run(absl::string_view data, BrotliEncoderOperation op, std::string* out) {
    size_t avail_in = data.size();
    const uint8_t* next_in = reinterpret_cast<const uint8_t*>(data.data());
    while (true) {
      const size_t old = out->size();
      out->resize(old + kOutStep);
      size_t avail_out = kOutStep;
      uint8_t* next_out = reinterpret_cast<uint8_t*>(out->data() + old);
      const bool ok = BrotliEncoderCompressStream(state_, op, &avail_in, &next_in, &avail_out, &next_out, nullptr);
      out->resize(old + kOutStep - avail_out);
      if (!ok) return absl::InternalError("br: BrotliEncoderCompressStream failed");
      if (avail_in != 0 || BrotliEncoderHasMoreOutput(state_)) continue;
      if (op == BROTLI_OPERATION_FINISH && !BrotliEncoderIsFinished(state_)) continue;
      return absl::OkStatus();
    }
  }

  BrotliEncoderState* state_ = nullptr;
};

class ZstdEncoder final : public Encoder {
 public:
  absl::Status Init() {
    cctx_ = ZSTD_createCCtx();
    if (cctx_ == nullptr) return absl::InternalError("zstd: ZSTD_createCCtx failed");
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, kZstdLevel)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_windowLog, kZstdWindowLog)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1))) {
      return absl::InternalError("zstd: setting parameters failed");
    }
    return absl::OkStatus();
  }
  ~ZstdEncoder() override { ZSTD_freeCCtx(cctx_); }
  absl::Status Feed(absl::string_view data, std::string* out) override { return Run(data, ZSTD_e_continue, out); }
  absl::Status Flush(std::string* out) override { return Run({}, ZSTD_e_flush, out); }
  absl::Status Finish(std::string* out) override { return Run({}, ZSTD_e_end, out); }

 private:
  absl::Status Run(absl::string_view data, ZSTD_EndDirective mode, std::string* out) {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    while (true) {
      const size_t old = out->size();
      out->resize(old + kOutStep);
      ZSTD_outBuffer o{out->data() + old, kOutStep, 0};
      const size_t remaining = ZSTD_compressStream2(cctx_, &o, &in, mode);
      out->resize(old + o.pos);
      if (ZSTD_isError(remaining)) {
        return absl::InternalError(absl::StrCat("zstd: ", ZSTD_getErrorName(remaining)));
      }
      // continue: done once the input is consumed; flush/end: once nothing remains to write.
      if (mode == ZSTD_e_continue ? in.pos == in.size : remaining == 0) return absl::OkStatus();
    }
  }

  ZSTD_CCtx* cctx_ = nullptr;
};

template <typename T>
absl::StatusOr<std::unique_ptr<Encoder>> Make() {
  auto e = std::make_unique<T>();
  if (absl::Status s = e->Init(); !s.ok()) return s;
  return std::unique_ptr<Encoder>(std::move(e));
}

}  // namespace

absl::string_view CodingName(Coding coding) {
  switch (coding) {
    case Coding::kGzip: return "gzip";
    case Coding::kBrotli: return "br";
    case Coding::kZstd: return "zstd";
    case Coding::kIdentity: break;
  }
  return "identity";
}

std::optional<Coding> ParseCoding(absl::string_view token) {
  if (absl::EqualsIgnoreCase(token, "gzip")) return Coding::kGzip;
  if (absl::EqualsIgnoreCase(token, "br")) return Coding::kBrotli;
  if (absl::EqualsIgnoreCase(token, "zstd")) return Coding::kZstd;
  if (absl::EqualsIgnoreCase(token, "identity")) return Coding::kIdentity;
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<Encoder>> NewEncoder(Coding coding) {
  switch (coding) {
    case Coding::kGzip: return Make<GzipEncoder>();
    case Coding::kBrotli: return Make<BrotliEncoder>();
    case Coding::kZstd: return Make<ZstdEncoder>();
    case Coding::kIdentity: break;
  }
  return absl::InvalidArgumentError("compress: no encoder for identity");
}

}  // namespace edgerouter::policies::compress
