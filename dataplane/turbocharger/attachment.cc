#include "dataplane/turbocharger/attachment.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace edgerouter::turbocharger {

absl::StatusOr<Advertisement> ParseAdvertisement(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  const size_t space = value.find(' ');
  if (space == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("turbocharger header \"", value, "\": want \"<prefix> <manifestId>\""));
  }
  Advertisement ad{std::string(value.substr(0, space)),
                   std::string(absl::StripAsciiWhitespace(value.substr(space + 1)))};
  if (ad.prefix.empty() || ad.prefix[0] != '/' || ad.manifest_id.empty() ||
      ad.manifest_id.find(' ') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("turbocharger header \"", value, "\": want \"</prefix> <manifestId>\""));
  }
  return ad;
}

void Attachment::Detach() {
  current_.reset();
  valid_until_ = absl::InfinitePast();
  revalidating_ = false;
}

bool Attachment::OnProxiedResponse(int status, std::optional<absl::string_view> header, absl::Time now) {
  if (!header.has_value()) return false;
  absl::StatusOr<Advertisement> ad = ParseAdvertisement(*header);
  if (!current_.has_value()) {
    if (status != 200 || !ad.ok()) return false;
    current_ = *std::move(ad);
    valid_until_ = now + trust_;
    revalidating_ = false;
    return true;
  }
  if (!ad.ok() || ad->prefix != current_->prefix || ad->manifest_id != current_->manifest_id) {
    // Conflicting advertisements (e.g. replicas on different versions mid-deploy): the origin
    // answers until one version advertises alone again.
    Detach();
    return true;
  }
  if (status == 200) {
    valid_until_ = now + trust_;
    revalidating_ = false;
  }
  return false;
}

bool Attachment::OnRevalidation(int status, std::optional<absl::string_view> header, absl::Time now) {
  absl::StatusOr<Advertisement> ad =
      header.has_value() ? ParseAdvertisement(*header) : absl::NotFoundError("no turbocharger header");
  if (status != 200 || !ad.ok()) {
    const bool was = current_.has_value();
    Detach();
    return was;
  }
  const bool changed = !current_.has_value() || current_->prefix != ad->prefix ||
                       current_->manifest_id != ad->manifest_id;
  current_ = *std::move(ad);
  valid_until_ = now + trust_;
  revalidating_ = false;
  return changed;
}

std::optional<Attachment::Match> Attachment::MatchFor(const Advertisement& ad, absl::string_view path) {
  if (!absl::StartsWith(path, ad.prefix)) return std::nullopt;
  Match match;
  match.manifest_id = ad.manifest_id;
  match.prefix = ad.prefix;
  match.path = std::string(path.substr(ad.prefix.size()));
  if (match.path.empty() || match.path[0] != '/') match.path.insert(0, "/");
  return match;
}

std::optional<Attachment::Match> Attachment::Lookup(absl::string_view path, absl::Time now) {
  if (!current_.has_value()) return std::nullopt;
  std::optional<Match> match = MatchFor(*current_, path);
  if (!match.has_value()) return std::nullopt;
  // One re-validation at a time: both kinds always answer within their timeouts (an unreachable
  // origin is an answer: detach), so a second one starts only if an answer was lost outright.
  if (now >= valid_until_ && (!revalidating_ || now >= revalidation_started_ + kLostRevalidation)) {
    revalidating_ = true;
    revalidation_started_ = now;
    match->revalidate = true;
  }
  return match;
}

void SharedAttachment::PublishLocked() {
  const std::optional<Advertisement>& current = attachment_.current();
  // Trusted only while no re-validation is due: an expired window sends requests to the locked
  // path, which decides (once) to re-validate; InfinitePast/Future map to the int64 extremes.
  valid_until_ns_.store(current.has_value() ? absl::ToUnixNanos(attachment_.valid_until()) : 0,
                        std::memory_order_release);
  const Advertisement* shown = view_.load(std::memory_order_relaxed);
  if (!current.has_value()) {
    view_.store(nullptr, std::memory_order_release);
    return;
  }
  if (shown != nullptr && shown->prefix == current->prefix && shown->manifest_id == current->manifest_id) return;
  for (const std::unique_ptr<const Advertisement>& ad : published_) {  // re-attached to one seen before
    if (ad->prefix == current->prefix && ad->manifest_id == current->manifest_id) {
      view_.store(ad.get(), std::memory_order_release);
      return;
    }
  }
  published_.push_back(std::make_unique<const Advertisement>(*current));
  view_.store(published_.back().get(), std::memory_order_release);
}

}  // namespace edgerouter::turbocharger
