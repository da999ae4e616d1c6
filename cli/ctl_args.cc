#include "cli/ctl_args.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace edgerouter::ctl {
namespace {

// Which per-command flags a command accepts.
enum FlagBit : unsigned {
  kNew = 1, kJson = 2, kVersions = 4, kAfter = 8, kCert = 16, kStripPath = 32, kIncludeSecrets = 64, kForce = 128,
  kOutput = 256
};

struct CommandSpec {
  Command command;
  const char* name;  // the command words
  int min_args;
  int max_args;
  unsigned flags;
  const char* synopsis;
  const char* help;
};

constexpr CommandSpec kCommands[] = {
    {Command::kAppValidate, "app validate", 0, 1, 0, "[FILE|-]",
     "validate one app or an applications.json offline, print it normalised"},
    {Command::kAppLs, "app ls", 0, 0, kOutput, "[-o json]", "list apps: ID, frontends, backend"},
    {Command::kAppCat, "app cat", 1, 1, 0, "ID", "print one app as JSON"},
    {Command::kAppPut, "app put", 0, 1, kNew, "[--new] [FILE|-]",
     "create (--new) or update an app from JSON"},
    {Command::kAppRm, "app rm", 1, 1, 0, "ID", "delete an app"},
    {Command::kAppImport, "app import", 0, 1, kOutput, "[-o json] [FILE|-]",
     "upsert every app of an applications.json in one append; print the ones left out"},
    {Command::kStreamRead, "stream read", 1, 1, kAfter | kVersions | kIncludeSecrets,
     "STREAM [--after V] [--versions] [--include-secrets]",
     "print the event lines after version V (secrets redacted unless asked for)"},
    {Command::kStreamAppend, "stream append", 2, 2, kForce, "[--force] STREAM LINE",
     "append one event line (checked unless --force), print the new version"},
    {Command::kSnapshotShow, "snapshot show", 0, 0, kJson | kIncludeSecrets | kOutput,
     "[-o json] [--include-secrets]",
     "summary (or JSON) of the snapshot served to data planes (secrets redacted unless asked for)"},
    {Command::kNodes, "nodes", 0, 0, kOutput, "[-o json]",
     "data-plane nodes: versions acknowledged, NACKs, and their latest report (traffic, origins, certificates)"},
    {Command::kTop, "top", 0, 0, kOutput, "[-o json]", "busiest apps over the fleet, failing origins, certificates by expiry"},
    {Command::kDiscoveryErrors, "discovery errors", 0, 0, kOutput, "[-o json]",
     "what a source offered but is not routed, and why (bad labels, no address, stale engine)"},
    {Command::kCertImport, "cert import", 0, 0, kCert,
     "--cert FULLCHAIN.pem --key KEY.pem --kek-public KEK.pub [--id ID]",
     "encrypt the key for the KEK, publish the certificate on the certbus stream"},
    {Command::kCertLs, "cert ls", 0, 0, kOutput, "[-o json]", "list certificates: ID, domains, expiry, status"},
    {Command::kS3Mk, "s3 mk", 5, 5, kStripPath, "[--strip-path] APP HOSTNAME PATH BUCKET REGION",
     "create an s3_static_website app (nothing deployed yet)"},
    {Command::kS3Deploy, "s3 deploy", 3, 3, 0, "APP VERSION SITE.tar.gz",
     "upload a site version, then switch the app to it atomically"},
    {Command::kS3Versions, "s3 versions", 1, 1, 0, "APP", "list the deployed versions of a site (* = live)"},
    {Command::kS3Rollback, "s3 rollback", 2, 2, 0, "APP VERSION", "switch a site back to a deployed version"},
    {Command::kLambdaMk, "lambda mk", 5, 5, kStripPath, "[--strip-path] APP HOSTNAME PATH FUNCTION REGION",
     "create an aws_lambda app (payload format 2.0)"},
    {Command::kClusterStatus, "cluster status", 0, 0, kOutput, "[-o json]",
     "every replica of --controlplane=H:P,H:P,...: log, leases, stream heads, nodes on each"},
    {Command::kIpRulesPut, "iprules put", 0, 1, 0, "[FILE|-]",
     "check an ip-rules.hcl and publish it on the loadbalancer stream (empty: withdraw)"},
    {Command::kIpRulesCat, "iprules cat", 0, 0, 0, "", "print the IP rules the snapshot holds, as HCL"},
    {Command::kTurbochargerTarDeploy, "turbocharger tar-deploy-to-store", 1, 1, 0, "PROJECT < SITE.tar",
     "upload a tar (any compression) to $TURBOCHARGER_STORE, print the manifest id"},
    {Command::kTurbochargerDownload, "turbocharger download-from-store", 1, 1, 0, "MANIFEST_ID",
     "write a stored site's files under the current directory"},
    {Command::kTurbochargerDeploySite, "turbocharger deploy-site-from-store", 2, 2, 0, "APP MANIFEST_ID",
     "switch a turbocharger app to a stored manifest (deploy or rollback)"},
    {Command::kCompletion, "completion", 1, 1, 0, "bash",
     "print a bash completion script (source it, or install it in bash-completion's directory)"},
};

// Splits "--name=value" into name and value; `has_value` tells "--x=" from "--x".
void SplitFlag(absl::string_view arg, std::string* name, std::string* value, bool* has_value) {
  size_t eq = arg.find('=');
  *has_value = eq != absl::string_view::npos;
  *name = std::string(arg.substr(0, eq));
  *value = *has_value ? std::string(arg.substr(eq + 1)) : "";
}

}  // namespace

