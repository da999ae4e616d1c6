#include "common/turbocharger/manifest.h"

#include <openssl/sha.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace edgerouter::turbocharger {
namespace {

// Go's encoding/json string form: <, >, & and U+2028/U+2029 as \u escapes, control characters
// as \n \r \t or \u00XX, invalid UTF-8 as U+FFFD. Paths come from tar names, so any byte can
// occur; the id must match what edgerouter computes for the same manifest.
void AppendGoJsonString(absl::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out->push_back('\\');
        out->push_back(static_cast<char>(c));
      } else if (c == '\n') {
        out->append("\\n");
      } else if (c == '\r') {
        out->append("\\r");
      } else if (c == '\t') {
        out->append("\\t");
      } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xf]);
      } else {
        out->push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    // A multi-byte sequence: copy it when it is valid UTF-8, else one U+FFFD for the byte.
    size_t n = 0;
    uint32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 2, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 3, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4, cp = c & 0x07;
    }
    bool valid = n != 0 && i + n <= s.size();
    for (size_t k = 1; valid && k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) valid = false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (valid && ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))) {
      valid = false;
    }
    if (!valid) {
      out->append("\\ufffd");
      ++i;
    } else if (cp == 0x2028 || cp == 0x2029) {
      out->append(cp == 0x2028 ? "\\u2028" : "\\u2029");
      i += n;
    } else {
      out->append(s.data() + i, n);
      i += n;
    }
  }
  out->push_back('"');
}

}  // namespace

ObjectId ObjectId::ForContent(absl::string_view bytes) {
  ObjectId id;
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), id.hash_.data());
  return id;
}

absl::StatusOr<ObjectId> ObjectId::Parse(absl::string_view text) {
  if (text.size() != kStringLength) {
    return absl::InvalidArgumentError(absl::StrCat("invalid length for ObjectID; got ", text.size()));
  }
  std::string raw;
  if (!absl::WebSafeBase64Unescape(text, &raw) || raw.size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat("ObjectID is not base64url of 32 bytes: ", text));
  }
  ObjectId id;
  std::copy(raw.begin(), raw.end(), id.hash_.begin());
  // Only the canonical spelling (the last character's unused bits zero) names an object.
  if (id.ToString() != text) return absl::InvalidArgumentError(absl::StrCat("ObjectID is not canonical: ", text));
  return id;
}

std::string ObjectId::ToString() const {
  return absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<const char*>(hash_.data()), hash_.size()));
}

const std::string* Manifest::Find(absl::string_view path) const {
  auto it = std::lower_bound(files.begin(), files.end(), path,
                             [](const ManifestFile& f, absl::string_view p) { return f.path < p; });
  if (it == files.end() || it->path != path) return nullptr;
  return &it->id;
}

std::string SerializeManifest(const Manifest& m) {
  std::string out = "{\"metadata\":{\"project\":";
  AppendGoJsonString(m.project, &out);
  out += ",\"deployed\":";
  AppendGoJsonString(m.deployed, &out);
  out += "},\"files\":[";
  for (size_t i = 0; i < m.files.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"path\":";
    AppendGoJsonString(m.files[i].path, &out);
    out += ",\"id\":";
    AppendGoJsonString(m.files[i].id, &out);
    out += '}';
  }
  out += "]}";
  return out;
}

absl::StatusOr<Manifest> ParseManifest(absl::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return absl::InvalidArgumentError("manifest: not a JSON object");
  Manifest m;
  auto string_at = [](const nlohmann::json& o, const char* key, std::string* out) {
    auto it = o.find(key);
    if (it == o.end() || !it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
  };
  auto meta = doc.find("metadata");
  if (meta == doc.end() || !meta->is_object() || !string_at(*meta, "project", &m.project) ||
      !string_at(*meta, "deployed", &m.deployed)) {
    return absl::InvalidArgumentError("manifest: metadata.project and metadata.deployed are required strings");
  }
  auto files = doc.find("files");
  if (files == doc.end() || !files->is_array() || files->empty()) {
    return absl::InvalidArgumentError("manifest: files: deployment doesn't have files");
  }
  for (size_t i = 0; i < files->size(); ++i) {
    const nlohmann::json& f = (*files)[i];
    ManifestFile file;
    if (!f.is_object() || !string_at(f, "path", &file.path) || !string_at(f, "id", &file.id)) {
      return absl::InvalidArgumentError(absl::StrCat("manifest: files[", i, "]: path and id are required strings"));
    }
    if (!absl::StartsWith(file.path, "/")) {
      return absl::InvalidArgumentError(absl::StrCat("manifest: files[", i, "]: path must start with /: ", file.path));
    }
    if (absl::Status s = ObjectId::Parse(file.id).status(); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("manifest: files[", i, "] (", file.path, "): ", s.message()));
    }
    if (!m.files.empty() && !(m.files.back().path < file.path)) {
      return absl::InvalidArgumentError(
          absl::StrCat("manifest: files[", i, "]: paths are not sorted and unique at ", file.path));
    }
    m.files.push_back(std::move(file));
  }
  return m;
}

absl::StatusOr<Manifest> MakeManifest(std::string project, absl::Time deployed, std::vector<ManifestFile> files) {
  if (files.empty()) return absl::InvalidArgumentError("deployment doesn't have files");
  std::sort(files.begin(), files.end(), [](const ManifestFile& a, const ManifestFile& b) { return a.path < b.path; });
  for (size_t i = 1; i < files.size(); ++i) {
    if (files[i].path == files[i - 1].path) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate path ", files[i].path));
    }
  }
  return Manifest{std::move(project), GoRfc3339Nano(deployed), std::move(files)};
}

std::string GoRfc3339Nano(absl::Time t) {
  std::string out = absl::FormatTime("%Y-%m-%dT%H:%M:%E9S", t, absl::UTCTimeZone());
  // Go's RFC3339Nano drops trailing zeros of the fraction, and the dot with them.
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return out + "Z";
}

bool ExpectedToCompressWell(absl::string_view path) {
  const size_t slash = path.rfind('/');
  const absl::string_view base = slash == absl::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = base.rfind('.');
  if (dot == absl::string_view::npos) return false;
  const std::string ext = absl::AsciiStrToLower(base.substr(dot));
  return ext == ".js" || ext == ".map" || ext == ".css" || ext == ".html" || ext == ".json" || ext == ".xml" ||
         ext == ".svg" || ext == ".txt";
}

std::string FileKey(absl::string_view id) { return absl::StrCat("turbocharger/files/", id); }
std::string ManifestKey(absl::string_view id) { return absl::StrCat("turbocharger/manifests/", id); }

absl::StatusOr<StoreLocation> ParseStoreLocation(absl::string_view text) {
  absl::string_view rest = text;
  if (!absl::ConsumePrefix(&rest, "s3://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("TURBOCHARGER_STORE: only s3://<region>/<bucket> is supported, got ", text));
  }
  std::vector<std::string> parts = absl::StrSplit(rest, '/');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    return absl::InvalidArgumentError(absl::StrCat("TURBOCHARGER_STORE: want s3://<region>/<bucket>, got ", text));
  }
  return StoreLocation{parts[0], parts[1]};
}

}  // namespace edgerouter::turbocharger
