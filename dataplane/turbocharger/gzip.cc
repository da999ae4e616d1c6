#include "dataplane/turbocharger/gzip.h"

#include <zlib.h>

#include "absl/strings/str_cat.h"

namespace edgerouter::turbocharger {

std::string GzipCompress(absl::string_view data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip wrapper; level 9 once per object (it is served many times).
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out;
  out.resize(deflateBound(&z, data.size()));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

absl::Status GzipDecompress(absl::string_view gz, size_t max_bytes, std::string* out) {
  out->clear();
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return absl::InternalError("inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  char buf[64 << 10];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return absl::InvalidArgumentError(absl::StrCat("corrupt gzip data (zlib error ", rc, ")"));
    }
    out->append(buf, sizeof(buf) - z.avail_out);
    if (out->size() > max_bytes) {
      inflateEnd(&z);
      return absl::InvalidArgumentError(absl::StrCat("gzip data inflates beyond ", max_bytes, " bytes"));
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      return absl::InvalidArgumentError("truncated gzip data");
    }
  }
  inflateEnd(&z);
  return absl::OkStatus();
}

}  // namespace edgerouter::turbocharger