std::string UsageText() {
  std::string out =
      "usage: edgerouterctl [--controlplane=HOST:PORT[,HOST:PORT...]] COMMAND [ARGS]\n"
      "       edgerouterctl --version\n"
      "  (defaults to $EDGEROUTER_CONTROLPLANE, else 127.0.0.1:18000; with several replicas,\n"
      "  commands use the first one and `cluster status` asks them all)\n";
  for (const CommandSpec& spec : kCommands) {
    std::string call = absl::StrCat(spec.name, *spec.synopsis ? " " : "", spec.synopsis);
    absl::StrAppend(&out, absl::StrFormat("  %-45s %s\n", call, spec.help));
  }
  return out;
}

std::string BashCompletion() {
  // First words, the second words under each, and each command's flags.
  std::vector<std::pair<std::string, std::string>> firsts;  // word, its second words
  std::string flags;
  for (const CommandSpec& spec : kCommands) {
    absl::string_view name = spec.name;
    const size_t space = name.find(' ');
    std::string first(name.substr(0, space));
    auto it = std::find_if(firsts.begin(), firsts.end(), [&](const auto& f) { return f.first == first; });
    if (it == firsts.end()) it = firsts.insert(firsts.end(), {first, ""});
    if (space != absl::string_view::npos) absl::StrAppend(&it->second, " ", name.substr(space + 1));
    std::string spec_flags;
    for (absl::string_view token : absl::StrSplit(spec.synopsis, absl::ByAnyChar(" []|"), absl::SkipEmpty())) {
      if (absl::StartsWith(token, "-") && token != "-") absl::StrAppend(&spec_flags, " ", token);
    }
    if (!spec_flags.empty()) absl::StrAppend(&flags, "    \"", name, "\") flags=\"", spec_flags.substr(1), "\" ;;\n");
  }
  std::string first_words, seconds;
  for (const auto& [first, second] : firsts) {
    absl::StrAppend(&first_words, first, " ");
    if (!second.empty()) absl::StrAppend(&seconds, "      ", first, ") words=(", second.substr(1), ") ;;\n");
  }
  return absl::StrCat(
      "# bash completion for edgerouterctl (edgerouterctl completion bash)\n"
      "_edgerouterctl() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} words=() flags=\"\" i cmd=()\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    case ${COMP_WORDS[i]} in\n"
      "      -o|--output|--controlplane|--after|--cert|--key|--kek-public|--id) ((i++)) ;;\n"
      "      -*) ;;\n"
      "      *) cmd+=(\"${COMP_WORDS[i]}\") ;;\n"
      "    esac\n"
      "  done\n"
      "  case ${COMP_WORDS[COMP_CWORD-1]} in\n"
      "    -o|--output) COMPREPLY=($(compgen -W \"table json\" -- \"$cur\")); return ;;\n"
      "  esac\n"
      "  if ((${#cmd[@]} == 0)); then\n"
      "    words=(", first_words, "--controlplane --version --help)\n"
      "  elif ((${#cmd[@]} == 1)); then\n"
      "    case ${cmd[0]} in\n", seconds,
      "    esac\n"
      "  fi\n"
      "  case \"${cmd[*]:0:2}\" in\n", flags,
      "  esac\n"
      "  [[ ${cmd[0]:-} == completion && ${#cmd[@]} == 1 ]] && words+=(bash)\n"
      "  case $cur in\n"
      "    -*) COMPREPLY=($(compgen -W \"$flags --controlplane\" -- \"$cur\")) ;;\n"
      "    *) COMPREPLY=($(compgen -W \"${words[*]}\" -- \"$cur\")) ;;\n"
      "  esac\n"
      "  ((${#COMPREPLY[@]})) || COMPREPLY=($(compgen -f -- \"$cur\"))\n"
      "}\n"
      "complete -F _edgerouterctl edgerouterctl\n");
}

