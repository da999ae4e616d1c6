// The turbocharger backend kind (turbocharger_opts.manifest): serves a site from an immutable
// manifest in the turbocharger store (docs/turbocharger.md). Manifests and files come from S3
// once, through the worker's AWS client, into the disk cache (dataplane/turbocharger); hot
// files are also kept in the worker's memory cache. Exact-path lookup, "/" -> index.html,
// /404.html with 404, gzip when accepted (q-values) else inflated, ETag "<id>" / "<id>-gz" with
// If-None-Match -> 304, Cache-Control immutable for assets and no-cache for HTML.
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_TURBOCHARGER_TURBOCHARGER_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_TURBOCHARGER_TURBOCHARGER_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "dataplane/aws/aws_context.h"
#include "dataplane/pipeline/registry.h"
#include "dataplane/turbocharger/attachment.h"
#include "dataplane/turbocharger/stats.h"

namespace edgerouter::backends {

absl::Status CompileTurbocharger(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                                 pipeline::ChainBuilder* chain);

// Serves `path` from manifest `manifest_id` as the turbocharger backend would (the middleware
// on reverse_proxy/aws_lambda uses it for requests under an attached prefix). `app`: the app's
// counters (TurbochargerAppStats). `on_start` runs first, on the worker's loop with its AWS
// context (aws_lambda starts its re-validation there).
void ServeFromManifest(pipeline::Exchange& exchange, turbocharger::AppStats* app, const std::string& manifest_id,
                       const std::string& path, std::function<void(aws::AwsWorkerContext&)> on_start = nullptr);

// The app's turbocharger counters (null without TURBOCHARGER_STORE). Compile thread.
turbocharger::AppStats* TurbochargerAppStats(const std::string& app_id);

// The middleware's re-validation answered (any thread): `status` 0 with `error` when the origin
// was unreachable. Feeds the attachment, counts the outcome and logs a reload or a detach.
void FinishRevalidation(const std::string& app_id, turbocharger::AppStats* app,
                        turbocharger::SharedAttachment& attachment, int status,
                        std::optional<absl::string_view> header, absl::string_view error);

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_TURBOCHARGER_TURBOCHARGER_H_
