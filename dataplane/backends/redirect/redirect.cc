#include "dataplane/backends/redirect/redirect.h"

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace edgerouter::backends {
namespace {

class Redirect : public pipeline::Terminal {
 public:
  explicit Redirect(std::string to) : to_(std::move(to)) {}
  absl::string_view kind() const override { return "redirect"; }
  void Handle(pipeline::Exchange& exchange, const std::string&) const override {
    // As Go's http.Redirect: a relative target is resolved against the request path.
    if (!absl::StrContains(to_, "://") && !absl::StartsWith(to_, "/")) {
      const absl::string_view path = exchange.raw_path();
      exchange.SendRedirect(302, absl::StrCat(path.substr(0, path.rfind('/') + 1), to_));
      return;
    }
    exchange.SendRedirect(302, to_);
  }

 private:
  const std::string to_;
};

}  // namespace

absl::Status CompileRedirect(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                             pipeline::ChainBuilder* chain) {
  if (!backend.has_redirect_opts()) return context.Required("redirect_opts");
  if (backend.redirect_opts().to().empty()) return context.Inner("redirect_opts").Required("to");
  return chain->SetTerminal(std::make_unique<Redirect>(backend.redirect_opts().to()));
}

}  // namespace edgerouter::backends
