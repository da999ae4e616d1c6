#include "dataplane/backends/turbocharger/turbocharger.h"

#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/aws/aws_request.h"
#include "common/log/log.h"
#include "common/turbocharger/manifest.h"
#include "dataplane/aws/aws_context.h"
#include "dataplane/aws/s3_site.h"
#include "dataplane/http/content_coding.h"
#include "dataplane/http/escaping.h"
#include "dataplane/turbocharger/gzip.h"
#include "dataplane/turbocharger/runtime.h"

namespace edgerouter::backends {
namespace {

using turbocharger::Layout;
using turbocharger::Runtime;

constexpr absl::string_view kText = "text/plain; charset=utf-8";
constexpr absl::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr absl::string_view kCacheTag = "\x01turbocharger";  // S3Cache key space of its own

// One request's answer. Invariant: answering (responder_->OnAwsResponse) is the last thing a
// method does — the connection may start its next request inside that call and destroy this.
class TurbochargerResponse : public pipeline::DeferredResponse, public aws::AwsCallOwner {
 public:
  TurbochargerResponse(Runtime* runtime, std::string manifest_id, std::string path, bool gzip_ok,
                       std::string if_none_match, std::function<void(aws::AwsWorkerContext&)> on_start)
      : on_start_(std::move(on_start)),
        runtime_(runtime),
        manifest_id_(std::move(manifest_id)),
        path_(std::move(path)),
        gzip_ok_(gzip_ok),
        if_none_match_(std::move(if_none_match)) {}
  ~TurbochargerResponse() override { Cancel(); }

  std::string label() const override { return absl::StrCat("turbocharger:", manifest_id_); }

  void Start(net::EventLoop& loop, aws::AwsWorkerContext& aws, aws::AwsResponder& responder) override {
    loop_ = &loop;
    aws_ = &aws;
    responder_ = &responder;
    token_ = std::make_shared<TurbochargerResponse*>(this);
    if (on_start_ != nullptr) std::exchange(on_start_, nullptr)(aws);
    Step();
  }

  void Cancel() override {
    if (call_ != nullptr) {
      aws_->client().Release(call_);
      call_ = nullptr;
    }
    token_.reset();  // a pending wake-up finds nobody
    EndDownload();   // the waiters retry; one of them downloads
  }

  void OnAwsCallDone(aws::AwsCall* call) override {
    const int status = call->status;
    std::string body = std::move(call->body);
    const std::string error = call->timed_out ? "timed out" : call->error;
    const std::string code = status != 200 ? aws::XmlErrorCode(body) : "";
    aws_->client().Release(call);
    call_ = nullptr;
    absl::Status stored = absl::OkStatus();
    if (status == 200) stored = Store(std::move(body));
    (status == 200 && stored.ok() ? runtime_->stats().downloads : runtime_->stats().download_errors)
        .fetch_add(1, std::memory_order_relaxed);
    EndDownload();
    if (status != 200) {
      return Fail(502, absl::StrCat(downloading_what_, ": ",
                                    status == 0 ? error : absl::StrCat("HTTP ", status, code.empty() ? "" : " ", code)));
    }
    if (!stored.ok()) return Fail(502, stored.message());
    Step();
  }

