#include "cli/ctl_turbocharger_commands.h"

#include <curl/curl.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/turbocharger/manifest.h"
#include "cli/ctl_s3_http.h"

namespace edgerouter::ctl {
namespace {

namespace tc = turbocharger;

constexpr int kUploadThreads = 3;  // as edgerouter

struct Store {
  AwsEnv env;
  tc::StoreLocation location;
};

absl::StatusOr<Store> LoadStore() {
  const char* text = std::getenv("TURBOCHARGER_STORE");
  if (text == nullptr || *text == '\0') return absl::FailedPreconditionError("TURBOCHARGER_STORE is not set");
  absl::StatusOr<tc::StoreLocation> location = tc::ParseStoreLocation(text);
  if (!location.ok()) return location.status();
  absl::StatusOr<AwsEnv> env = LoadAwsEnv();
  if (!env.ok()) return env.status();
  return Store{*std::move(env), *std::move(location)};
}

HttpResult Request(CURL* easy, const Store& store, absl::string_view method, const std::string& key,
                   const std::string& body = "", const aws::NameValues& headers = {}) {
  return Perform(easy,
                 aws::SignAwsRequest(aws::Service::kS3, store.location.region, method,
                                     aws::S3Target(store.env.endpoints, store.location.bucket, store.location.region, key),
                                     headers, aws::Sha256Hex(body), store.env.credentials, absl::Now()),
                 body);
}

// Uploads unless the object is there already (HEAD, then PUT): content addressing makes an
// existing object the same bytes.
absl::Status Insert(CURL* easy, const Store& store, const std::string& key, const std::string& body,
                    absl::string_view content_type) {
  HttpResult head = Request(easy, store, "HEAD", key);
  if (head.status == 200) return absl::OkStatus();
  if (head.status != 404) return absl::UnavailableError(absl::StrCat("HEAD ", key, ": ", Describe(head)));
  HttpResult put = Request(easy, store, "PUT", key, body, {{"Content-Type", std::string(content_type)}});
  if (put.status != 200) return absl::UnavailableError(absl::StrCat("PUT ", key, ": ", Describe(put)));
  return absl::OkStatus();
}

absl::StatusOr<std::string> Get(CURL* easy, const Store& store, const std::string& key) {
  HttpResult r = Request(easy, store, "GET", key);
  if (r.status != 200) return absl::UnavailableError(absl::StrCat("GET ", key, ": ", Describe(r)));
  return std::move(r.body);
}

int Fail(const Invocation& inv, std::ostream& err, absl::string_view what) {
  err << "edgerouterctl: " << inv.name << ": " << what << "\n";
  return 1;
}

int TarDeploy(const Invocation& inv, std::istream& in, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Store> store = LoadStore();
  if (!store.ok()) return Fail(inv, err, store.status().message());
  std::stringstream data;
  data << in.rdbuf();
  absl::StatusOr<std::vector<ArchiveFile>> files = ReadArchive(data.str());
  if (!files.ok()) return Fail(inv, err, absl::StrCat("stdin: ", files.status().message()));
  std::vector<tc::ManifestFile> entries;
  std::map<std::string, const ArchiveFile*> objects;  // id -> content (deduplicated)
  for (const ArchiveFile& file : *files) {
    absl::StatusOr<std::string> path = ManifestPathForEntry(file.name);
    if (!path.ok()) return Fail(inv, err, path.status().message());
    const std::string id = tc::ObjectId::ForContent(file.content).ToString();
    entries.push_back({*path, id});
    objects.emplace(id, &file);
  }
  absl::StatusOr<tc::Manifest> manifest = tc::MakeManifest(inv.args[0], absl::Now(), std::move(entries));
  if (!manifest.ok()) return Fail(inv, err, manifest.status().message());
  // One upload per distinct content (the first path naming it gives the Content-Type).
  std::vector<std::pair<std::string, std::string>> uploads;  // id, content type
  std::map<std::string, bool> queued;
  for (const tc::ManifestFile& f : manifest->files) {
    if (queued.emplace(f.id, true).second) uploads.emplace_back(f.id, std::string(aws::ContentTypeForPath(f.path)));
  }
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::string failure;
  auto worker = [&] {
    CURL* easy = curl_easy_init();
    for (size_t i = next++; i < uploads.size(); i = next++) {
      absl::Status s = Insert(easy, *store, tc::FileKey(uploads[i].first), objects[uploads[i].first]->content,
                              uploads[i].second);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (failure.empty()) failure = std::string(s.message());
        break;
      }
    }
    curl_easy_cleanup(easy);
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kUploadThreads; ++i) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  if (!failure.empty()) return Fail(inv, err, failure);
  // The manifest last: once it exists, every file it names does.
  const std::string json = tc::SerializeManifest(*manifest);
  const std::string id = tc::ObjectId::ForContent(json).ToString();
  CURL* easy = curl_easy_init();
  absl::Status s = Insert(easy, *store, tc::ManifestKey(id), json, "application/json");
  curl_easy_cleanup(easy);
  if (!s.ok()) return Fail(inv, err, s.message());
  err << "uploaded " << uploads.size() << " objects for " << manifest->files.size() << " files\n";
  out << id << "\n";
  return 0;
}

int Download(const Invocation& inv, std::ostream& err) {
  absl::StatusOr<Store> store = LoadStore();
  if (!store.ok()) return Fail(inv, err, store.status().message());
  if (absl::Status s = tc::ObjectId::Parse(inv.args[0]).status(); !s.ok()) return Fail(inv, err, s.message());
  std::string root = ".";
  if (const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY"); cwd != nullptr) root = cwd;
  CURL* easy = curl_easy_init();
  auto done = [easy](int code) {
    curl_easy_cleanup(easy);
    return code;
  };
  absl::StatusOr<std::string> json = Get(easy, *store, tc::ManifestKey(inv.args[0]));
  if (!json.ok()) return done(Fail(inv, err, json.status().message()));
  absl::StatusOr<tc::Manifest> manifest = tc::ParseManifest(*json);
  if (!manifest.ok()) return done(Fail(inv, err, manifest.status().message()));
  for (const tc::ManifestFile& f : manifest->files) {
    // Paths from the store are checked like tar names: nothing is written outside `root`.
    absl::StatusOr<std::string> checked = ManifestPathForEntry(f.path.substr(1));
    if (!checked.ok()) return done(Fail(inv, err, checked.status().message()));
    absl::StatusOr<std::string> content = Get(easy, *store, tc::FileKey(f.id));
    if (!content.ok()) return done(Fail(inv, err, content.status().message()));
    if (tc::ObjectId::ForContent(*content).ToString() != f.id) {
      return done(Fail(inv, err, absl::StrCat(f.path, ": the store's bytes do not hash to ", f.id)));
    }
    const std::filesystem::path target = std::filesystem::path(root) / f.path.substr(1);
    std::error_code ec;
    std::filesystem::create_directories(target.parent_path(), ec);
    std::ofstream o(target, std::ios::binary | std::ios::trunc);
    o << *content;
    if (!o) return done(Fail(inv, err, absl::StrCat("cannot write ", target.string())));
  }
  err << "wrote " << manifest->files.size() << " files\n";
  return done(0);
}

int DeploySite(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& err) {
  const std::string& app_id = inv.args[0];
  const std::string& manifest_id = inv.args[1];
  if (absl::Status s = tc::ObjectId::Parse(manifest_id).status(); !s.ok()) return Fail(inv, err, s.message());
  config::v1::Application app;
  if (!GetAppOfKind(inv, stub, app_id, "turbocharger", &app, err)) return 1;
  // Data planes would answer 502 for a manifest the store does not have: refuse the switch.
  absl::StatusOr<Store> store = LoadStore();
  if (!store.ok()) return Fail(inv, err, store.status().message());
  CURL* easy = curl_easy_init();
  HttpResult head = Request(easy, *store, "HEAD", tc::ManifestKey(manifest_id));
  curl_easy_cleanup(easy);
  if (head.status != 200) {
    return Fail(inv, err, absl::StrCat("manifest ", manifest_id, " is not in the store: ", Describe(head)));
  }
  app.mutable_backend()->mutable_turbocharger_opts()->set_manifest(manifest_id);
  if (!PutApp(inv, stub, app, /*create=*/false, err)) return 1;
  err << "deployed " << app_id << " manifest " << manifest_id << "\n";
  return 0;
}

}  // namespace

absl::StatusOr<std::string> ManifestPathForEntry(const std::string& name) {
  if (name.empty() || name[0] == '.' || name[0] == '/') {
    return absl::InvalidArgumentError(absl::StrCat("entry name must not start with . or /: ", name));
  }
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return absl::InvalidArgumentError(absl::StrCat("entry name is not a plain relative path: ", name));
    }
  }
  return absl::StrCat("/", name);
}

bool IsTurbochargerCommand(Command command) {
  return command == Command::kTurbochargerTarDeploy || command == Command::kTurbochargerDownload ||
         command == Command::kTurbochargerDeploySite;
}

int RunTurbochargerCommand(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::istream& in,
                           std::ostream& out, std::ostream& err) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  switch (inv.command) {
    case Command::kTurbochargerTarDeploy:
      return TarDeploy(inv, in, out, err);
    case Command::kTurbochargerDownload:
      return Download(inv, err);
    case Command::kTurbochargerDeploySite:
      return DeploySite(inv, stub, err);
    default:
      return 2;
  }
}

}  // namespace edgerouter::ctl
