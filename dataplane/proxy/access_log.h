// The access log leaves the workers through the project's line writer (common/log/
// line_writer.h): a worker hands over the lines it gathered during a loop turn (a copy under a
// mutex, no syscall) and one writer thread does the blocking writes. The queue is bounded: when
// the target cannot keep up (a full disk, a FIFO nobody reads) whole batches are dropped and
// counted, and requests never wait for the log.
#ifndef EDGEROUTER_DATAPLANE_PROXY_ACCESS_LOG_H_
#define EDGEROUTER_DATAPLANE_PROXY_ACCESS_LOG_H_

#include <string>

#include "common/log/line_writer.h"

namespace edgerouter::proxy {

// `--access_log` target: "stdout" or a file path (see LineWriter::Open).
using AccessLogWriter = log::LineWriter;

// Prometheus text of the writer's drop counter (0 without an access log).
std::string AccessLogMetrics(const AccessLogWriter* writer);

}  // namespace edgerouter::proxy

#endif  // EDGEROUTER_DATAPLANE_PROXY_ACCESS_LOG_H_
