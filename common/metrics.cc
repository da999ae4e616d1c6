#include "common/metrics.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace edgerouter::metrics {
namespace {

// Registration errors come from constant names, so they are fatal (see metrics.h).
[[noreturn]] void DieRegistering(absl::string_view name, absl::string_view why) {
  log::Error("metric not registered").Kv("name", name).Kv("error", why);
  log::Flush();  // the line must be out before the abort
  std::abort();
}

// [a-zA-Z_:][a-zA-Z0-9_:]* for metric names; label names additionally exclude ':'.
bool IsValidName(absl::string_view name, bool allow_colon) {
  if (name.empty() || absl::ascii_isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
           (allow_colon && c == ':');
  });
}

void ValidateFamily(absl::string_view name, const std::vector<std::string>& label_names) {
  if (!IsValidName(name, /*allow_colon=*/true)) DieRegistering(name, "invalid metric name");
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    // Names starting with "__" are reserved for Prometheus itself.
    if (!IsValidName(label, /*allow_colon=*/false) || label.rfind("__", 0) == 0) {
      DieRegistering(name, absl::StrCat("invalid label name \"", label, "\""));
    }
    if (std::find(label_names.begin(), label_names.begin() + i, label) !=
        label_names.begin() + i) {
      DieRegistering(name, absl::StrCat("duplicate label name \"", label, "\""));
    }
  }
}

// A gauge read at scrape time; it has no children to lock.
// An unlabelled family read at render time: a gauge, or a counter kept elsewhere (a total
// since start that another component owns).
class CallbackScalar final : public MetricFamily {
 public:
  CallbackScalar(std::string name, std::string help, const char* type, std::function<double()> callback)
      : MetricFamily(std::move(name), std::move(help), {}), type_(type), callback_(std::move(callback)) {}

 private:
  absl::string_view type() const override { return type_; }
  void AppendSamples(std::string* out) const override {
    absl::StrAppend(out, name(), " ", FormatValue(callback_()), "\n");
  }

  const char* type_;
  const std::function<double()> callback_;
};

}  // namespace

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == 0) return "0";  // also turns -0 into 0
  char buf[64];
  // Below 2^53 every integral double is exact, so print all its digits rather than 1e+06.
  const bool integral = std::trunc(value) == value && std::fabs(value) < 9007199254740992.0;
  const std::to_chars_result result =
      integral ? std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed)
               : std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, result.ptr);
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string EscapeHelp(absl::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

// --- MetricFamily -------------------------------------------------------------------------

MetricFamily::MetricFamily(std::string name, std::string help,
                           std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

bool MetricFamily::LabelsOk(const LabelValues& values) const {
  const bool ok = values.size() == label_names_.size();
  assert(ok && "label value count does not match the family's label names");
  return ok;
}

std::string MetricFamily::LabelString(const LabelValues& values, absl::string_view extra_name,
                                      absl::string_view extra_value) const {
  if (values.empty() && extra_name.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", label_names_[i], "=\"",
                    EscapeLabelValue(values[i]), "\"");
  }
  if (!extra_name.empty()) {
    absl::StrAppend(&out, values.empty() ? "" : ",", extra_name, "=\"",
                    EscapeLabelValue(extra_value), "\"");
  }
  out += "}";
  return out;
}

// --- Counter / Gauge ----------------------------------------------------------------------

ScalarFamily::ScalarFamily(std::string name, std::string help,
                           std::vector<std::string> label_names)
    : MetricFamily(std::move(name), std::move(help), std::move(label_names)) {
  // Scrapers expect an unlabelled metric to exist before its first update.
  if (this->label_names().empty()) values_.emplace(LabelValues{}, 0.0);
}

double ScalarFamily::Value(const LabelValues& labels) const {
  absl::MutexLock lock(&mu_);
  auto it = values_.find(labels);
  return it == values_.end() ? 0 : it->second;
}

void ScalarFamily::Remove(const LabelValues& labels) {
  if (labels.empty()) return;
  absl::MutexLock lock(&mu_);
  values_.erase(labels);
}

void ScalarFamily::Update(const LabelValues& labels, double value, bool add) {
  if (!LabelsOk(labels)) return;
  absl::MutexLock lock(&mu_);
  double& slot = values_[labels];
  slot = add ? slot + value : value;
}

void ScalarFamily::AppendSamples(std::string* out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [labels, value] : values_) {
    absl::StrAppend(out, name(), LabelString(labels), " ", FormatValue(value), "\n");
  }
}

void Counter::Inc(const LabelValues& labels, double delta) {
  const bool ok = delta >= 0;  // false for NaN too
  assert(ok && "counters cannot decrease");
  if (ok) Update(labels, delta, /*add=*/true);
}

void Gauge::Set(const LabelValues& labels, double value) { Update(labels, value, false); }
void Gauge::Add(const LabelValues& labels, double delta) { Update(labels, delta, true); }

// --- Histogram ----------------------------------------------------------------------------

Histogram::Histogram(std::string name, std::string help, std::vector<std::string> label_names,
                     std::vector<double> bounds)
    : MetricFamily(std::move(name), std::move(help), std::move(label_names)),
      bounds_(std::move(bounds)) {
  if (this->label_names().empty()) children_.emplace(LabelValues{}, NewChild());
}

