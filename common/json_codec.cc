#include "common/json_codec.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <type_traits>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "proto/options.pb.h"

namespace edgerouter {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string JsonKey(const FieldDescriptor* field) {
  return field->has_json_name() ? field->json_name() : field->name();
}

bool OmitEmpty(const FieldDescriptor* field) {
  return field->options().GetExtension(edgerouter::omitempty);
}

// Go matches object keys to struct fields exactly first, then case-insensitively; legacy
// aliases are accepted the same way.
const FieldDescriptor* FindField(const Descriptor* descriptor, const std::string& key) {
  for (int i = 0; i < descriptor->field_count(); ++i) {
    if (JsonKey(descriptor->field(i)) == key) return descriptor->field(i);
  }
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (absl::EqualsIgnoreCase(JsonKey(field), key)) return field;
    for (const std::string& alias : field->options().GetRepeatedExtension(edgerouter::json_alias)) {
      if (absl::EqualsIgnoreCase(alias, key)) return field;
    }
  }
  return nullptr;
}

std::string TypeMismatch(const char* expected, const OrderedJson& got) {
  return absl::StrCat("expected ", expected, ", got ", got.type_name());
}

class Decoder {
 public:
  Decoder(const JsonDecodeOptions& options, std::vector<FieldError>* errors)
      : options_(options), errors_(errors) {}

  void DecodeMessage(const OrderedJson& json, const std::string& path, Message* message) {
    if (!json.is_object()) {
      Error(path, TypeMismatch("object", json));
      return;
    }
    const Descriptor* descriptor = message->GetDescriptor();
    for (const auto& [key, value] : json.items()) {
      const std::string child_path = JoinPath(path, key);
      const FieldDescriptor* field = FindField(descriptor, key);
      if (field == nullptr) {
        if (options_.reject_unknown_fields) Error(child_path, "unknown field");
        continue;
      }
      DecodeField(value, child_path, field, message);
    }
  }

 private:
  void Error(const std::string& path, std::string message) {
    errors_->push_back(FieldError{path, std::move(message)});
  }

  void DecodeField(const OrderedJson& value, const std::string& path, const FieldDescriptor* field,
                   Message* message) {
    const Reflection* reflection = message->GetReflection();
    reflection->ClearField(message, field);
    if (value.is_null()) return;  // Go leaves the field at its zero value.
    if (field->is_map()) {
      DecodeMap(value, path, field, message);
      return;
    }
    if (field->is_repeated()) {
      if (!value.is_array()) {
        Error(path, TypeMismatch("array", value));
        return;
      }
      for (size_t i = 0; i < value.size(); ++i) {
        AddRepeated(value[i], IndexPath(path, i), field, message);
      }
      return;
    }
    SetSingular(value, path, field, message);
  }

  void DecodeMap(const OrderedJson& value, const std::string& path, const FieldDescriptor* field,
                 Message* message) {
    if (!value.is_object()) {
      Error(path, TypeMismatch("object", value));
      return;
    }
    const FieldDescriptor* key_field = field->message_type()->map_key();
    const FieldDescriptor* value_field = field->message_type()->map_value();
    for (const auto& [key, item] : value.items()) {
      Message* entry = message->GetReflection()->AddMessage(message, field);
      if (key_field->cpp_type() != FieldDescriptor::CPPTYPE_STRING) {
        Error(path, "only string map keys are supported");
        return;
      }
      entry->GetReflection()->SetString(entry, key_field, key);
      if (!item.is_null()) SetSingular(item, JoinPath(path, key), value_field, entry);
    }
  }

