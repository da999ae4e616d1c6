// The JSON string escaper: what goes between the quotes of a JSON string, and of a quoted
// logfmt value (common/log). One escaper for both, so a value reads the same in either.
#ifndef EDGEROUTER_COMMON_JSON_ESCAPE_H_
#define EDGEROUTER_COMMON_JSON_ESCAPE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace edgerouter {

// Escapes " and \ as \" and \\, \n \r \t by name, other control bytes (and DEL) as \u00XX.
// Other bytes, UTF-8 included, are kept as they are.
void AppendJsonEscaped(std::string* out, absl::string_view in);
std::string JsonEscape(absl::string_view in);

}  // namespace edgerouter

#endif  // EDGEROUTER_COMMON_JSON_ESCAPE_H_