void Histogram::Observe(const LabelValues& labels, double value) {
  if (!LabelsOk(labels)) return;
  // First bound >= value; NaN compares false with everything and lands in +Inf.
  const size_t bucket =
      std::isnan(value)
          ? bounds_.size()
          : std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  absl::MutexLock lock(&mu_);
  auto it = children_.find(labels);
  if (it == children_.end()) it = children_.emplace(labels, NewChild()).first;
  Child& child = it->second;
  ++child.counts[bucket];
  child.sum += value;
  ++child.count;
}

void Histogram::Remove(const LabelValues& labels) {
  if (labels.empty()) return;
  absl::MutexLock lock(&mu_);
  children_.erase(labels);
}

void Histogram::AppendSamples(std::string* out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [labels, child] : children_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += child.counts[i];
      const std::string le = i < bounds_.size() ? FormatValue(bounds_[i]) : "+Inf";
      absl::StrAppend(out, name(), "_bucket", LabelString(labels, "le", le), " ", cumulative,
                      "\n");
    }
    const std::string label_string = LabelString(labels);
    absl::StrAppend(out, name(), "_sum", label_string, " ", FormatValue(child.sum), "\n");
    absl::StrAppend(out, name(), "_count", label_string, " ", child.count, "\n");
  }
}

// --- MetricsRegistry ----------------------------------------------------------------------

template <typename T>
T* MetricsRegistry::Register(std::unique_ptr<T> family) {
  const MetricFamily& base = *family;  // type() is accessible through the base only
  ValidateFamily(base.name(), base.label_names());
  // Histograms also claim the _bucket/_sum/_count series, which must not clash with others.
  std::vector<std::string> names = {base.name()};
  if (base.type() == "histogram") {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      names.push_back(absl::StrCat(base.name(), suffix));
    }
  }
  absl::MutexLock lock(&mu_);
  for (const std::string& name : names) {
    if (std::find(sample_names_.begin(), sample_names_.end(), name) != sample_names_.end()) {
      DieRegistering(base.name(), absl::StrCat("\"", name, "\" is already registered"));
    }
  }
  sample_names_.insert(sample_names_.end(), names.begin(), names.end());
  T* raw = family.get();
  families_.push_back(std::move(family));
  return raw;
}

Counter* MetricsRegistry::AddCounter(std::string name, std::string help,
                                     std::vector<std::string> label_names) {
  return Register(std::unique_ptr<Counter>(
      new Counter(std::move(name), std::move(help), std::move(label_names))));
}

Gauge* MetricsRegistry::AddGauge(std::string name, std::string help,
                                 std::vector<std::string> label_names) {
  return Register(std::unique_ptr<Gauge>(
      new Gauge(std::move(name), std::move(help), std::move(label_names))));
}

Histogram* MetricsRegistry::AddHistogram(std::string name, std::string help,
                                         std::vector<std::string> label_names,
                                         std::vector<double> buckets) {
  if (!buckets.empty() && buckets.back() == std::numeric_limits<double>::infinity()) buckets.pop_back();
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (!std::isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1])) {
      DieRegistering(name, "buckets must be finite and strictly increasing");
    }
  }
  if (std::find(label_names.begin(), label_names.end(), "le") != label_names.end()) {
    DieRegistering(name, "\"le\" is reserved for histogram buckets");
  }
  return Register(std::unique_ptr<Histogram>(new Histogram(
      std::move(name), std::move(help), std::move(label_names), std::move(buckets))));
}

void MetricsRegistry::AddCallbackGauge(std::string name, std::string help,
                                       std::function<double()> callback) {
  if (!callback) DieRegistering(name, "empty callback");
  Register(std::make_unique<CallbackScalar>(std::move(name), std::move(help), "gauge", std::move(callback)));
}

void MetricsRegistry::AddCallbackCounter(std::string name, std::string help,
                                         std::function<double()> callback) {
  if (!callback) DieRegistering(name, "empty callback");
  if (!absl::EndsWith(name, "_total")) DieRegistering(name, "a counter's name must end in _total");
  Register(std::make_unique<CallbackScalar>(std::move(name), std::move(help), "counter", std::move(callback)));
}

void AppendFamilyHeader(std::string* out, absl::string_view name, absl::string_view type, absl::string_view help) {
  absl::StrAppend(out, "# HELP ", name, " ", EscapeHelp(help), "\n# TYPE ", name, " ", type, "\n");
}

std::string MetricsRegistry::Render() const {
  // Snapshot the (append-only) family list so callbacks and family locks run without mu_.
  std::vector<const MetricFamily*> families;
  {
    absl::MutexLock lock(&mu_);
    families.reserve(families_.size());
    for (const auto& family : families_) families.push_back(family.get());
  }
  std::string out;
  for (const MetricFamily* family : families) {
    AppendFamilyHeader(&out, family->name(), family->type(), family->help_);
    family->AppendSamples(&out);
  }
  return out;
}

}  // namespace edgerouter::metrics
