#include "common/log/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace edgerouter::log {
namespace {

// A logger writing into a pipe, with a clock the test moves.
class PipeLogger {
 public:
  explicit PipeLogger(LoggerOptions options = {}) {
    EXPECT_EQ(pipe2(fds_, O_CLOEXEC), 0);
    options.fd = fds_[1];
    options.clock = [this] { return now_; };
    logger_ = std::make_unique<Logger>(std::move(options));
  }
  ~PipeLogger() {
    logger_.reset();
    close(fds_[0]);
    close(fds_[1]);
  }
  Logger& logger() { return *logger_; }
  void Advance(absl::Duration d) { now_ += d; }

  // Every line written so far (flushes first).
  std::vector<std::string> Lines() {
    EXPECT_TRUE(logger_->Flush());
    fcntl(fds_[0], F_SETFL, O_NONBLOCK);
    char buf[4096];
    for (ssize_t n; (n = read(fds_[0], buf, sizeof(buf))) > 0;) got_.append(buf, static_cast<size_t>(n));
    std::vector<std::string> lines = absl::StrSplit(got_, '\n', absl::SkipEmpty());
    return lines;
  }

 private:
  int fds_[2] = {-1, -1};
  absl::Time now_ = absl::FromCivil(absl::CivilSecond(2026, 12, 1, 2, 0, 0), absl::UTCTimeZone()) +
                     absl::Milliseconds(123);
  std::unique_ptr<Logger> logger_;
  std::string got_;
};

TEST(Logfmt, BareValuesStayBareOthersAreQuotedAndEscaped) {
  auto field = [](absl::string_view v) {
    std::string out;
    AppendField(&out, "k", v);
    return out;
  };
  EXPECT_EQ(field("v7"), " k=v7");
  EXPECT_EQ(field("SHA256:ab/cd"), " k=SHA256:ab/cd");
  EXPECT_EQ(field(""), " k=\"\"");
  EXPECT_EQ(field("two words"), " k=\"two words\"");
  EXPECT_EQ(field("a=b"), " k=\"a=b\"");
  EXPECT_EQ(field("say \"hi\""), " k=\"say \\\"hi\\\"\"");
  EXPECT_EQ(field("line\nbreak"), " k=\"line\\nbreak\"");
  EXPECT_EQ(field("back\\slash"), " k=\"back\\\\slash\"");
  EXPECT_EQ(field("tab\there"), " k=\"tab\\there\"");
  EXPECT_EQ(field(std::string("nul\0", 4)), " k=\"nul\\u0000\"");
}

TEST(Logger, WritesOneLogfmtLineWithTimeLevelQuotedMsgAndFields) {
  PipeLogger p;
  Line(&p.logger(), Level::kInfo, "config published").Kv("version", "v7").Kv("resources", 3).Kv("tls", true);
  Line(&p.logger(), Level::kWarn, "event skipped").Kv("reason", "bad \"json\"\nsecond line").Kv("ms", 1.5);
  std::vector<std::string> lines = p.Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "ts=2026-12-01T02:00:00.123Z level=INFO msg=\"config published\" version=v7 resources=3 tls=true");
  EXPECT_EQ(lines[1],
            "ts=2026-12-01T02:00:00.123Z level=WARN msg=\"event skipped\" reason=\"bad \\\"json\\\"\\nsecond line\" "
            "ms=1.5");
}

TEST(Logger, LinesBelowTheLevelAreNotWritten) {
  LoggerOptions o;
  o.level = Level::kWarn;
  o.timestamps = false;
  PipeLogger p(o);
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    Line(p.logger().Enabled(l) ? &p.logger() : nullptr, l, "x");
  }
  p.logger().set_level(Level::kDebug);
  Line(p.logger().Enabled(Level::kDebug) ? &p.logger() : nullptr, Level::kDebug, "y");
  EXPECT_EQ(p.Lines(), (std::vector<std::string>{"level=WARN msg=\"x\"", "level=ERROR msg=\"x\"",
                                                 "level=DEBUG msg=\"y\""}));
}

TEST(Logger, RateLimitedFormHoldsBackAndReportsTheCountWhenItResumes) {
  LoggerOptions o;
  o.per_key_per_second = 2;
  o.timestamps = false;
  PipeLogger p(o);
  for (int i = 0; i < 5; ++i) Every(p.logger(), Level::kWarn, "slow origin", "slow origin").Kv("i", i);
  Every(p.logger(), Level::kWarn, "other key", "other");  // its own budget
  EXPECT_EQ(p.logger().suppressed_lines(), 3u);
  p.Advance(absl::Seconds(1));
  Every(p.logger(), Level::kWarn, "slow origin", "slow origin").Kv("i", 5);
  Every(p.logger(), Level::kWarn, "slow origin", "slow origin").Kv("i", 6);
  EXPECT_EQ(p.Lines(), (std::vector<std::string>{
                           "level=WARN msg=\"slow origin\" i=0",
                           "level=WARN msg=\"slow origin\" i=1",
                           "level=WARN msg=\"other\"",
                           "level=WARN msg=\"slow origin\" suppressed=3 i=5",
                           "level=WARN msg=\"slow origin\" i=6",
                       }));
}

TEST(Levels, ParseNamesInAnyCaseAndRejectOthers) {
  EXPECT_EQ(*ParseLevel("DEBUG"), Level::kDebug);
  EXPECT_EQ(*ParseLevel("info"), Level::kInfo);
  EXPECT_EQ(*ParseLevel("Warning"), Level::kWarn);
  EXPECT_EQ(*ParseLevel("error"), Level::kError);
  absl::StatusOr<Level> bad = ParseLevel("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"loud\""), absl::string_view::npos);
}

}  // namespace
}  // namespace edgerouter::log
