#include "cli/ctl_aws_commands.h"

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/app_config.h"
#include "common/aws/aws_request.h"
#include "cli/ctl_s3_http.h"
#include "cli/site_archive.h"
#include "grpcpp/grpcpp.h"

namespace edgerouter::ctl {
namespace {

constexpr int kUploadThreads = 4;

bool GetS3App(const Invocation& inv, admin::v1::Admin::StubInterface* stub, const std::string& id,
              config::v1::Application* app, std::ostream& err) {
  return GetAppOfKind(inv, stub, id, "s3_static_website", app, err);
}

std::string MarkerKey(const std::string& app, const std::string& version) {
  return absl::StrCat("sites/", app, "/", version, ".deployment.json");
}

// A version becomes part of an S3 key prefix: keep it to one plain path segment.
bool ValidVersion(const std::string& v) {
  if (v.empty() || v == "." || v == "..") return false;
  for (char c : v) {
    if (!(absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '+')) return false;
  }
  return true;
}

int Make(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& err) {
  config::v1::Application app;
  app.set_id(inv.args[0]);
  config::v1::Frontend* f = app.add_frontends();
  f->set_kind("hostname");
  f->set_hostname(inv.args[1]);
  f->set_path_prefix(inv.args[2]);
  f->set_strip_path_prefix(inv.strip_path);
  config::v1::Backend* b = app.mutable_backend();
  if (inv.command == Command::kS3Mk) {
    b->set_kind("s3_static_website");
    b->mutable_s3_static_website_opts()->set_bucket_name(inv.args[3]);
    b->mutable_s3_static_website_opts()->set_region_id(inv.args[4]);
  } else {
    b->set_kind("aws_lambda");
    b->mutable_aws_lambda_opts()->set_function_name(inv.args[3]);
    b->mutable_aws_lambda_opts()->set_region_id(inv.args[4]);
    b->mutable_aws_lambda_opts()->set_payload_format_version("2.0");
  }
  for (const std::string& problem : config::ValidateApplication(app)) {
    err << "edgerouterctl: " << inv.name << ": " << problem << "\n";
    return 1;
  }
  if (!PutApp(inv, stub, app, /*create=*/true, err)) return 1;
  err << "created " << app.id() << "\n";
  return 0;
}

int Deploy(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& err) {
  const std::string& id = inv.args[0];
  const std::string& version = inv.args[1];
  if (!ValidVersion(version)) {
    err << "edgerouterctl: " << inv.name << ": version must be a plain name ([A-Za-z0-9._+-]): " << version << "\n";
    return 1;
  }
  config::v1::Application app;
  if (!GetS3App(inv, stub, id, &app, err)) return 1;
  absl::StatusOr<AwsEnv> env = LoadAwsEnv();
  if (!env.ok()) {
    err << "edgerouterctl: " << inv.name << ": " << env.status().message() << "\n";
    return 1;
  }
  std::string path = inv.args[2];
  if (const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY"); cwd != nullptr && !path.empty() && path[0] != '/') {
    path = absl::StrCat(cwd, "/", path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err << "edgerouterctl: " << inv.name << ": cannot read " << inv.args[2] << "\n";
    return 1;
  }
  std::stringstream data;
  data << in.rdbuf();
  absl::StatusOr<std::vector<SiteFile>> files = ReadSiteArchive(data.str());
  if (!files.ok()) {
    err << "edgerouterctl: " << inv.name << ": " << inv.args[2] << ": " << files.status().message() << "\n";
    return 1;
  }
  const auto& opts = app.backend().s3_static_website_opts();
  // Parallel uploads; the first failure stops the deploy before the marker and the switch.
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::string failure;
  auto worker = [&] {
    CURL* easy = curl_easy_init();
    for (size_t i = next++; i < files->size(); i = next++) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!failure.empty()) break;
      }
      const SiteFile& file = (*files)[i];
      const std::string key = absl::StrCat("sites/", id, "/", version, "/", file.path);
      // HTML is revalidated by browsers; other files are cached (immutable within a version).
      const aws::NameValues headers = {
          {"Content-Type", std::string(aws::ContentTypeForPath(file.path))},
          {"Cache-Control", aws::IsHtmlPath(file.path) ? "no-cache" : "public, max-age=31536000"}};
      aws::SignedRequest request = aws::SignAwsRequest(
          aws::Service::kS3, opts.region_id(), "PUT",
          aws::S3Target(env->endpoints, opts.bucket_name(), opts.region_id(), key), headers,
          aws::Sha256Hex(file.content), env->credentials, absl::Now());
      HttpResult r = Perform(easy, request, file.content);
      if (r.status != 200) {
        std::lock_guard<std::mutex> lock(mu);
        if (failure.empty()) failure = absl::StrCat("upload of ", key, " failed: ", Describe(r));
      }
    }
    curl_easy_cleanup(easy);
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kUploadThreads; ++i) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  if (!failure.empty()) {
    err << "edgerouterctl: " << inv.name << ": app " << id << ": " << failure << "\n";
    return 1;
  }
  const std::string marker = absl::StrCat(
      "{\"version\":\"", version, "\",\"deployed_at\":\"",
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()), "\"}\n");
  CURL* easy = curl_easy_init();
  HttpResult r = Perform(easy,
                         aws::SignAwsRequest(aws::Service::kS3, opts.region_id(), "PUT",
                                             aws::S3Target(env->endpoints, opts.bucket_name(), opts.region_id(),
                                                           MarkerKey(id, version)),
                                             {{"Content-Type", "application/json"}}, aws::Sha256Hex(marker),
                                             env->credentials, absl::Now()),
                         marker);
  curl_easy_cleanup(easy);
  if (r.status != 200) {
    err << "edgerouterctl: " << inv.name << ": app " << id << ": marker upload failed: " << Describe(r) << "\n";
    return 1;
  }
  // The switch: only deployed_version changes (404_page and everything else are kept).
  app.mutable_backend()->mutable_s3_static_website_opts()->set_deployed_version(version);
  if (!PutApp(inv, stub, app, /*create=*/false, err)) return 1;
  err << "deployed " << id << " version " << version << " (" << files->size() << " files)\n";
  return 0;
}

