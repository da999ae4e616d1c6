// Reads and writes protobuf messages as edgerouter (Go encoding/json) JSON.
//
// protobuf's own JSON mapping cannot do this: it writes lowerCamelCase names, has no notion of
// Go's `omitempty`, and its errors do not name the JSON path. This codec walks the descriptor:
// the JSON key is the proto field name (or its explicit json_name), keys match
// case-insensitively with an exact match preferred (as Go does), `(edgerouter.omitempty)` drops
// zero values on output and `(edgerouter.json_alias)` adds legacy input names.
#ifndef EDGEROUTER_COMMON_JSON_CODEC_H_
#define EDGEROUTER_COMMON_JSON_CODEC_H_

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"

namespace edgerouter {

using OrderedJson = nlohmann::ordered_json;

// One problem found while decoding, with the JSON path of the offending value
// (e.g. `frontends[0].hostname`).
struct FieldError {
  std::string path;
  std::string message;  // e.g. "unknown field", "expected string, got number"
  std::string ToString() const;
};

struct JsonDecodeOptions {
  // true: unknown keys are errors (user input). false: ignored (events read from a stream).
  bool reject_unknown_fields = true;
};

// Parses JSON text, reporting a syntax error with its line and column.
absl::StatusOr<OrderedJson> ParseJsonText(absl::string_view text);

// Decodes `json` into `message` (which is cleared first). Every problem is appended to
// `errors`, with paths prefixed by `path` ("" at the top level); decoding continues past errors.
void DecodeJson(const OrderedJson& json, const JsonDecodeOptions& options, absl::string_view path,
                google::protobuf::Message* message, std::vector<FieldError>* errors);

// Encodes `message` with Go's field order and omitempty rules.
OrderedJson EncodeJson(const google::protobuf::Message& message);

// `EncodeJson` rendered like Go's json.MarshalIndent(v, "", "  ").
std::string ToIndentedJson(const google::protobuf::Message& message);
// `EncodeJson` rendered compactly, like Go's json.Marshal.
std::string ToCompactJson(const google::protobuf::Message& message);

// Path helpers: JoinPath("a", "b") == "a.b"; JoinPath("", "b") == "b".
std::string JoinPath(absl::string_view parent, absl::string_view key);
std::string IndexPath(absl::string_view parent, size_t index);

}  // namespace edgerouter

#endif  // EDGEROUTER_COMMON_JSON_CODEC_H_
