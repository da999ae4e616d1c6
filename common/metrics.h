// A small thread-safe Prometheus metrics registry for the control plane, rendered in the text
// exposition format 0.0.4. Every update takes a per-family mutex, so it is not meant for the
// data-plane hot path.
//
// Registration mistakes (invalid or duplicate names, unsorted buckets) abort at startup: the
// names are constants, so failing fast beats serving a broken /metrics. A label-value count that
// does not match the family's label names is a programming error too, but it happens at runtime:
// it asserts in debug builds and the update is dropped otherwise.
#ifndef EDGEROUTER_COMMON_METRICS_H_
#define EDGEROUTER_COMMON_METRICS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace edgerouter::metrics {

// Label values in the order of the family's label names.
using LabelValues = std::vector<std::string>;

// Common part of every metric family (one # HELP / # TYPE block).
class MetricFamily {
 public:
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;
  virtual ~MetricFamily() = default;

  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 protected:
  MetricFamily(std::string name, std::string help, std::vector<std::string> label_names);

  // False (and an assert in debug builds) when `values` does not match label_names().
  bool LabelsOk(const LabelValues& values) const;
  // `{a="x",b="y"}` (or "" with no labels); `extra` is appended as one more pair, e.g. le.
  std::string LabelString(const LabelValues& values, absl::string_view extra_name = {},
                          absl::string_view extra_value = {}) const;

 private:
  friend class MetricsRegistry;
  virtual absl::string_view type() const = 0;
  virtual void AppendSamples(std::string* out) const = 0;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
};

// Shared storage of Counter and Gauge: one double per label-value combination.
class ScalarFamily : public MetricFamily {
 public:
  // Current value, 0 for a child that does not exist.
  double Value(const LabelValues& labels = {}) const;
  // Forgets a child (e.g. a node that disconnected); unlabelled families keep their sample.
  void Remove(const LabelValues& labels);

 protected:
  ScalarFamily(std::string name, std::string help, std::vector<std::string> label_names);
  void Update(const LabelValues& labels, double value, bool add);

 private:
  void AppendSamples(std::string* out) const override;

  mutable absl::Mutex mu_;
  // std::map keeps children sorted by label values, which is the rendered order.
  std::map<LabelValues, double> values_ ABSL_GUARDED_BY(mu_);
};

class Counter final : public ScalarFamily {
 public:
  // Counters only go up: a negative or NaN delta is a programming error (assert, else dropped).
  void Inc(const LabelValues& labels = {}, double delta = 1);

 private:
  friend class MetricsRegistry;
  using ScalarFamily::ScalarFamily;
  absl::string_view type() const override { return "counter"; }
};

class Gauge final : public ScalarFamily {
 public:
  void Set(const LabelValues& labels, double value);
  void Add(const LabelValues& labels, double delta);

 private:
  friend class MetricsRegistry;
  using ScalarFamily::ScalarFamily;
  absl::string_view type() const override { return "gauge"; }
};

class Histogram final : public MetricFamily {
 public:
  // A value counts in every bucket whose upper bound is >= value; NaN only in +Inf.
  void Observe(const LabelValues& labels, double value);
  void Remove(const LabelValues& labels);

 private:
  friend class MetricsRegistry;
  struct Child {
    std::vector<uint64_t> counts;  // per bucket, not cumulative; the last one is +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Histogram(std::string name, std::string help, std::vector<std::string> label_names,
            std::vector<double> bounds);
  absl::string_view type() const override { return "histogram"; }
  void AppendSamples(std::string* out) const override;
  Child NewChild() const { return Child{std::vector<uint64_t>(bounds_.size() + 1, 0)}; }

  const std::vector<double> bounds_;  // finite, strictly increasing; +Inf is implicit
  mutable absl::Mutex mu_;
  std::map<LabelValues, Child> children_ ABSL_GUARDED_BY(mu_);
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The returned pointers live as long as the registry. Unlabelled families render a 0 sample
  // from the start; labelled ones render a child once it is first updated.
  Counter* AddCounter(std::string name, std::string help,
                      std::vector<std::string> label_names = {});
  Gauge* AddGauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  // `buckets` are the finite upper bounds, strictly increasing; +Inf is added (a trailing +Inf
  // given here is accepted and not duplicated). "le" is not allowed as a label name.
  Histogram* AddHistogram(std::string name, std::string help,
                          std::vector<std::string> label_names, std::vector<double> buckets);
  // An unlabelled gauge whose value is read at every Render(). The callback runs with no
  // registry lock held, so it may take its own locks; it must be safe to call from any thread.
  void AddCallbackGauge(std::string name, std::string help, std::function<double()> callback);
  // The same for a count that only goes up (rendered as a counter); the name ends in _total.
  void AddCallbackCounter(std::string name, std::string help, std::function<double()> callback);

  // Text exposition format 0.0.4 (Content-Type "text/plain; version=0.0.4; charset=utf-8"):
  // families in registration order, children sorted by label values.
  std::string Render() const;

 private:
  template <typename T>
  T* Register(std::unique_ptr<T> family);

  mutable absl::Mutex mu_;
  // Append-only, so raw pointers handed out (and snapshotted by Render) stay valid.
  std::vector<std::unique_ptr<MetricFamily>> families_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> sample_names_ ABSL_GUARDED_BY(mu_);  // for collision checks
};

// Prometheus number syntax: integers without exponent ("3", "-2"), other values in the
// shortest form that round-trips ("0.25", "1e-05"), and "NaN", "+Inf", "-Inf".
std::string FormatValue(double value);

// "# HELP <name> <help>\n# TYPE <name> <type>\n", help escaped: the one writer of family headers
// (the control plane's registry and the data plane's tables).
void AppendFamilyHeader(std::string* out, absl::string_view name, absl::string_view type, absl::string_view help);

// Escaping of the text format: label values escape \, " and newline; HELP escapes \ and newline.
std::string EscapeLabelValue(absl::string_view value);
std::string EscapeHelp(absl::string_view help);

}  // namespace edgerouter::metrics

#endif  // EDGEROUTER_COMMON_METRICS_H_
