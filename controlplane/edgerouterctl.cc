// edgerouterctl: operator CLI. `app validate` works offline; the other commands talk to the
// control plane's Admin service (--controlplane, $EDGEROUTER_CONTROLPLANE, 127.0.0.1:18000).
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "controlplane/edgerouterctl_validate.h"

namespace {

constexpr char kUsage[] =
    "usage: edgerouterctl [--controlplane=HOST:PORT] COMMAND\n"
    "  app validate [FILE|-]     validate one app or an applications.json, print it normalised\n";

// `bazel run` starts us in the runfiles tree; relative paths mean the caller's directory.
std::string ResolvePath(const std::string& path) {
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || path[0] == '/' || cwd == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

bool ReadInput(const std::string& path, std::string* text) {
  std::stringstream buffer;
  if (path.empty() || path == "-") {
    buffer << std::cin.rdbuf();
  } else {
    std::ifstream in(ResolvePath(path), std::ios::binary);
    if (!in) {
      std::cerr << "edgerouterctl: cannot read " << path << "\n";
      return false;
    }
    buffer << in.rdbuf();
  }
  *text = buffer.str();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 2 && args[0] == "app" && args[1] == "validate") {
    std::string text;
    if (!ReadInput(args.size() > 2 ? args[2] : "-", &text)) return 1;
    return edgerouter::ctl::ValidateAppsText(text, std::cout, std::cerr);
  }
  std::cerr << kUsage;
  return 2;
}
