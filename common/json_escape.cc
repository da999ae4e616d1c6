#include "common/json_escape.h"

#include "absl/strings/str_cat.h"

namespace edgerouter {

void AppendJsonEscaped(std::string* out, absl::string_view in) {
  out->reserve(out->size() + in.size());
  for (unsigned char c : in) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppend(out, "\\u00", absl::Hex(c, absl::kZeroPad2));
        } else {
          *out += static_cast<char>(c);
        }
    }
  }
}

std::string JsonEscape(absl::string_view in) {
  std::string out;
  AppendJsonEscaped(&out, in);
  return out;
}

}  // namespace edgerouter