 private:
  // Continues from wherever the request is: manifest, path, conditional, object.
  void Step() {
    if (manifest_ == nullptr) {
      manifest_ = runtime_->FindManifest(manifest_id_);
      if (manifest_ == nullptr) return Download(turbocharger::ManifestKey(manifest_id_), "manifest " + manifest_id_);
    }
    if (file_id_.empty()) {
      // Manifest paths are raw names; the backend path keeps its percent-escapes.
      file_path_ = http::PercentDecode(path_);
      if (absl::EndsWith(file_path_, "/")) file_path_ += "index.html";
      status_ = 200;
      const std::string* id = manifest_->Find(file_path_);
      if (id == nullptr) {
        status_ = 404;
        file_path_ = "/404.html";
        id = manifest_->Find(file_path_);
        if (id == nullptr) return Answer(404, "Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-cache\r\n",
                                         "404 page not found\n");
      }
      file_id_ = *id;
    }
    const bool compressible = turbocharger::ExpectedToCompressWell(file_path_);
    if (status_ == 200 && !if_none_match_.empty() &&
        (http::IfNoneMatchMatches(if_none_match_, absl::StrCat("\"", file_id_, "\"")) ||
         http::IfNoneMatchMatches(if_none_match_, absl::StrCat("\"", file_id_, "-gz\"")))) {
      response_.status = 304;
      response_.headers = Headers(compressible, compressible && gzip_ok_);
      response_.body = {};
      response_.send_length = false;
      return responder_->OnAwsResponse(response_);
    }
    bool gzipped = false;
    std::shared_ptr<const aws::S3Object> object = FindObject(&gzipped);
    if (object == nullptr) {
      if (!counted_) runtime_->stats().misses.fetch_add(1, std::memory_order_relaxed);
      counted_ = true;
      return Download(turbocharger::FileKey(file_id_), "file " + file_id_);
    }
    counted_ = true;
    if (gzipped && !gzip_ok_) {
      // Clients without gzip get an inflated copy, kept in the memory cache beside the gzip one
      // (inflating on every request would cost more than serving).
      aws::S3Cache::MakeKey(kCacheTag, "inflated", file_id_, &cache_key_);
      std::shared_ptr<const aws::S3Object> inflated = aws_->cache().Find(cache_key_);
      if (inflated == nullptr) {
        auto fresh = std::make_shared<aws::S3Object>();
        const size_t max = aws_->settings().s3_max_object_bytes * 16;
        if (absl::Status s = turbocharger::GzipDecompress(object->body, max, &fresh->body); !s.ok()) {
          return Fail(500, absl::StrCat("file ", file_id_, ": ", s.message()));
        }
        if (fresh->body.size() <= aws_->settings().s3_cache_max_object) aws_->cache().Insert(cache_key_, fresh);
        inflated = std::move(fresh);
      }
      object = std::move(inflated);
    }
    const absl::string_view body = object->body;
    response_.status = status_;
    response_.headers = Headers(gzipped, gzipped && gzip_ok_);
    response_.body = body;
    response_.send_length = true;
    held_ = std::move(object);  // keeps `body` alive through the answer
    responder_->OnAwsResponse(response_);
  }

  std::string Headers(bool varies, bool gzip) const {
    std::string h = absl::StrCat("Content-Type: ", aws::ContentTypeForPath(file_path_), "\r\nETag: \"", file_id_,
                                 gzip ? "-gz" : "", "\"\r\nCache-Control: ",
                                 status_ != 200 || aws::IsHtmlPath(file_path_) ? "no-cache" : kImmutable, "\r\n");
    if (varies) h += "Vary: Accept-Encoding\r\n";
    if (gzip) h += "Content-Encoding: gzip\r\n";
    return h;
  }

  // The object from the worker's memory cache, else from disk (then kept in memory).
  std::shared_ptr<const aws::S3Object> FindObject(bool* gzipped) {
    aws::S3Cache& cache = aws_->cache();
    for (Layout layout : {Layout::kGzipped, Layout::kUncompressed}) {
      aws::S3Cache::MakeKey(kCacheTag, turbocharger::LayoutDir(layout), file_id_, &cache_key_);
      if (auto hit = cache.Find(cache_key_)) {
        *gzipped = layout == Layout::kGzipped;
        if (!counted_) runtime_->stats().memory_hits.fetch_add(1, std::memory_order_relaxed);
        return hit;
      }
    }
    for (Layout layout : {Layout::kGzipped, Layout::kUncompressed}) {
      std::optional<std::string> bytes = runtime_->disk().Read(layout, file_id_);
      if (!bytes) continue;
      *gzipped = layout == Layout::kGzipped;
      if (!counted_) runtime_->stats().disk_hits.fetch_add(1, std::memory_order_relaxed);
      return Remember(layout, std::move(*bytes));
    }
    return nullptr;
  }

