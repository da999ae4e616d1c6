#include "controlplane/eventlog/eventhorizon/eventhorizon_cli.h"

#include <ostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/event_line.h"
#include "controlplane/eventlog/eventhorizon/config.h"
#include "controlplane/eventlog/eventhorizon/eventhorizon_event_log.h"
#include "controlplane/eventlog/eventhorizon/items.h"

namespace edgerouter::eventhorizon {
namespace {

constexpr char kUsage[] =
    "usage: edgerouterctl eventhorizon COMMAND (EVENTHORIZON=<prod|dev>:<tenant>:<keyId>:<secret>:<region>)\n"
    "  bootstrap                create the <env>_eh_events table if needed, then streams / and /_sub\n"
    "  stream-create PATH       create stream PATH (its parent must exist)\n"
    "  read STREAM VERSION      print the entries after VERSION (-1 = from the beginning)\n"
    "  append STREAM LINE       append one event line: \"<ts> <Type> <userId> <impersonator> <backdate> <JSON>\"\n";

int Fail(std::ostream& err, const absl::Status& s) {
  err << "edgerouterctl eventhorizon: " << s.message() << "\n";
  return 1;
}

}  // namespace

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string& command = args[0];
  const size_t want = command == "bootstrap" ? 1 : command == "stream-create" ? 2 : command == "read" || command == "append" ? 3 : 0;
  if (want == 0 || args.size() != want) {
    err << "edgerouterctl eventhorizon: "
        << (want == 0 ? absl::StrCat("unknown command \"", command, "\"")
                      : absl::StrCat(command, " takes ", want - 1, " argument(s), got ", args.size() - 1))
        << "\n"
        << kUsage;
    return 2;
  }
  int64_t after = 0;
  if (command == "read" && !absl::SimpleAtoi(args[2], &after)) {
    err << "edgerouterctl eventhorizon: read: version \"" << args[2] << "\" is not an integer\n";
    return 2;
  }
  absl::StatusOr<Config> config = ConfigFromEnvironment();
  if (!config.ok()) return Fail(err, config.status());
  std::unique_ptr<EventHorizonEventLog> log = EventHorizonEventLog::Create(*config, EventLogOptions());
  Store* store = log->store();

  if (command == "bootstrap") {
    if (absl::Status s = store->CreateTable(); !s.ok()) return Fail(err, s);
    if (absl::Status s = store->Bootstrap(); !s.ok()) return Fail(err, s);
    out << "table " << store->table() << " is active; streams / and /_sub exist\n";
    return 0;
  }
  if (command == "stream-create") {
    if (absl::Status s = controlplane::ValidateStreamName(args[1]); !s.ok()) return Fail(err, s);
    if (absl::Status s = store->CreateStream(args[1]); !s.ok()) return Fail(err, s);
    out << "created " << args[1] << (store->transactions_supported() ? "" : " (without a transaction: the endpoint has none)")
        << "\n";
    return 0;
  }
  if (command == "read") {
    absl::StatusOr<std::vector<nlohmann::json>> items = store->ReadAll(args[1], after);
    if (!items.ok()) return Fail(err, items.status());
    for (const nlohmann::json& raw : *items) {
      absl::StatusOr<Item> item = DecodeItem(raw);
      absl::StatusOr<std::pair<std::string, int64_t>> key = DecodeKey(raw);
      const std::string where = key.ok() ? absl::StrCat(key->first, "@", key->second) : args[1] + "@?";
      if (!item.ok()) {
        out << where << " MALFORMED: " << item.status().message() << "\n";
        continue;
      }
      out << where << (item->meta_event.has_value() ? " meta" : "") << "\n";
      if (item->meta_event.has_value()) out << "  " << FormatEventLine(*item->meta_event) << "\n";
      for (const events::v1::Event& e : item->events) out << "  " << FormatEventLine(e) << "\n";
    }
    return 0;
  }
  // append
  absl::StatusOr<events::v1::Event> event = ParseEventLine(args[2]);
  if (!event.ok()) return Fail(err, event.status());
  absl::StatusOr<uint64_t> version = log->Append(args[1], {*event}, std::nullopt);
  if (!version.ok()) return Fail(err, version.status());
  out << args[1] << "@" << *version << "\n";
  return 0;
}

}  // namespace edgerouter::eventhorizon
