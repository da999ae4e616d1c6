#include "dataplane/pipeline/chain.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace edgerouter::pipeline {

void ResponseHeadEdit::Remove(absl::string_view name) {
  add.erase(std::remove_if(add.begin(), add.end(),
                           [name](const auto& field) { return absl::EqualsIgnoreCase(field.first, name); }),
            add.end());
  if (!Removes(name)) remove.emplace_back(name);
}

bool ResponseHeadEdit::Removes(absl::string_view name) const {
  for (const std::string& r : remove) {
    if (absl::EqualsIgnoreCase(r, name)) return true;
  }
  return false;
}

std::string Chain::Describe() const {
  std::string out;
  for (const auto& s : access_) absl::StrAppend(&out, s->name(), " -> ");
  for (const auto& s : request_) absl::StrAppend(&out, s->name(), " -> ");
  absl::StrAppend(&out, terminal_->kind());
  for (const auto& s : response_) absl::StrAppend(&out, " <- ", s->name());
  return out;
}

absl::Status ChainBuilder::SetTerminal(std::unique_ptr<const Terminal> terminal) {
  if (terminal_ != nullptr) {
    return absl::InternalError(
        absl::StrCat("two terminal handlers in one chain: ", terminal_->kind(), " and ", terminal->kind()));
  }
  terminal_ = std::move(terminal);
  return absl::OkStatus();
}

absl::StatusOr<Chain> ChainBuilder::Build() {
  if (terminal_ == nullptr) return absl::InternalError("chain has no terminal handler");
  Chain chain;
  chain.access_ = std::move(access_);
  chain.request_ = std::move(request_);
  chain.response_ = std::move(response_);
  chain.terminal_ = std::move(terminal_);
  return chain;
}

}  // namespace edgerouter::pipeline
