#include "dataplane/pipeline/chain.h"

#include "absl/strings/str_cat.h"

namespace edgerouter::pipeline {

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
