#include "common/log/log.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "common/json_escape.h"

namespace edgerouter::log {
namespace {

// Beyond this many keys the rate-limit windows start over (keys come from code, not requests,
// but a bound keeps a mistake from growing the map for ever).
constexpr size_t kMaxKeys = 4096;

bool NeedsQuotes(absl::string_view v) {
  if (v.empty()) return true;
  for (unsigned char c : v) {
    if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c == 0x7f) return true;
  }
  return false;
}

void AppendQuoted(std::string* out, absl::string_view v) {
  out->push_back('"');
  AppendJsonEscaped(out, v);
  out->push_back('"');
}

}  // namespace

absl::StatusOr<Level> ParseLevel(absl::string_view name) {
  const std::string n = absl::AsciiStrToLower(name);
  if (n == "debug") return Level::kDebug;
  if (n == "info") return Level::kInfo;
  if (n == "warn" || n == "warning") return Level::kWarn;
  if (n == "error") return Level::kError;
  return absl::InvalidArgumentError(absl::StrCat("log level \"", JsonEscape(name), "\": want debug, info, warn or error"));
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO";
    case Level::kWarn: return "WARN";
    case Level::kError: return "ERROR";
  }
  return "INFO";
}

void AppendValue(std::string* out, absl::string_view value) {
  if (NeedsQuotes(value)) {
    AppendQuoted(out, value);
  } else {
    out->append(value.data(), value.size());
  }
}

void AppendField(std::string* out, absl::string_view key, absl::string_view value) {
  out->push_back(' ');
  out->append(key.data(), key.size());
  out->push_back('=');
  AppendValue(out, value);
}

Logger::Logger(LoggerOptions options)
    : options_(std::move(options)),
      level_(static_cast<int>(options_.level)),
      writer_(options_.fd, options_.max_queued_bytes) {}

std::string Logger::Begin(Level level, absl::string_view msg) const {
  std::string line;
  line.reserve(128);
  if (options_.timestamps) {
    const absl::Time now = options_.clock ? options_.clock() : absl::Now();
    absl::StrAppend(&line, "ts=", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", now, absl::UTCTimeZone()), " ");
  }
  absl::StrAppend(&line, "level=", LevelName(level), " msg=");
  AppendQuoted(&line, msg);
  return line;
}

void Logger::Write(std::string line) {
  line.push_back('\n');
  writer_.Submit(line);
}

bool Logger::Admit(absl::string_view key, uint64_t* suppressed) {
  const absl::Time now = options_.clock ? options_.clock() : absl::Now();
  const int64_t second = absl::ToUnixSeconds(now);
  absl::MutexLock lock(&mu_);
  if (windows_.size() >= kMaxKeys && !windows_.contains(key)) windows_.clear();
  Window& w = windows_[key];
  if (w.second != second) {
    w.second = second;
    w.sent = 0;
  }
  if (w.sent >= options_.per_key_per_second) {
    ++w.suppressed;
    suppressed_total_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  ++w.sent;
  *suppressed = std::exchange(w.suppressed, 0);
  return true;
}

namespace {
Logger* default_logger = nullptr;
}

Logger& Default() {
  // Never destroyed: lines logged from static destructors and detached threads still have a
  // logger; exit() flushes it.
  static Logger* logger = [] {
    default_logger = new Logger(LoggerOptions{});
    std::atexit([] { default_logger->Flush(); });
    return default_logger;
  }();
  return *logger;
}

void SetLevel(Level level) { Default().set_level(level); }

void Flush() { Default().Flush(); }

Line::Line(Logger* logger, Level level, absl::string_view msg, uint64_t suppressed) : logger_(logger) {
  if (logger_ == nullptr) return;
  text_ = logger_->Begin(level, msg);
  if (suppressed > 0) absl::StrAppend(&text_, " suppressed=", suppressed);
}

Line::~Line() {
  if (logger_ != nullptr) logger_->Write(std::move(text_));
}

Line& Line::Ms(absl::string_view key, absl::Duration d) {
  if (logger_ != nullptr) {
    absl::StrAppend(&text_, " ", key, "=", absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(d)));
  }
  return *this;
}

Line Every(Logger& logger, Level level, absl::string_view key, absl::string_view msg) {
  uint64_t suppressed = 0;
  const bool on = logger.Enabled(level) && logger.Admit(key, &suppressed);
  return Line(on ? &logger : nullptr, level, msg, suppressed);
}

Line Every(Level level, absl::string_view key, absl::string_view msg) { return Every(Default(), level, key, msg); }

}  // namespace edgerouter::log
