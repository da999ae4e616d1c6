#include "common/metrics.h"

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace edgerouter::metrics {
namespace {

TEST(FormatValue, IntegersWithoutExponentOthersShortest) {
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(-2), "-2");
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(-0.0), "0");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(1e6), "1000000");
  EXPECT_EQ(FormatValue(1e-5), "1e-05");
  EXPECT_EQ(FormatValue(1e20), "1e+20");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(Escape, LabelValueAndHelp) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeHelp("a\\b\"c\nd"), "a\\\\b\"c\\nd");  // quotes stay as they are in HELP
}

TEST(MetricsRegistry, Counter) {
  MetricsRegistry registry;
  Counter* plain = registry.AddCounter("er_reloads_total", "Config reloads.");
  Counter* requests = registry.AddCounter("er_requests_total", "Requests served.", {"node"});
  EXPECT_EQ(registry.Render(),
            "# HELP er_reloads_total Config reloads.\n"
            "# TYPE er_reloads_total counter\n"
            "er_reloads_total 0\n"
            "# HELP er_requests_total Requests served.\n"
            "# TYPE er_requests_total counter\n");

  plain->Inc();
  requests->Inc({"node-2"});
  requests->Inc({"node-1"}, 2);
  requests->Inc({"node-2"}, 0.5);
  EXPECT_EQ(requests->Value({"node-2"}), 1.5);
  EXPECT_EQ(requests->Value({"node-3"}), 0);
  EXPECT_EQ(registry.Render(),
            "# HELP er_reloads_total Config reloads.\n"
            "# TYPE er_reloads_total counter\n"
            "er_reloads_total 1\n"
            "# HELP er_requests_total Requests served.\n"
            "# TYPE er_requests_total counter\n"
            "er_requests_total{node=\"node-1\"} 2\n"
            "er_requests_total{node=\"node-2\"} 1.5\n");

  requests->Remove({"node-1"});
  EXPECT_EQ(registry.Render(),
            "# HELP er_reloads_total Config reloads.\n"
            "# TYPE er_reloads_total counter\n"
            "er_reloads_total 1\n"
            "# HELP er_requests_total Requests served.\n"
            "# TYPE er_requests_total counter\n"
            "er_requests_total{node=\"node-2\"} 1.5\n");
}

TEST(MetricsRegistry, GaugeWithEscapedLabels) {
  MetricsRegistry registry;
  Gauge* gauge = registry.AddGauge("er_app_rules", "Rules per app.\nPath is C:\\apps.",
                                   {"app", "kind"});
  gauge->Set({"b", "x"}, 7);
  gauge->Set({"a\\b\"c\nd", "y"}, 3);
  gauge->Add({"a\\b\"c\nd", "y"}, -0.75);
  gauge->Add({"new", "z"}, 1e6);
  EXPECT_EQ(registry.Render(),
            "# HELP er_app_rules Rules per app.\\nPath is C:\\\\apps.\n"
            "# TYPE er_app_rules gauge\n"
            "er_app_rules{app=\"a\\\\b\\\"c\\nd\",kind=\"y\"} 2.25\n"
            "er_app_rules{app=\"b\",kind=\"x\"} 7\n"
            "er_app_rules{app=\"new\",kind=\"z\"} 1000000\n");
}

TEST(MetricsRegistry, Histogram) {
  MetricsRegistry registry;
  Histogram* latency = registry.AddHistogram("er_push_seconds", "Snapshot push latency.",
                                             {"node"}, {0.125, 0.5, 1});
  // Binary fractions so the sum is exact; 0.125 sits on a bound, which is inclusive.
  for (double v : {0.0625, 0.125, 0.25, 2.0}) latency->Observe({"n1"}, v);
  latency->Observe({"n0"}, 0.75);
  EXPECT_EQ(registry.Render(),
            "# HELP er_push_seconds Snapshot push latency.\n"
            "# TYPE er_push_seconds histogram\n"
            "er_push_seconds_bucket{node=\"n0\",le=\"0.125\"} 0\n"
            "er_push_seconds_bucket{node=\"n0\",le=\"0.5\"} 0\n"
            "er_push_seconds_bucket{node=\"n0\",le=\"1\"} 1\n"
            "er_push_seconds_bucket{node=\"n0\",le=\"+Inf\"} 1\n"
            "er_push_seconds_sum{node=\"n0\"} 0.75\n"
            "er_push_seconds_count{node=\"n0\"} 1\n"
            "er_push_seconds_bucket{node=\"n1\",le=\"0.125\"} 2\n"
            "er_push_seconds_bucket{node=\"n1\",le=\"0.5\"} 3\n"
            "er_push_seconds_bucket{node=\"n1\",le=\"1\"} 3\n"
            "er_push_seconds_bucket{node=\"n1\",le=\"+Inf\"} 4\n"
            "er_push_seconds_sum{node=\"n1\"} 2.4375\n"
            "er_push_seconds_count{node=\"n1\"} 4\n");
}

