#include "dataplane/backends/unsupported/unsupported.h"

#include <memory>

#include "absl/strings/str_cat.h"

namespace edgerouter::backends {
namespace {

class Unsupported : public pipeline::Terminal {
 public:
  explicit Unsupported(const std::string& kind)
      : kind_(kind), body_(absl::StrCat("backend kind ", kind, " is not supported by this data plane yet\n")) {}
  absl::string_view kind() const override { return kind_; }
  void Handle(pipeline::Exchange& exchange, const std::string&) const override {
    exchange.SendLocal(502, "text/plain; charset=utf-8", body_);
  }

 private:
  const std::string kind_;
  const std::string body_;
};

}  // namespace

absl::Status CompileUnsupported(const pipeline::CompileContext&, const config::v1::Backend& backend,
                                pipeline::ChainBuilder* chain) {
  return chain->SetTerminal(std::make_unique<Unsupported>(backend.kind()));
}

}  // namespace edgerouter::backends
