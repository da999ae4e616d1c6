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

std::optional<Attachment::Match> Attachment::Lookup(absl::string_view path, absl::Time now) {
  if (!current_.has_value() || !absl::StartsWith(path, current_->prefix)) return std::nullopt;
  Match match;
  match.manifest_id = current_->manifest_id;
  match.prefix = current_->prefix;
  match.path = std::string(path.substr(current_->prefix.size()));
  if (match.path.empty() || match.path[0] != '/') match.path.insert(0, "/");
  // One re-validation at a time: both kinds always answer within their timeouts (an unreachable
  // origin is an answer: detach), so a second one starts only if an answer was lost outright.
  if (now >= valid_until_ && (!revalidating_ || now >= revalidation_started_ + kLostRevalidation)) {
    revalidating_ = true;
    revalidation_started_ = now;
    match.revalidate = true;
  }
  return match;
}

}  // namespace edgerouter::turbocharger
