#include "dataplane/proxy/access_log.h"

#include "absl/strings/str_cat.h"

namespace edgerouter::proxy {

std::string AccessLogMetrics(const AccessLogWriter* writer) {
  return absl::StrCat(
      "# HELP er_dp_access_log_dropped_lines_total Access-log lines dropped because the writer could not keep up.\n"
      "# TYPE er_dp_access_log_dropped_lines_total counter\n"
      "er_dp_access_log_dropped_lines_total ",
      writer != nullptr ? writer->dropped_lines() : 0, "\n");
}

}  // namespace edgerouter::proxy
