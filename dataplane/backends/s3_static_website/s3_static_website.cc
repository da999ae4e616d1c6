#include "dataplane/backends/s3_static_website/s3_static_website.h"

#include <memory>

#include "absl/strings/strip.h"
#include "dataplane/aws/s3_site.h"

namespace edgerouter::backends {
namespace {

class S3StaticWebsite : public pipeline::Terminal {
 public:
  explicit S3StaticWebsite(aws::S3SiteConfig site) : site_(std::move(site)) {}
  absl::string_view kind() const override { return "s3_static_website"; }
  void Handle(pipeline::Exchange& exchange, const std::string& path) const override {
    exchange.StartS3(site_, path);
  }

 private:
  const aws::S3SiteConfig site_;
};

}  // namespace

absl::Status CompileS3StaticWebsite(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                                    pipeline::ChainBuilder* chain) {
  if (!backend.has_s3_static_website_opts()) return context.Required("s3_static_website_opts");
  const auto& o = backend.s3_static_website_opts();
  const pipeline::CompileContext opts = context.Inner("s3_static_website_opts");
  if (o.bucket_name().empty()) return opts.Required("bucket_name");
  if (o.region_id().empty()) return opts.Required("region_id");
  // deployed_version may be empty (nothing deployed yet: every request gets 404).
  return chain->SetTerminal(std::make_unique<S3StaticWebsite>(
      aws::S3SiteConfig{context.app_id, o.bucket_name(), o.region_id(), o.deployed_version(),
                        std::string(absl::StripPrefix(o.not_found_page(), "/"))}));
}

}  // namespace edgerouter::backends
