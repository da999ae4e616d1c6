// An app's compiled request pipeline: access stages in order, request stages, response
// stages, and exactly one terminal handler. Compiled from the snapshot (registry.h), then
// immutable and shared by every worker through the app's AppRuntime.
#ifndef EDGEROUTER_DATAPLANE_PIPELINE_CHAIN_H_
#define EDGEROUTER_DATAPLANE_PIPELINE_CHAIN_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/pipeline/stage.h"

namespace edgerouter::pipeline {

class Chain {
 public:
  Chain(Chain&&) = default;
  Chain& operator=(Chain&&) = default;

  // Runs the request through the stages; the first that answers ends it, otherwise the
  // terminal handles it.
  void Run(Exchange& exchange, const std::string& path) const {
    for (const auto& stage : access_) {
      if (stage->Check(exchange) == Verdict::kAnswered) return;
    }
    for (const auto& stage : request_) {
      if (stage->OnRequest(exchange) == Verdict::kAnswered) return;
    }
    terminal_->Handle(exchange, path);
  }

  // Response heads of the requests this chain took go through the response stages (in the
  // order they were added) before the connection writes them. The connection checks
  // has_response_stages() first: a chain without any costs one branch per response.
  bool has_response_stages() const { return !response_.empty(); }
  void RunResponseStages(Exchange& exchange, const ResponseHeadView& head, ResponseHeadEdit* edit) const {
    for (const auto& stage : response_) stage->OnResponseHead(exchange, head, edit);
  }

  const Terminal& terminal() const { return *terminal_; }
  const std::vector<std::unique_ptr<const AccessStage>>& access_stages() const { return access_; }
  const std::vector<std::unique_ptr<const RequestStage>>& request_stages() const { return request_; }
  const std::vector<std::unique_ptr<const ResponseStage>>& response_stages() const { return response_; }
  // "auth_v0 -> reverse_proxy": the parts in the order a request meets them.
  std::string Describe() const;

 private:
  friend class ChainBuilder;
  Chain() = default;

  std::vector<std::unique_ptr<const AccessStage>> access_;
  std::vector<std::unique_ptr<const RequestStage>> request_;
  std::vector<std::unique_ptr<const ResponseStage>> response_;
  std::unique_ptr<const Terminal> terminal_;
};

// Collects a chain's parts while backend factories run (a wrapper such as auth_v0 adds its
// access stage, then compiles its inner backend into the same builder).
class ChainBuilder {
 public:
  void AddAccess(std::unique_ptr<const AccessStage> stage) { access_.push_back(std::move(stage)); }
  void AddRequest(std::unique_ptr<const RequestStage> stage) { request_.push_back(std::move(stage)); }
  void AddResponse(std::unique_ptr<const ResponseStage> stage) { response_.push_back(std::move(stage)); }
  // Exactly one per chain: a second one is an error naming both kinds.
  absl::Status SetTerminal(std::unique_ptr<const Terminal> terminal);
  // Fails without a terminal. The builder is spent afterwards.
  absl::StatusOr<Chain> Build();

 private:
  std::vector<std::unique_ptr<const AccessStage>> access_;
  std::vector<std::unique_ptr<const RequestStage>> request_;
  std::vector<std::unique_ptr<const ResponseStage>> response_;
  std::unique_ptr<const Terminal> terminal_;
};

}  // namespace edgerouter::pipeline

#endif  // EDGEROUTER_DATAPLANE_PIPELINE_CHAIN_H_