// The keys of ListObjectsV2 pages under `prefix` (delimiter "/": markers only).
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ListMarkers(const AwsEnv& env,
                                                                              const config::v1::Application& app) {
  const auto& opts = app.backend().s3_static_website_opts();
  const std::string prefix = absl::StrCat("sites/", app.id(), "/");
  std::vector<std::pair<std::string, std::string>> out;  // version, last modified
  std::string token;
  CURL* easy = curl_easy_init();
  while (true) {
    aws::NameValues query = {{"list-type", "2"}, {"prefix", prefix}, {"delimiter", "/"}};
    if (!token.empty()) query.emplace_back("continuation-token", token);
    HttpResult r = Perform(easy,
                           aws::SignAwsRequest(aws::Service::kS3, opts.region_id(), "GET",
                                               aws::S3Target(env.endpoints, opts.bucket_name(), opts.region_id(), "",
                                                             query),
                                               {}, "", env.credentials, absl::Now()),
                           "");
    if (r.status != 200) {
      curl_easy_cleanup(easy);
      return absl::UnavailableError(absl::StrCat("listing s3://", opts.bucket_name(), "/", prefix, ": ", Describe(r)));
    }
    absl::string_view body = r.body;
    for (size_t pos = body.find("<Contents>"); pos != absl::string_view::npos; pos = body.find("<Contents>", pos + 1)) {
      const size_t end = body.find("</Contents>", pos);
      absl::string_view entry = body.substr(pos, end - pos);
      auto field = [&entry](absl::string_view tag) {
        const std::string open = absl::StrCat("<", tag, ">");
        const size_t s = entry.find(open);
        if (s == absl::string_view::npos) return std::string();
        const size_t e = entry.find(absl::StrCat("</", tag, ">"), s);
        return std::string(entry.substr(s + open.size(), e - s - open.size()));
      };
      const std::string key = field("Key");
      absl::string_view v = key;
      if (absl::ConsumePrefix(&v, prefix) && absl::ConsumeSuffix(&v, ".deployment.json")) {
        out.emplace_back(std::string(v), field("LastModified"));
      }
    }
    const size_t t = body.find("<NextContinuationToken>");
    if (!absl::StrContains(body, "<IsTruncated>true</IsTruncated>") || t == absl::string_view::npos) break;
    const size_t te = body.find("</NextContinuationToken>", t);
    token = std::string(body.substr(t + 23, te - t - 23));
  }
  curl_easy_cleanup(easy);
  return out;
}

