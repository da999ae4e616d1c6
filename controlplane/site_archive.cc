#include "controlplane/site_archive.h"

#include <zlib.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace edgerouter::ctl {
namespace {

constexpr size_t kBlock = 512;

// NUL-terminated field of a header block.
absl::string_view Field(absl::string_view block, size_t offset, size_t length) {
  absl::string_view f = block.substr(offset, length);
  const size_t nul = f.find('\0');
  return nul == absl::string_view::npos ? f : f.substr(0, nul);
}

// Octal (space/NUL padded) or GNU base-256 numbers.
absl::StatusOr<uint64_t> Number(absl::string_view field) {
  if (!field.empty() && (static_cast<unsigned char>(field[0]) & 0x80)) {
    uint64_t v = static_cast<unsigned char>(field[0]) & 0x7f;
    for (size_t i = 1; i < field.size(); ++i) v = (v << 8) | static_cast<unsigned char>(field[i]);
    return v;
  }
  uint64_t v = 0;
  for (char c : field) {
    if (c == '\0' || c == ' ') {
      if (v != 0) break;
      continue;
    }
    if (c < '0' || c > '7') return absl::InvalidArgumentError("bad number in tar header");
    v = v * 8 + (c - '0');
  }
  return v;
}

// The "path" record of a pax extended header ("<len> path=<value>\n" records).
std::string PaxPath(absl::string_view data) {
  std::string path;
  while (!data.empty()) {
    const size_t space = data.find(' ');
    size_t len = 0;
    if (space == absl::string_view::npos || !absl::SimpleAtoi(data.substr(0, space), &len) || len > data.size() ||
        len <= space + 1) {
      break;
    }
    absl::string_view record = data.substr(space + 1, len - space - 2);  // without the '\n'
    if (absl::ConsumePrefix(&record, "path=")) path = std::string(record);
    data.remove_prefix(len);
  }
  return path;
}

}  // namespace

absl::StatusOr<std::string> CleanArchivePath(absl::string_view name) {
  if (absl::StartsWith(name, "/")) return absl::InvalidArgumentError(absl::StrCat("absolute path in archive: ", name));
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(name, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") return absl::InvalidArgumentError(absl::StrCat("\"..\" in archive path: ", name));
    parts.push_back(part);
  }
  return absl::StrJoin(parts, "/");
}

absl::StatusOr<std::string> Gunzip(absl::string_view compressed) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return absl::InternalError("inflateInit2 failed");
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  z.avail_in = static_cast<uInt>(compressed.size());
  char buf[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return absl::InvalidArgumentError(absl::StrCat("not a valid gzip file (zlib error ", rc, ")"));
    }
    out.append(buf, sizeof(buf) - z.avail_out);
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      return absl::InvalidArgumentError("truncated gzip file");
    }
  }
  inflateEnd(&z);
  return out;
}

absl::StatusOr<std::vector<SiteFile>> ReadTar(absl::string_view tar) {
  std::vector<SiteFile> files;
  std::string long_name;  // from a pax or GNU header, for the next entry
  size_t pos = 0;
  while (pos + kBlock <= tar.size()) {
    absl::string_view block = tar.substr(pos, kBlock);
    if (block.find_first_not_of('\0') == absl::string_view::npos) break;  // end-of-archive marker
    unsigned checksum = 0;
    for (size_t i = 0; i < kBlock; ++i) {
      checksum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(block[i]);
    }
    absl::StatusOr<uint64_t> stored = Number(block.substr(148, 8));
    if (!stored.ok() || *stored != checksum) return absl::InvalidArgumentError("bad tar header checksum");
    absl::StatusOr<uint64_t> size = Number(block.substr(124, 12));
    if (!size.ok()) return size.status();
    const char type = block[156];
    pos += kBlock;
    if (pos + *size > tar.size()) return absl::InvalidArgumentError("truncated tar entry");
    absl::string_view data = tar.substr(pos, *size);
    pos += (*size + kBlock - 1) / kBlock * kBlock;

    std::string name;
    if (!long_name.empty()) {
      name = std::move(long_name);
      long_name.clear();
    } else {
      absl::string_view prefix = absl::StartsWith(block.substr(257, 5), "ustar") ? Field(block, 345, 155) : "";
      name = prefix.empty() ? std::string(Field(block, 0, 100)) : absl::StrCat(prefix, "/", Field(block, 0, 100));
    }
    switch (type) {
      case 'x':
        long_name = PaxPath(data);
        continue;
      case 'L':
        long_name = std::string(Field(data, 0, data.size()));
        continue;
      case 'g':
      case '5':
        continue;
      case '0':
      case '\0':
      case '7':
        break;
      case '1':
      case '2':
        return absl::InvalidArgumentError(absl::StrCat("links are not supported in a site archive: ", name));
      default:
        continue;  // devices, FIFOs, vendor extensions: nothing a website serves
    }
    absl::StatusOr<std::string> clean = CleanArchivePath(name);
    if (!clean.ok()) return clean.status();
    if (clean->empty()) continue;
    files.push_back(SiteFile{*std::move(clean), std::string(data)});
  }
  return files;
}

absl::StatusOr<std::vector<SiteFile>> ReadSiteArchive(absl::string_view tar_gz) {
  absl::StatusOr<std::string> tar = Gunzip(tar_gz);
  if (!tar.ok()) return tar.status();
  return ReadTar(*tar);
}

}  // namespace edgerouter::ctl
