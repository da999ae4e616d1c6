#include "controlplane/eventlog/eventhorizon/items.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/event_line.h"

namespace edgerouter::eventhorizon {
namespace {

using nlohmann::json;

json NullValue() { return json{{"NULL", true}}; }
json StringValue(std::string s) { return json{{"S", std::move(s)}}; }

bool IsNull(const json& v) { return v.is_object() && v.contains("NULL") && v["NULL"] == true; }

absl::StatusOr<events::v1::Event> ParseLine(const json& v, absl::string_view what) {
  if (!v.is_object() || !v.contains("S") || !v["S"].is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not a string"));
  }
  absl::StatusOr<events::v1::Event> e = ParseEventLine(v["S"].get<std::string>());
  if (!e.ok()) return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.status().message()));
  return e;
}

}  // namespace

json EncodeItem(const Item& item) {
  json out = json::object();
  out["s"] = StringValue(item.stream);
  out["v"] = json{{"N", absl::StrCat(item.version)}};
  out["meta_event"] = item.meta_event.has_value() ? StringValue(FormatEventLine(*item.meta_event)) : NullValue();
  if (item.events.empty()) {
    out["e"] = NullValue();
  } else {
    json list = json::array();
    for (const events::v1::Event& e : item.events) list.push_back(StringValue(FormatEventLine(e)));
    out["e"] = json{{"L", std::move(list)}};
  }
  return out;
}

absl::StatusOr<std::pair<std::string, int64_t>> DecodeKey(const json& a) {
  if (!a.is_object() || !a.contains("s") || !a["s"].is_object() || !a["s"].contains("S") ||
      !a["s"]["S"].is_string()) {
    return absl::InvalidArgumentError("item has no string attribute s");
  }
  int64_t version = 0;
  if (!a.contains("v") || !a["v"].is_object() || !a["v"].contains("N") || !a["v"]["N"].is_string() ||
      !absl::SimpleAtoi(a["v"]["N"].get<std::string>(), &version) || version < 0) {
    return absl::InvalidArgumentError("item has no non-negative integer attribute v");
  }
  return std::make_pair(a["s"]["S"].get<std::string>(), version);
}

absl::StatusOr<Item> DecodeItem(const json& a) {
  absl::StatusOr<std::pair<std::string, int64_t>> key = DecodeKey(a);
  if (!key.ok()) return key.status();
  Item item;
  item.stream = key->first;
  item.version = key->second;
  // A missing attribute reads as null, as aws-sdk-go's unmarshaller does.
  if (a.contains("meta_event") && !IsNull(a["meta_event"])) {
    absl::StatusOr<events::v1::Event> meta = ParseLine(a["meta_event"], "meta_event");
    if (!meta.ok()) return meta.status();
    item.meta_event = *std::move(meta);
  }
  if (a.contains("e") && !IsNull(a["e"])) {
    const json& e = a["e"];
    if (!e.is_object() || !e.contains("L") || !e["L"].is_array()) {
      return absl::InvalidArgumentError("e is neither a list nor null");
    }
    for (size_t i = 0; i < e["L"].size(); ++i) {
      absl::StatusOr<events::v1::Event> event = ParseLine(e["L"][i], absl::StrCat("e[", i, "]"));
      if (!event.ok()) return event.status();
      item.events.push_back(*std::move(event));
    }
  }
  if (item.meta_event.has_value() && !item.events.empty()) {
    return absl::InvalidArgumentError("item has both a meta event and events");
  }
  return item;
}

events::v1::Event StreamStartedEvent(absl::string_view parent) {
  return MakeSystemEvent(kStreamStarted, json{{"Parent", std::string(parent)}}.dump());
}

events::v1::Event ChildStreamCreatedEvent(absl::string_view child) {
  return MakeSystemEvent(kChildStreamCreated, json{{"Stream", std::string(child)}}.dump());
}

std::string ChildStreamOf(const events::v1::Event& meta) {
  if (meta.type() != kChildStreamCreated) return "";
  json payload = json::parse(meta.payload_json(), nullptr, false);
  if (!payload.is_object() || !payload.contains("Stream") || !payload["Stream"].is_string()) return "";
  return payload["Stream"].get<std::string>();
}

std::string ParentOf(absl::string_view stream) {
  if (stream == "/" || stream.empty()) return "";
  const size_t slash = stream.rfind('/');
  if (slash == 0 || slash == absl::string_view::npos) return "/";
  return std::string(stream.substr(0, slash));
}

}  // namespace edgerouter::eventhorizon