  std::shared_ptr<const aws::S3Object> Remember(Layout layout, std::string bytes) {
    auto object = std::make_shared<aws::S3Object>();
    object->body = std::move(bytes);
    if (object->body.size() <= aws_->settings().s3_cache_max_object) {
      aws::S3Cache::MakeKey(kCacheTag, turbocharger::LayoutDir(layout), file_id_, &cache_key_);
      aws_->cache().Insert(cache_key_, object);
    }
    return object;
  }

  // Fetches `key` unless another request is fetching it already; then waits for that one.
  void Download(const std::string& key, std::string what) {
    const aws::AwsSettings& settings = aws_->settings();
    if (!settings.credentials_error.empty()) {
      return Fail(502, absl::StrCat(what, ": no AWS credentials: ", settings.credentials_error));
    }
    net::EventLoop* loop = loop_;
    std::weak_ptr<TurbochargerResponse*> weak = token_;
    auto wake = [loop, weak] {
      if (weak.expired()) return;  // that request is gone (and its loop may be too, at exit)
      loop->Post([weak] {
        if (auto token = weak.lock()) (*token)->Step();
      });
    };
    if (!runtime_->BeginDownload(key, std::move(wake))) return;  // Step() runs again when it is there
    downloading_ = key;
    downloading_what_ = std::move(what);
    const turbocharger::StoreLocation& store = runtime_->store();
    aws::SignedRequest request = aws::SignAwsRequest(
        aws::Service::kS3, store.region, "GET", aws::S3Target(settings.endpoints, store.bucket, store.region, key),
        {}, "", settings.credentials, absl::Now());
    call_ = aws_->client().Start(request, "", settings.s3_max_object_bytes, this);
  }

  void EndDownload() {
    if (downloading_.empty()) return;
    std::string key = std::move(downloading_);
    downloading_.clear();
    runtime_->EndDownload(key);
  }

  // A downloaded manifest or file: checked against its id, then cached.
  absl::Status Store(std::string body) {
    if (manifest_ == nullptr) {
      absl::StatusOr<std::shared_ptr<const turbocharger::Manifest>> m = runtime_->AddManifest(manifest_id_, body);
      return m.status();
    }
    if (turbocharger::ObjectId::ForContent(body).ToString() != file_id_) {
      return absl::DataLossError(absl::StrCat("file ", file_id_, ": the store's bytes do not hash to its id"));
    }
    const bool compress = turbocharger::ExpectedToCompressWell(file_path_);
    const Layout layout = compress ? Layout::kGzipped : Layout::kUncompressed;
    if (compress) body = turbocharger::GzipCompress(body);
    // A failed disk write costs a later download, not this answer.
    runtime_->disk().Write(layout, file_id_, body).IgnoreError();
    Remember(layout, std::move(body));
    return absl::OkStatus();
  }

  void Fail(int status, absl::string_view reason) {
    scratch_ = absl::StrCat("turbocharger: ", reason, "\n");
    Answer(status, "Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-cache\r\n", scratch_);
  }

  void Answer(int status, absl::string_view headers, absl::string_view body) {
    response_.status = status;
    response_.headers = std::string(headers);
    response_.body = body;
    response_.send_length = true;
    responder_->OnAwsResponse(response_);
  }

  std::function<void(aws::AwsWorkerContext&)> on_start_;
  Runtime* const runtime_;
  const std::string manifest_id_, path_;
  const bool gzip_ok_;
  const std::string if_none_match_;
  net::EventLoop* loop_ = nullptr;
  aws::AwsWorkerContext* aws_ = nullptr;
  aws::AwsResponder* responder_ = nullptr;
  std::shared_ptr<TurbochargerResponse*> token_;  // wake-ups hold it weakly
  aws::AwsCall* call_ = nullptr;
  std::string downloading_, downloading_what_;
  std::shared_ptr<const turbocharger::Manifest> manifest_;
  std::string file_path_, file_id_;
  int status_ = 200;
  bool counted_ = false;  // this request's file hit or miss is counted (once: Step runs again after a download)
  std::string cache_key_, scratch_;
  std::shared_ptr<const aws::S3Object> held_;
  aws::AwsResponse response_;
};

class Turbocharger : public pipeline::Terminal {
 public:
  Turbocharger(turbocharger::AppStats* app, std::string manifest_id) : app_(app), manifest_id_(std::move(manifest_id)) {}
  absl::string_view kind() const override { return "turbocharger"; }
  void Handle(pipeline::Exchange& exchange, const std::string& path) const override {
    ServeFromManifest(exchange, app_, manifest_id_, path);
  }