TEST(MetricsRegistry, UnlabelledHistogramAndTrailingInf) {
  MetricsRegistry registry;
  Histogram* h = registry.AddHistogram("er_build_seconds", "Build time.", {},
                                       {1, std::numeric_limits<double>::infinity()});
  h->Observe({}, std::numeric_limits<double>::quiet_NaN());  // counted in +Inf only
  EXPECT_EQ(registry.Render(),
            "# HELP er_build_seconds Build time.\n"
            "# TYPE er_build_seconds histogram\n"
            "er_build_seconds_bucket{le=\"1\"} 0\n"
            "er_build_seconds_bucket{le=\"+Inf\"} 1\n"
            "er_build_seconds_sum NaN\n"
            "er_build_seconds_count 1\n");
}

TEST(MetricsRegistry, CallbackGaugeIsReadAtRender) {
  MetricsRegistry registry;
  Counter* events = registry.AddCounter("er_events_total", "Events applied.");
  int connected = 2;
  registry.AddCallbackGauge("er_nodes_connected", "Connected data planes.",
                            [&] { return connected; });
  // A callback may read other families: Render holds no lock while calling it.
  registry.AddCallbackGauge("er_events_doubled", "Twice the events.",
                            [events] { return 2 * events->Value(); });
  events->Inc({}, 4);
  const std::string head =
      "# HELP er_events_total Events applied.\n"
      "# TYPE er_events_total counter\n"
      "er_events_total 4\n"
      "# HELP er_nodes_connected Connected data planes.\n"
      "# TYPE er_nodes_connected gauge\n";
  const std::string tail =
      "# HELP er_events_doubled Twice the events.\n"
      "# TYPE er_events_doubled gauge\n"
      "er_events_doubled 8\n";
  EXPECT_EQ(registry.Render(), head + "er_nodes_connected 2\n" + tail);
  connected = 5;
  EXPECT_EQ(registry.Render(), head + "er_nodes_connected 5\n" + tail);
}

TEST(MetricsRegistry, CallbackCounterIsTypedCounterAndNamedTotal) {
  MetricsRegistry registry;
  double builds = 3;
  registry.AddCallbackCounter("er_builds_total", "Builds since start.", [&] { return builds; });
  EXPECT_EQ(registry.Render(),
            "# HELP er_builds_total Builds since start.\n# TYPE er_builds_total counter\ner_builds_total 3\n");
  EXPECT_DEATH(registry.AddCallbackCounter("er_builds", "No suffix.", [] { return 0.0; }), "_total");
}

TEST(MetricsRegistry, ConcurrentUpdatesAndRenders) {
  MetricsRegistry registry;
  Counter* counter = registry.AddCounter("er_ops_total", "Ops.", {"worker"});
  Histogram* hist = registry.AddHistogram("er_op_seconds", "Op time.", {}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        counter->Inc({t % 2 == 0 ? "even" : "odd"});
        hist->Observe({}, 0.5);
        if (i % 100 == 0) registry.Render();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter->Value({"even"}), 2000);
  EXPECT_EQ(counter->Value({"odd"}), 2000);
  EXPECT_NE(registry.Render().find("er_op_seconds_count 4000\n"), std::string::npos);
}

TEST(MetricsRegistryDeathTest, RegistrationMistakesAbort) {
  MetricsRegistry registry;
  registry.AddCounter("er_x_total", "X.");
  EXPECT_DEATH(registry.AddGauge("er_x_total", "Again."), "already registered");
  registry.AddHistogram("er_lat", "Latency.", {}, {1});
  EXPECT_DEATH(registry.AddCounter("er_lat_count", "Clash."), "already registered");
  EXPECT_DEATH(registry.AddCounter("1bad", "Bad."), "invalid metric name");
  EXPECT_DEATH(registry.AddCounter("er_y", "Y.", {"a-b"}), "invalid label name");
  EXPECT_DEATH(registry.AddCounter("er_y", "Y.", {"a", "a"}), "duplicate label name");
  EXPECT_DEATH(registry.AddHistogram("er_h", "H.", {}, {1, 0.5}), "strictly increasing");
  EXPECT_DEATH(registry.AddHistogram("er_h", "H.", {"le"}, {1}), "reserved");
}

TEST(MetricsRegistryDeathTest, WrongLabelCountAssertsInDebugAndIsDroppedOtherwise) {
  MetricsRegistry registry;
  Counter* counter = registry.AddCounter("er_z_total", "Z.", {"node"});
  EXPECT_DEBUG_DEATH(counter->Inc({"a", "b"}), "label value count");
  EXPECT_DEBUG_DEATH(counter->Inc({"a"}, -1), "cannot decrease");
  EXPECT_EQ(counter->Value({"a"}), 0);
}

}  // namespace
}  // namespace edgerouter::metrics