  void SetSingular(const OrderedJson& value, const std::string& path, const FieldDescriptor* field,
                   Message* message) {
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      DecodeMessage(value, path, message->GetReflection()->MutableMessage(message, field));
      return;
    }
    if (std::optional<Scalar> scalar = DecodeScalar(value, path, field)) {
      Store(std::move(*scalar), field, message, /*add=*/false);
    }
  }

  void AddRepeated(const OrderedJson& value, const std::string& path, const FieldDescriptor* field,
                   Message* message) {
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Message* item = message->GetReflection()->AddMessage(message, field);
      if (!value.is_null()) DecodeMessage(value, path, item);
      return;
    }
    if (std::optional<Scalar> scalar = DecodeScalar(value, path, field)) {
      Store(std::move(*scalar), field, message, /*add=*/true);
    }
  }

  // A non-message field's value, checked to fit its type: Go's encoding/json refuses a number
  // its field cannot hold (5000000000 for a uint32, -1 for a uint, 1.5 for an int) instead of
  // truncating it, and so does this.
  struct EnumNumber {
    int value;
  };
  using Scalar = std::variant<std::string, bool, int32_t, int64_t, uint32_t, uint64_t, float, double, EnumNumber>;

  // Whether a JSON integer fits the signed type T (large unsigned ones are checked unsigned).
  template <typename T>
  static bool FitsSigned(const OrderedJson& value) {
    if (value.is_number_unsigned()) return value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    return value.get<int64_t>() >= std::numeric_limits<T>::min() && value.get<int64_t>() <= std::numeric_limits<T>::max();
  }

  std::optional<Scalar> DecodeScalar(const OrderedJson& value, const std::string& path,
                                     const FieldDescriptor* field) {
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING: {
        if (!value.is_string()) return Fail(path, TypeMismatch("string", value));
        if (field->type() != FieldDescriptor::TYPE_BYTES) return value.get<std::string>();
        std::string decoded;
        if (!absl::Base64Unescape(value.get<std::string>(), &decoded)) return Fail(path, "invalid base64");
        return decoded;
      }
      case FieldDescriptor::CPPTYPE_BOOL:
        if (!value.is_boolean()) return Fail(path, TypeMismatch("boolean", value));
        return value.get<bool>();
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64: {
        if (!value.is_number_integer()) return Fail(path, TypeMismatch("integer", value));
        const bool narrow = field->cpp_type() == FieldDescriptor::CPPTYPE_INT32;
        if (!(narrow ? FitsSigned<int32_t>(value) : FitsSigned<int64_t>(value))) {
          return OutOfRange(path, value, narrow ? "int32" : "int64");
        }
        if (narrow) return static_cast<int32_t>(value.get<int64_t>());
        return value.get<int64_t>();
      }
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64:
        if (!value.is_number_unsigned()) return Fail(path, TypeMismatch("unsigned integer", value));
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_UINT64) return value.get<uint64_t>();
        if (value.get<uint64_t>() > std::numeric_limits<uint32_t>::max()) return OutOfRange(path, value, "uint32");
        return static_cast<uint32_t>(value.get<uint64_t>());
      case FieldDescriptor::CPPTYPE_DOUBLE:
        if (!value.is_number()) return Fail(path, TypeMismatch("number", value));
        return value.get<double>();
      case FieldDescriptor::CPPTYPE_FLOAT:
        if (!value.is_number()) return Fail(path, TypeMismatch("number", value));
        // Past the midpoint between FLT_MAX and 2^128 a float would round to infinity; below it,
        // to FLT_MAX (Go writes that as 3.4028235e+38, a hair above FLT_MAX as a double).
        if (std::abs(value.get<double>()) >= 0x1.ffffffp127) {
          return OutOfRange(path, value, "float");
        }
        return static_cast<float>(value.get<double>());
      case FieldDescriptor::CPPTYPE_ENUM: {
        if (value.is_string()) {
          const auto* enum_value = field->enum_type()->FindValueByName(value.get<std::string>());
          if (enum_value == nullptr) return Fail(path, "unknown enum value");
          return EnumNumber{enum_value->number()};
        }
        if (!value.is_number_integer()) return Fail(path, TypeMismatch("string", value));
        if (!FitsSigned<int32_t>(value)) return OutOfRange(path, value, "enum");
        return EnumNumber{static_cast<int>(value.get<int64_t>())};
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        break;
    }
    return std::nullopt;
  }

  // Sets a singular field or appends to a repeated one.
  static void Store(Scalar scalar, const FieldDescriptor* field, Message* message, bool add) {
    const Reflection* r = message->GetReflection();
    std::visit(
        [&](auto&& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) {
            add ? r->AddString(message, field, std::move(v)) : r->SetString(message, field, std::move(v));
          } else if constexpr (std::is_same_v<T, bool>) {
            add ? r->AddBool(message, field, v) : r->SetBool(message, field, v);
          } else if constexpr (std::is_same_v<T, int32_t>) {
            add ? r->AddInt32(message, field, v) : r->SetInt32(message, field, v);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            add ? r->AddInt64(message, field, v) : r->SetInt64(message, field, v);
          } else if constexpr (std::is_same_v<T, uint32_t>) {
            add ? r->AddUInt32(message, field, v) : r->SetUInt32(message, field, v);
          } else if constexpr (std::is_same_v<T, uint64_t>) {
            add ? r->AddUInt64(message, field, v) : r->SetUInt64(message, field, v);
          } else if constexpr (std::is_same_v<T, float>) {
            add ? r->AddFloat(message, field, v) : r->SetFloat(message, field, v);
          } else if constexpr (std::is_same_v<T, double>) {
            add ? r->AddDouble(message, field, v) : r->SetDouble(message, field, v);
          } else {
            add ? r->AddEnumValue(message, field, v.value) : r->SetEnumValue(message, field, v.value);
          }
        },
        std::move(scalar));
  }

  std::nullopt_t Fail(const std::string& path, std::string message) {
    Error(path, std::move(message));
    return std::nullopt;
  }

  std::nullopt_t OutOfRange(const std::string& path, const OrderedJson& value, const char* type) {
    return Fail(path, absl::StrCat(value.dump(), " is out of range for ", type));
  }

  const JsonDecodeOptions& options_;
  std::vector<FieldError>* errors_;
};

OrderedJson EncodeSingular(const Message& message, const FieldDescriptor* field, int index);

