#include "dataplane/aws/s3_site.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "dataplane/http/content_coding.h"
#include "dataplane/http/escaping.h"

namespace edgerouter::aws {

std::optional<absl::string_view> AwsResponse::Field(absl::string_view name) const {
  for (absl::string_view line : absl::StrSplit(headers, "\r\n", absl::SkipEmpty())) {
    const size_t colon = line.find(':');
    if (colon != absl::string_view::npos && absl::EqualsIgnoreCase(line.substr(0, colon), name)) {
      return absl::StripAsciiWhitespace(line.substr(colon + 1));
    }
  }
  return std::nullopt;
}
namespace {

constexpr char kHttpDate[] = "%a, %d %b %Y %H:%M:%S GMT";

bool NotModifiedSince(absl::string_view if_modified_since, absl::string_view last_modified) {
  absl::Time ims, lm;
  std::string err;
  if (!absl::ParseTime(kHttpDate, std::string(if_modified_since), &ims, &err)) return false;
  if (!absl::ParseTime(kHttpDate, std::string(last_modified), &lm, &err)) return false;
  return lm <= ims;
}

}  // namespace

void S3Exchange::Start(AwsWorkerContext* ctx, const S3SiteConfig& site, const S3RequestInfo& request,
                       AwsResponder* responder) {
  ctx_ = ctx;
  site_ = &site;
  responder_ = responder;
  head_ = request.method == "HEAD";
  path_.assign(request.path.data(), request.path.size());
  original_path_.assign(request.original_path.data(), request.original_path.size());
  query_.assign(request.query.data(), request.query.size());
  if_none_match_.assign(request.if_none_match.data(), request.if_none_match.size());
  if_modified_since_.assign(request.if_modified_since.data(), request.if_modified_since.size());
  range_.assign(request.range.data(), request.range.size());
  if (request.method != "GET" && request.method != "HEAD") {
    Reply(405, "Allow: GET, HEAD\r\nContent-Type: text/plain; charset=utf-8\r\n", "method not allowed\n");
    return;
  }
  if (site.version.empty()) {
    Respond(404, absl::StrCat("no deployed version for ", site.app_id, "\n"));
    return;
  }
  if (!ctx->settings().credentials_error.empty()) {
    Fail(502, absl::StrCat("no AWS credentials: ", ctx->settings().credentials_error));
    return;
  }
  // The normalised path still carries percent-escapes; S3 keys are raw bytes.
  key_rel_ = http::PercentDecode(absl::string_view(path_).substr(1));
  // The routing path has no dot segments, but an encoded "%2F.." decodes into one here: such
  // a key could name another app's files, so it is simply not found.
  for (absl::string_view segment : absl::StrSplit(key_rel_, '/')) {
    if (segment == "." || segment == "..") {
      Respond(404, "404 page not found\n");
      return;
    }
  }
  if (key_rel_.empty() || key_rel_.back() == '/') key_rel_ += "index.html";
  // If-Range needs S3's judgement of the validator; everything else can come from the cache.
  if (request.if_range.empty()) {
    S3Cache::MakeKey(site.app_id, site.version, key_rel_, &cache_key_);
    if (std::shared_ptr<const S3Object> hit = ctx->cache().Find(cache_key_)) {
      if (range_.empty()) {
        ServeObject(*hit, true, false, "");
        return;
      }
      if (ServeCachedRange(*hit)) return;
    }
  }
  Fetch(Phase::kObject, key_rel_, false);
}

void S3Exchange::Fetch(Phase phase, absl::string_view key_rel, bool head) {
  phase_ = phase;
  const AwsSettings& settings = ctx_->settings();
  const std::string key = absl::StrCat("sites/", site_->app_id, "/", site_->version, "/", key_rel);
  NameValues extra;
  if (phase == Phase::kObject && !range_.empty()) extra.emplace_back("Range", range_);
  SignedRequest request =
      SignAwsRequest(Service::kS3, site_->region, head ? "HEAD" : "GET",
                     S3Target(settings.endpoints, site_->bucket, site_->region, key), extra, "",
                     settings.credentials, absl::Now());
  call_ = ctx_->client().Start(request, "", settings.s3_max_object_bytes, this);
}

void S3Exchange::Cancel() {
  if (call_ != nullptr) ctx_->client().Release(call_);
  call_ = nullptr;
}

std::shared_ptr<S3Object> S3Exchange::ObjectFrom(const AwsCall& call) const {
  auto object = std::make_shared<S3Object>();
  if (const std::string* v = call.Header("etag")) object->etag = *v;
  if (const std::string* v = call.Header("last-modified")) object->last_modified = *v;
  if (const std::string* v = call.Header("content-type")) object->content_type = *v;
  if (const std::string* v = call.Header("cache-control")) object->cache_control = *v;
  return object;
}

void S3Exchange::OnAwsCallDone(AwsCall* call) {
  const int status = call->status;
  if (status == 0) {
    const bool timed_out = call->timed_out;
    const std::string error = call->error;
    Cancel();
    if (timed_out) {
      Fail(504, "S3 did not answer in time");
    } else {
      Fail(502, absl::StrCat("S3 request failed: ", error));
    }
    return;
  }
  const std::string code = status >= 400 ? XmlErrorCode(call->body) : "";
  // Real S3 answers 403 AccessDenied for a missing key unless the caller may list the bucket.
  const bool missing = status == 404 || (status == 403 && (code == "AccessDenied" || code == "NoSuchKey"));
  switch (phase_) {
    case Phase::kObject: {
      if (status == 200 || status == 206) {
        std::shared_ptr<S3Object> object = ObjectFrom(*call);
        object->body.swap(call->body);
        const std::string* content_range = call->Header("content-range");
        const std::string range_header =
            status == 206 && content_range ? absl::StrCat("Content-Range: ", *content_range, "\r\n") : "";
        Cancel();
        // Only whole objects fetched for a plain GET are cached.
        if (status == 200 && range_.empty() && object->body.size() <= ctx_->settings().s3_cache_max_object) {
          ctx_->cache().Insert(cache_key_, object);
        }
        ServeObject(*object, false, status == 206, range_header);
        return;
      }
      if (status == 416) {
        const std::string* content_range = call->Header("content-range");
        const std::string range_header = content_range ? absl::StrCat("Content-Range: ", *content_range, "\r\n") : "";
        Cancel();
        Reply(416, absl::StrCat(range_header, "Content-Type: text/plain; charset=utf-8\r\n"), "range not satisfiable\n");
        return;
      }
      if (missing) {
        Cancel();
        // "/dir" may be a directory: probe "dir/index.html" before calling it missing.
        if (!absl::EndsWith(path_, "/")) {
          Fetch(Phase::kDirProbe, absl::StrCat(key_rel_, "/index.html"), true);
        } else {
          NotFound();
        }
        return;
      }
      break;
    }
    case Phase::kDirProbe:
      if (status == 200) {
        Cancel();
        Reply(301,
              absl::StrCat("Location: ",
                           http::PercentEncodeUriReference(
                               absl::StrCat(original_path_, "/", query_.empty() ? "" : "?", query_)),
                           "\r\nContent-Type: text/html; charset=utf-8\r\n"),
              "Moved Permanently\n");
        return;
      }
      if (missing) {
        Cancel();
        NotFound();
        return;
      }
      break;
    case Phase::kNotFoundPage:
      if (status == 200) {
        std::shared_ptr<S3Object> page = ObjectFrom(*call);
        page->body.swap(call->body);
        Cancel();
        S3Cache::MakeKey(site_->app_id, site_->version, site_->not_found_page, &cache_key_);
        ctx_->cache().Insert(cache_key_, page);
        ServeNotFoundPage(*page);
        return;
      }
      if (missing) {
        Cancel();
        Respond(404, "404 page not found\n");
        return;
      }
      break;
  }
  // Anything else is S3 refusing us (a wrong secret: SignatureDoesNotMatch, an unknown key
  // id, a skewed clock, a missing bucket) or failing: the operator must see it.
  const std::string reason = absl::StrCat("S3 answered ", status, code.empty() ? "" : " ", code);
  Cancel();
  Fail(502, reason);
}

void S3Exchange::ServeObject(const S3Object& object, bool from_cache, bool partial,
                             absl::string_view range_header) {
  // The project's table decides the type (so objects uploaded by other tools get one too);
  // unknown extensions keep what S3 stored.
  absl::string_view type = ContentTypeForPath(key_rel_);
  if (type == "application/octet-stream" && !object.content_type.empty()) type = object.content_type;
  const bool html = absl::StartsWith(type, "text/html");
  std::string& h = response_.headers;
  h.assign(range_header.data(), range_header.size());
  if (!object.etag.empty()) absl::StrAppend(&h, "ETag: ", object.etag, "\r\n");
  if (!object.last_modified.empty()) absl::StrAppend(&h, "Last-Modified: ", object.last_modified, "\r\n");
  // HTML must be revalidated (its URL is not versioned); other files keep what the deploy
  // stored.
  if (html) {
    h += "Cache-Control: no-cache\r\n";
  } else if (!object.cache_control.empty()) {
    absl::StrAppend(&h, "Cache-Control: ", object.cache_control, "\r\n");
  }
  absl::StrAppend(&h, "X-Cache: ", from_cache ? "HIT" : "MISS", "\r\n");
  const bool not_modified = !partial && (!if_none_match_.empty()
                                                   ? (!object.etag.empty() && http::IfNoneMatchMatches(if_none_match_, object.etag))
                                                   : !if_modified_since_.empty() &&
                                                         NotModifiedSince(if_modified_since_, object.last_modified));
  if (not_modified) {
    Send(304, "", false);
    return;
  }
  absl::StrAppend(&h, "Content-Type: ", type, "\r\nAccept-Ranges: bytes\r\n");
  Send(partial ? 206 : 200, object.body);
}

bool S3Exchange::ServeCachedRange(const S3Object& object) {
  absl::string_view spec = range_;
  if (!absl::ConsumePrefix(&spec, "bytes=") || absl::StrContains(spec, ',')) return false;
  const size_t dash = spec.find('-');
  if (dash == absl::string_view::npos) return false;
  absl::string_view first = absl::StripAsciiWhitespace(spec.substr(0, dash));
  absl::string_view last = absl::StripAsciiWhitespace(spec.substr(dash + 1));
  const uint64_t size = object.body.size();
  uint64_t start = 0, end = 0;
  bool satisfiable = true;
  if (first.empty()) {  // suffix: the last N bytes
    uint64_t n = 0;
    if (!absl::SimpleAtoi(last, &n)) return false;
    satisfiable = n > 0 && size > 0;
    start = size - std::min(n, size);
    end = size == 0 ? 0 : size - 1;
  } else {
    if (!absl::SimpleAtoi(first, &start)) return false;
    end = size == 0 ? 0 : size - 1;
    if (!last.empty()) {
      uint64_t requested_end = 0;
      if (!absl::SimpleAtoi(last, &requested_end) || requested_end < start) return false;
      end = std::min(end, requested_end);
    }
    satisfiable = start < size;
  }
  if (!satisfiable) {
    Reply(416, absl::StrCat("Content-Range: bytes */", size, "\r\nContent-Type: text/plain; charset=utf-8\r\n"),
          "range not satisfiable\n");
    return true;
  }
  // The headers of a whole-object answer, then the slice.
  S3Object slice_view;
  slice_view.etag = object.etag;
  slice_view.last_modified = object.last_modified;
  slice_view.content_type = object.content_type;
  slice_view.cache_control = object.cache_control;
  body_scratch_.assign(object.body, start, end - start + 1);
  slice_view.body.swap(body_scratch_);
  ServeObject(slice_view, true, true, absl::StrCat("Content-Range: bytes ", start, "-", end, "/", size, "\r\n"));
  body_scratch_.swap(slice_view.body);  // keep the buffer's capacity for the next request
  return true;
}

void S3Exchange::NotFound() {
  if (site_->not_found_page.empty()) {
    Respond(404, "404 page not found\n");
    return;
  }
  S3Cache::MakeKey(site_->app_id, site_->version, site_->not_found_page, &cache_key_);
  if (std::shared_ptr<const S3Object> page = ctx_->cache().Find(cache_key_)) {
    ServeNotFoundPage(*page);
    return;
  }
  Fetch(Phase::kNotFoundPage, site_->not_found_page, false);
}

void S3Exchange::Fail(int status, absl::string_view reason) {
  // Requests trigger it: rate-limited per app.
  log::Every(log::Level::kError, "s3 failed " + site_->app_id, "s3_static_website backend failed")
      .Kv("app", site_->app_id)
      .Kv("bucket", site_->bucket)
      .Kv("status", status)
      .Kv("error", reason);
  Respond(status, absl::StrCat(status == 504 ? "Gateway Timeout" : "Bad Gateway", ": ", reason, "\n"));
}

void S3Exchange::ServeNotFoundPage(const S3Object& page) {
  Reply(404, absl::StrCat("Content-Type: ", ContentTypeForPath(site_->not_found_page), "\r\nCache-Control: no-cache\r\n"),
        page.body);
}

void S3Exchange::Respond(int status, absl::string_view body) {
  body_scratch_.assign(body.data(), body.size());
  Reply(status, "Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-cache\r\n", body_scratch_);
}

void S3Exchange::Reply(int status, absl::string_view headers, absl::string_view body) {
  response_.headers.assign(headers.data(), headers.size());
  Send(status, body);
}

void S3Exchange::Send(int status, absl::string_view body, bool send_length) {
  response_.status = status;
  response_.send_length = send_length;
  response_.body = body;
  responder_->OnAwsResponse(response_);
}

}  // namespace edgerouter::aws
