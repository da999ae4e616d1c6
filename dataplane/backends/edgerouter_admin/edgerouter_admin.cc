#include "dataplane/backends/edgerouter_admin/edgerouter_admin.h"

#include <memory>

namespace edgerouter::backends {
namespace {

class EdgerouterAdmin : public pipeline::Terminal {
 public:
  absl::string_view kind() const override { return "edgerouter_admin"; }
  bool needs_admin_page() const override { return true; }
  void Handle(pipeline::Exchange& exchange, const std::string& path) const override {
    if (path == "/") {
      exchange.SendLocal(200, "text/html; charset=utf-8", exchange.AdminPage());
    } else {
      exchange.SendLocal(404, "text/plain; charset=utf-8", "404 page not found\n");
    }
  }
};

}  // namespace

absl::Status CompileEdgerouterAdmin(const pipeline::CompileContext&, const config::v1::Backend&,
                                    pipeline::ChainBuilder* chain) {
  return chain->SetTerminal(std::make_unique<EdgerouterAdmin>());  // no options
}

}  // namespace edgerouter::backends
