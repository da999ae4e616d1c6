// The process log of both binaries: one logfmt line per event on stderr,
//   ts=2026-12-06T02:10:00.123Z level=INFO msg="config published" version=v7 resources=3
// `msg` is always quoted (so `grep 'msg="…"'` finds a line whatever its words); other values are
// quoted only when they need it (empty, or holding a space, '=', '"', '\' or a control byte), and
// quoted values are escaped like JSON strings (common/json_escape.h), so a value never breaks
// the line. Lines are formatted on the calling thread and written by a writer thread through a
// bounded queue (line_writer.h): a slow stderr never blocks a worker, overflow is dropped and
// counted. Per-request warnings use the rate-limited form (`Every`).
//
//   log::Info("config published").Kv("version", v).Kv("resources", n);
//   log::Every(log::Level::kWarn, "tls handshake failed", "tls handshake failed").Kv("reason", r);
//
// The line is emitted when the temporary ends (end of the statement); below the level it costs
// one comparison per call and no formatting.
#ifndef EDGEROUTER_COMMON_LOG_LOG_H_
#define EDGEROUTER_COMMON_LOG_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/log/line_writer.h"

namespace edgerouter::log {

enum class Level : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn" (or "warning"), "error", any case.
absl::StatusOr<Level> ParseLevel(absl::string_view name);
const char* LevelName(Level level);  // "DEBUG", "INFO", "WARN", "ERROR"

// Appends `value` as a logfmt value: bare when it can be, else quoted and escaped.
void AppendValue(std::string* out, absl::string_view value);
// Appends " key=value".
void AppendField(std::string* out, absl::string_view key, absl::string_view value);

struct LoggerOptions {
  int fd = 2;
  Level level = Level::kInfo;
  size_t max_queued_bytes = 1 << 20;
  // The rate-limited form: lines per key per second.
  int per_key_per_second = 5;
  bool timestamps = true;
  std::function<absl::Time()> clock;  // default absl::Now
};

class Logger {
 public:
  explicit Logger(LoggerOptions options);

  bool Enabled(Level level) const {
    return static_cast<int>(level) >= level_.load(std::memory_order_relaxed);
  }
  void set_level(Level level) { level_.store(static_cast<int>(level), std::memory_order_relaxed); }

  // Starts a line: "ts=… level=… msg=…" (empty if the level is off).
  std::string Begin(Level level, absl::string_view msg) const;
  // Queues a whole line (a '\n' is added).
  void Write(std::string line);
  // The rate limit of `Every`: whether a line under `key` may go out now; when it may, sets
  // *suppressed to the lines held back under that key since the last one that went out.
  bool Admit(absl::string_view key, uint64_t* suppressed);

  bool Flush(absl::Duration timeout = absl::Seconds(2)) { return writer_.Flush(timeout); }
  uint64_t dropped_lines() const { return writer_.dropped_lines(); }
  uint64_t suppressed_lines() const { return suppressed_total_.load(std::memory_order_relaxed); }

 private:
  struct Window {
    int64_t second = 0;
    int sent = 0;
    uint64_t suppressed = 0;  // held back and not yet reported
  };

  const LoggerOptions options_;
  std::atomic<int> level_;
  LineWriter writer_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Window> windows_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> suppressed_total_{0};
};

// The process logger (stderr). Created on first use; flushed at exit().
Logger& Default();
// Sets the default logger's level.
void SetLevel(Level level);
// Waits (bounded) until the default logger's queued lines are written: before _exit, abort, or
// handing stderr to someone else.
void Flush();

// One line under construction; emitted by the destructor.
class Line {
 public:
  // logger null: discarded. `suppressed` > 0 adds "suppressed=K" after msg.
  Line(Logger* logger, Level level, absl::string_view msg, uint64_t suppressed = 0);
  Line(Line&&) = delete;
  ~Line();

  Line& Kv(absl::string_view key, absl::string_view value) {
    if (logger_ != nullptr) AppendField(&text_, key, value);
    return *this;
  }
  Line& Kv(absl::string_view key, const char* value) { return Kv(key, absl::string_view(value ? value : "")); }
  Line& Kv(absl::string_view key, const std::string& value) { return Kv(key, absl::string_view(value)); }
  Line& Kv(absl::string_view key, bool value) { return Kv(key, absl::string_view(value ? "true" : "false")); }
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
  Line& Kv(absl::string_view key, T value) {
    if (logger_ != nullptr) absl::StrAppend(&text_, " ", key, "=", value);
    return *this;
  }
  // A duration in milliseconds with 3 decimals.
  Line& Ms(absl::string_view key, absl::Duration d);

 private:
  Logger* logger_;
  std::string text_;
};

inline Line At(Level level, absl::string_view msg) {
  Logger& l = Default();
  return Line(l.Enabled(level) ? &l : nullptr, level, msg);
}
inline Line Debug(absl::string_view msg) { return At(Level::kDebug, msg); }
inline Line Info(absl::string_view msg) { return At(Level::kInfo, msg); }
inline Line Warn(absl::string_view msg) { return At(Level::kWarn, msg); }
inline Line Error(absl::string_view msg) { return At(Level::kError, msg); }

// The rate-limited form, for what requests can trigger: at most LoggerOptions::per_key_per_second
// lines per `key` per second; the first line after some were held back says `suppressed=K`.
Line Every(Level level, absl::string_view key, absl::string_view msg);
Line Every(Logger& logger, Level level, absl::string_view key, absl::string_view msg);

}  // namespace edgerouter::log

#endif  // EDGEROUTER_COMMON_LOG_LOG_H_