bool ParseArgs(const std::vector<std::string>& argv, const char* env_controlplane,
               Invocation* out, std::string* error) {
  *out = Invocation();
  std::vector<std::string> positional;
  std::string controlplane, after;
  bool have_after = false;
  unsigned seen = 0;
  bool flags_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      out->help = true;
      return true;
    }
    if (arg == "--version") {
      out->version = true;
      return true;
    }
    std::string name, value;
    bool has_value;
    SplitFlag(arg, &name, &value, &has_value);
    // Flags taking a value accept both "--x=v" and "--x v".
    auto take_value = [&](std::string* dest) {
      if (!has_value) {
        if (i + 1 >= argv.size()) {
          *error = absl::StrCat(name, " needs a value");
          return false;
        }
        value = argv[++i];
      }
      *dest = value;
      return true;
    };
    if (name == "--controlplane") {
      if (!take_value(&controlplane)) return false;
      if (controlplane.empty()) {
        *error = "--controlplane must not be empty";
        return false;
      }
    } else if (name == "-o" || name == "--output") {
      std::string format;
      if (!take_value(&format)) return false;
      if (format != "json" && format != "table") {
        *error = absl::StrCat(name, ": unknown output format ", format, " (table or json)");
        return false;
      }
      out->output = format == "json" ? Output::kJson : Output::kTable;
      seen |= kOutput;
    } else if (name == "--after") {
      if (!take_value(&after)) return false;
      have_after = true;
      seen |= kAfter;
    } else if (name == "--cert" || name == "--key" || name == "--kek-public" || name == "--id") {
      std::string* dest = name == "--cert"  ? &out->cert_file
                          : name == "--key" ? &out->key_file
                          : name == "--id"  ? &out->cert_id
                                            : &out->kek_public_file;
      if (!take_value(dest)) return false;
      seen |= kCert;
    } else if ((name == "--strip-path" || name == "-s") && !has_value) {
      seen |= kStripPath;
    } else if (name == "--include-secrets" && !has_value) {
      seen |= kIncludeSecrets;
    } else if (name == "--force" && !has_value) {
      seen |= kForce;
    } else if ((name == "--new" || name == "--json" || name == "--versions") && !has_value) {
      seen |= name == "--new" ? kNew : name == "--json" ? kJson : kVersions;
    } else {
      *error = absl::StrCat("unknown flag ", name);
      return false;
    }
  }

  const CommandSpec* spec = nullptr;
  size_t words = 0;
  for (const CommandSpec& candidate : kCommands) {
    absl::string_view cname = candidate.name;
    size_t space = cname.find(' ');
    size_t n = space == absl::string_view::npos ? 1 : 2;
    if (positional.size() < n) continue;
    std::string given = n == 1 ? positional[0] : positional[0] + " " + positional[1];
    if (given == cname) {
      spec = &candidate;
      words = n;
      break;
    }
  }
  if (spec == nullptr) {
    *error = positional.empty() ? "no command given"
                                : absl::StrCat("unknown command ", positional[0],
                                               positional.size() > 1 ? " " + positional[1] : "");
    return false;
  }
  out->command = spec->command;
  out->name = spec->name;
  out->args.assign(positional.begin() + words, positional.end());
  int nargs = static_cast<int>(out->args.size());
  if (nargs < spec->min_args || nargs > spec->max_args) {
    *error = absl::StrCat(spec->name, ": wrong number of arguments (usage: ", spec->name,
                          *spec->synopsis ? " " : "", spec->synopsis, ")");
    return false;
  }
  if (unsigned extra = seen & ~spec->flags; extra != 0) {
    const char* flag = extra & kNew    ? "--new"
                       : extra & kJson ? "--json"
                       : extra & kVersions ? "--versions"
                       : extra & kAfter    ? "--after"
                       : extra & kStripPath ? "--strip-path"
                       : extra & kIncludeSecrets ? "--include-secrets"
                       : extra & kForce ? "--force"
                       : extra & kOutput ? "-o"
                                            : "--cert/--key/--kek-public/--id";
    *error = absl::StrCat(spec->name, " does not take ", flag);
    return false;
  }
  if (have_after && !absl::SimpleAtoi(after, &out->after)) {
    *error = absl::StrCat("--after: not a version: ", after);
    return false;
  }
  if (spec->command == Command::kCertImport &&
      (out->cert_file.empty() || out->key_file.empty() || out->kek_public_file.empty())) {
    *error = "cert import needs --cert, --key and --kek-public";
    return false;
  }
  if (spec->command == Command::kCompletion && out->args[0] != "bash") {
    *error = absl::StrCat("completion: unknown shell ", out->args[0], " (bash)");
    return false;
  }
  out->new_app = seen & kNew;
  // snapshot show --json predates -o json and stays as its synonym.
  out->json = (seen & kJson) || out->output == Output::kJson;
  out->versions = seen & kVersions;
  out->strip_path = seen & kStripPath;
  out->include_secrets = seen & kIncludeSecrets;
  out->force = seen & kForce;
  if (!controlplane.empty()) {
    out->controlplane = controlplane;
  } else if (env_controlplane != nullptr && *env_controlplane != '\0') {
    out->controlplane = env_controlplane;
  } else {
    out->controlplane = kDefaultControlPlane;
  }
  return true;
}

}  // namespace edgerouter::ctl