OrderedJson EncodeMessage(const Message& message) {
  OrderedJson out = OrderedJson::object();
  const Descriptor* descriptor = message.GetDescriptor();
  const Reflection* r = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    const std::string key = JsonKey(field);
    if (field->is_map()) {
      if (r->FieldSize(message, field) == 0) {
        if (!OmitEmpty(field)) out[key] = nullptr;
        continue;
      }
      // Go writes map keys sorted.
      std::map<std::string, OrderedJson> sorted;
      const FieldDescriptor* value_field = field->message_type()->map_value();
      for (int j = 0; j < r->FieldSize(message, field); ++j) {
        const Message& entry = r->GetRepeatedMessage(message, field, j);
        const FieldDescriptor* key_field = field->message_type()->map_key();
        sorted[entry.GetReflection()->GetString(entry, key_field)] =
            EncodeSingular(entry, value_field, -1);
      }
      OrderedJson object = OrderedJson::object();
      for (auto& [k, v] : sorted) object[k] = std::move(v);
      out[key] = std::move(object);
    } else if (field->is_repeated()) {
      const int size = r->FieldSize(message, field);
      if (size == 0 && OmitEmpty(field)) continue;
      OrderedJson array = OrderedJson::array();
      for (int j = 0; j < size; ++j) array.push_back(EncodeSingular(message, field, j));
      out[key] = std::move(array);
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (!r->HasField(message, field)) {
        if (!OmitEmpty(field)) out[key] = nullptr;  // a nil pointer in Go
        continue;
      }
      out[key] = EncodeMessage(r->GetMessage(message, field));
    } else {
      if (OmitEmpty(field) && !r->HasField(message, field)) continue;  // proto3: zero = unset
      out[key] = EncodeSingular(message, field, -1);
    }
  }
  return out;
}

// index < 0: the singular field; otherwise element `index` of the repeated field.
OrderedJson EncodeSingular(const Message& message, const FieldDescriptor* field, int index) {
  const Reflection* r = message.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return EncodeMessage(rep ? r->GetRepeatedMessage(message, field, index)
                               : r->GetMessage(message, field));
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s = rep ? r->GetRepeatedString(message, field, index) : r->GetString(message, field);
      if (field->type() == FieldDescriptor::TYPE_BYTES) return absl::Base64Escape(s);
      return s;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      return rep ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field);
    case FieldDescriptor::CPPTYPE_INT32:
      return rep ? r->GetRepeatedInt32(message, field, index) : r->GetInt32(message, field);
    case FieldDescriptor::CPPTYPE_INT64:
      return rep ? r->GetRepeatedInt64(message, field, index) : r->GetInt64(message, field);
    case FieldDescriptor::CPPTYPE_UINT32:
      return rep ? r->GetRepeatedUInt32(message, field, index) : r->GetUInt32(message, field);
    case FieldDescriptor::CPPTYPE_UINT64:
      return rep ? r->GetRepeatedUInt64(message, field, index) : r->GetUInt64(message, field);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return rep ? r->GetRepeatedFloat(message, field, index) : r->GetFloat(message, field);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return rep ? r->GetRepeatedDouble(message, field, index) : r->GetDouble(message, field);
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* v = rep ? r->GetRepeatedEnum(message, field, index) : r->GetEnum(message, field);
      return v->name();
    }
  }
  return nullptr;
}

}  // namespace

std::string FieldError::ToString() const {
  return path.empty() ? message : absl::StrCat(path, ": ", message);
}

std::string JoinPath(absl::string_view parent, absl::string_view key) {
  if (parent.empty()) return std::string(key);
  return absl::StrCat(parent, ".", key);
}

std::string IndexPath(absl::string_view parent, size_t index) {
  return absl::StrCat(parent, "[", index, "]");
}

absl::StatusOr<OrderedJson> ParseJsonText(absl::string_view text) {
  // One parse that throws on bad input: the exception carries the failing byte offset, turned
  // into line:column so the operator can find it in their file. (Parsing quietly first and
  // again for the error cost every bad document two parses.)
  try {
    return OrderedJson::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    size_t line = 1, column = 1;
    const size_t end = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    for (size_t i = 0; i < end; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string what = e.what();
    // nlohmann's text is "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    const size_t colon = what.find(": ", what.find("column"));
    std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON at line ", line, ", column ", column, ": ", detail));
  } catch (const nlohmann::json::exception& e) {
    // Not a syntax error: e.g. a number too large for a double (out_of_range.406), which
    // carries no position. Found by app_config_fuzz: it used to escape as an exception and
    // end the process.
    std::string what = e.what();
    const size_t bracket = what.find("] ");
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON: ", bracket == std::string::npos ? what : what.substr(bracket + 2)));
  }
  return absl::InvalidArgumentError("invalid JSON");
}

void DecodeJson(const OrderedJson& json, const JsonDecodeOptions& options, absl::string_view path,
                google::protobuf::Message* message, std::vector<FieldError>* errors) {
  message->Clear();
  Decoder(options, errors).DecodeMessage(json, std::string(path), message);
}

OrderedJson EncodeJson(const google::protobuf::Message& message) { return EncodeMessage(message); }

std::string ToIndentedJson(const google::protobuf::Message& message) {
  return EncodeJson(message).dump(2);
}

std::string ToCompactJson(const google::protobuf::Message& message) {
  return EncodeJson(message).dump();
}

}  // namespace edgerouter
