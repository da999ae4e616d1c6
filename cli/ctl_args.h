// Command-line parsing of edgerouterctl. Hand-rolled rather than absl flags because absl
// exits 1 on an unknown flag (we promise 2 for usage errors) and its flags are global, while
// ours belong to one command each (`--new` means nothing to `app ls`).
#ifndef EDGEROUTER_CLI_CTL_ARGS_H_
#define EDGEROUTER_CLI_CTL_ARGS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace edgerouter::ctl {

constexpr char kDefaultControlPlane[] = "127.0.0.1:18000";
constexpr char kControlPlaneEnv[] = "EDGEROUTER_CONTROLPLANE";

enum class Command {
  kAppValidate,
  kAppLs,
  kAppCat,
  kAppPut,
  kAppRm,
  kAppImport,
  kCompletion,
  kStreamRead,
  kStreamAppend,
  kSnapshotShow,
  kNodes,
  kTop,
  kDiscoveryErrors,
  kCertImport,
  kCertLs,
  kS3Mk,
  kS3Deploy,
  kS3Versions,
  kS3Rollback,
  kLambdaMk,
  kClusterStatus,
  kIpRulesPut,
  kIpRulesCat,
  kTurbochargerTarDeploy,
  kTurbochargerDownload,
  kTurbochargerDeploySite,
};

// -o / --output: a table for people (the default) or the Admin API's answer as JSON.
enum class Output { kTable, kJson };

struct Invocation {
  Command command = Command::kAppValidate;
  std::string name;                // e.g. "app put", used in error lines
  std::vector<std::string> args;   // positionals after the command words
  std::string controlplane;        // flag, else $EDGEROUTER_CONTROLPLANE, else the default
  bool help = false;               // --help / -h: print usage, nothing else
  bool version = false;            // --version: print the version, nothing else
  Output output = Output::kTable;  // -o table|json (listing commands)
  bool new_app = false;            // app put --new
  bool json = false;               // snapshot show --json
  bool include_secrets = false;    // snapshot show / stream read --include-secrets
  bool force = false;              // stream append --force
  bool versions = false;           // stream read --versions
  uint64_t after = 0;              // stream read --after
  // cert import --cert FULLCHAIN.pem --key KEY.pem --kek-public KEK.pub [--id ID]
  std::string cert_file, key_file, kek_public_file, cert_id;
  bool strip_path = false;         // s3 mk / lambda mk --strip-path (-s)
};

// Parses argv[1..]. `env_controlplane` is $EDGEROUTER_CONTROLPLANE (nullptr when unset).
// Flags may stand anywhere; `--` ends them, and a lone `-` is a positional (stdin).
// On a usage error returns false with a one-line reason in `error`.
bool ParseArgs(const std::vector<std::string>& argv, const char* env_controlplane,
               Invocation* out, std::string* error);

// Full usage text, one line per command.
std::string UsageText();

// `completion bash`: a bash completion script for the command words and their flags, made from
// the same command table the parser uses, so the two cannot drift apart.
std::string BashCompletion();

}  // namespace edgerouter::ctl

#endif  // EDGEROUTER_CLI_CTL_ARGS_H_