 private:
  turbocharger::AppStats* const app_;
  const std::string manifest_id_;
};

}  // namespace

void ServeFromManifest(pipeline::Exchange& exchange, turbocharger::AppStats* app, const std::string& manifest_id,
                       const std::string& path, std::function<void(aws::AwsWorkerContext&)> on_start) {
  Runtime* runtime = Runtime::Get();
  if (runtime == nullptr) {
    exchange.SendLocal(502, kText, "turbocharger: this data plane has no TURBOCHARGER_STORE\n");
    return;
  }
  if (app != nullptr) app->served.fetch_add(1, std::memory_order_relaxed);
  const bool gzip_ok = http::AcceptsCoding(exchange.request_header("Accept-Encoding").value_or(""), "gzip");
  exchange.StartDeferred(std::make_unique<TurbochargerResponse>(
      runtime, manifest_id, path, gzip_ok, std::string(exchange.request_header("If-None-Match").value_or("")),
      std::move(on_start)));
}

turbocharger::AppStats* TurbochargerAppStats(const std::string& app_id) {
  Runtime* runtime = Runtime::Get();
  return runtime != nullptr ? runtime->stats().App(app_id) : nullptr;
}

void FinishRevalidation(const std::string& app_id, turbocharger::AppStats* app,
                        turbocharger::SharedAttachment& attachment, int status,
                        std::optional<absl::string_view> header, absl::string_view error) {
  const std::optional<turbocharger::Advertisement> before = attachment.current();
  const bool changed = attachment.OnRevalidation(status, header, absl::Now());
  const std::optional<turbocharger::Advertisement> now = attachment.current();
  if (app != nullptr && (changed || now.has_value())) {
    (changed ? (now.has_value() ? app->reloaded : app->detached) : app->renewed).fetch_add(1, std::memory_order_relaxed);
  }
  if (!changed) return;
  if (now.has_value()) {
    log::Info("turbocharger reloaded")
        .Kv("app", app_id)
        .Kv("prefix", now->prefix)
        .Kv("from", before.has_value() ? before->manifest_id : "")
        .Kv("to", now->manifest_id);
    return;
  }
  log::Info("turbocharger detached")
      .Kv("app", app_id)
      .Kv("prefix", before.has_value() ? before->prefix : "")
      .Kv("reason", !error.empty()          ? std::string(error)
                    : status != 200         ? absl::StrCat("HEAD answered ", status)
                    : header.has_value()    ? absl::StrCat("bad turbocharger header \"", *header, "\"")
                                            : std::string("HEAD without a turbocharger header"));
}

absl::Status CompileTurbocharger(const pipeline::CompileContext& context, const config::v1::Backend& backend,
                                 pipeline::ChainBuilder* chain) {
  if (!backend.has_turbocharger_opts()) return context.Required("turbocharger_opts");
  const std::string& manifest = backend.turbocharger_opts().manifest();
  const pipeline::CompileContext opts = context.Inner("turbocharger_opts");
  if (manifest.empty()) return opts.Required("manifest");
  if (absl::Status s = turbocharger::ObjectId::Parse(manifest).status(); !s.ok()) {
    return opts.Error("manifest", s.message());
  }
  return chain->SetTerminal(std::make_unique<Turbocharger>(TurbochargerAppStats(context.app_id), manifest));
}

}  // namespace edgerouter::backends
