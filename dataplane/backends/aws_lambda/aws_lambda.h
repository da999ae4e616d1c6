// The aws_lambda backend kind: the terminal hands the request to the connection's Lambda exchange
// (dataplane/aws/lambda_backend) with the function's config.
#ifndef EDGEROUTER_DATAPLANE_BACKENDS_AWS_LAMBDA_AWS_LAMBDA_H_
#define EDGEROUTER_DATAPLANE_BACKENDS_AWS_LAMBDA_AWS_LAMBDA_H_

#include "dataplane/pipeline/registry.h"

namespace edgerouter::backends {

absl::Status CompileAwsLambda(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                             pipeline::ChainBuilder* chain);

}  // namespace edgerouter::backends

#endif  // EDGEROUTER_DATAPLANE_BACKENDS_AWS_LAMBDA_AWS_LAMBDA_H_
