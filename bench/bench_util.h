// Small helpers every benchmark binary uses.
#ifndef EDGEROUTER_BENCH_BENCH_UTIL_H_
#define EDGEROUTER_BENCH_BENCH_UTIL_H_

#include <sys/types.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

namespace edgerouter::bench {

// Nearest-rank percentile (p in [0, 1]) of `v`; `v` must not be empty.
inline double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

// Resident set size of `pid` in KiB (-1 if unknown).
inline long RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace edgerouter::bench

#endif  // EDGEROUTER_BENCH_BENCH_UTIL_H_
