// The s3_static_website backend kind: the terminal hands the request to the connection's S3
// exchange (dataplane/aws/s3_site) with the site's config.
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_S3_STATIC_WEBSITE_S3_STATIC_WEBSITE_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_S3_STATIC_WEBSITE_S3_STATIC_WEBSITE_H_

#include "dataplane/pipeline/registry.h"

namespace edgerouter::backends {

absl::Status CompileS3StaticWebsite(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                                   pipeline::ChainBuilder* chain);

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_S3_STATIC_WEBSITE_S3_STATIC_WEBSITE_H_