int Versions(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& out, std::ostream& err) {
  config::v1::Application app;
  if (!GetS3App(inv, stub, inv.args[0], &app, err)) return 1;
  absl::StatusOr<AwsEnv> env = LoadAwsEnv();
  if (!env.ok()) {
    err << "edgerouterctl: " << inv.name << ": " << env.status().message() << "\n";
    return 1;
  }
  auto versions = ListMarkers(*env, app);
  if (!versions.ok()) {
    err << "edgerouterctl: " << inv.name << ": app " << app.id() << ": " << versions.status().message() << "\n";
    return 1;
  }
  const std::string& live = app.backend().s3_static_website_opts().deployed_version();
  for (const auto& [version, modified] : *versions) {
    out << (version == live ? "* " : "  ") << version << "\t" << modified << "\n";
  }
  return 0;
}

int Rollback(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& err) {
  config::v1::Application app;
  if (!GetS3App(inv, stub, inv.args[0], &app, err)) return 1;
  absl::StatusOr<AwsEnv> env = LoadAwsEnv();
  if (!env.ok()) {
    err << "edgerouterctl: " << inv.name << ": " << env.status().message() << "\n";
    return 1;
  }
  const std::string& version = inv.args[1];
  const auto& opts = app.backend().s3_static_website_opts();
  CURL* easy = curl_easy_init();
  HttpResult r = Perform(easy,
                         aws::SignAwsRequest(aws::Service::kS3, opts.region_id(), "HEAD",
                                             aws::S3Target(env->endpoints, opts.bucket_name(), opts.region_id(),
                                                           MarkerKey(app.id(), version)),
                                             {}, "", env->credentials, absl::Now()),
                         "");
  curl_easy_cleanup(easy);
  if (r.status != 200) {
    err << "edgerouterctl: " << inv.name << ": app " << app.id() << ": version " << version
        << " was never deployed completely (no " << MarkerKey(app.id(), version) << ": " << Describe(r) << ")\n";
    return 1;
  }
  app.mutable_backend()->mutable_s3_static_website_opts()->set_deployed_version(version);
  if (!PutApp(inv, stub, app, /*create=*/false, err)) return 1;
  err << "rolled back " << app.id() << " to version " << version << "\n";
  return 0;
}

}  // namespace

bool IsAwsCommand(Command command) {
  return command == Command::kS3Mk || command == Command::kS3Deploy || command == Command::kS3Versions ||
         command == Command::kS3Rollback || command == Command::kLambdaMk;
}

int RunAwsCommand(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& out, std::ostream& err) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  switch (inv.command) {
    case Command::kS3Mk:
    case Command::kLambdaMk:
      return Make(inv, stub, err);
    case Command::kS3Deploy:
      return Deploy(inv, stub, err);
    case Command::kS3Versions:
      return Versions(inv, stub, out, err);
    case Command::kS3Rollback:
      return Rollback(inv, stub, err);
    default:
      return 2;
  }
}

}  // namespace edgerouter::ctl
