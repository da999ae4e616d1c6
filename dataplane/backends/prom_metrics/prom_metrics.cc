#include "dataplane/backends/prom_metrics/prom_metrics.h"

#include <memory>

namespace edgerouter::backends {
namespace {

class PromMetrics : public pipeline::Terminal {
 public:
  absl::string_view kind() const override { return "prom_metrics"; }
  bool needs_metrics_text() const override { return true; }
  void Handle(pipeline::Exchange& exchange, const std::string&) const override {
    std::shared_ptr<const std::string> text = exchange.MetricsText();
    exchange.SendLocal(200, "text/plain; version=0.0.4; charset=utf-8", text ? *text : std::string());
  }
};

}  // namespace

absl::Status CompilePromMetrics(const pipeline::CompileContext&, const config::v1::Backend&,
                                pipeline::ChainBuilder* chain) {
  return chain->SetTerminal(std::make_unique<PromMetrics>());  // no options
}

}  // namespace edgerouter::backends
