#include "controlplane/eventlog/lease_keeper.h"

#include <utility>

#include "common/log/log.h"

namespace edgerouter::controlplane {

LeaseKeeper::LeaseKeeper(std::string name, std::unique_ptr<Lease> lease, absl::Duration interval)
    : name_(std::move(name)), lease_(std::move(lease)), interval_(interval) {}

LeaseKeeper::~LeaseKeeper() { Stop(); }

void LeaseKeeper::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void LeaseKeeper::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool LeaseKeeper::held() { return lease_->IsHeld(); }

std::string LeaseKeeper::holder() {
  absl::MutexLock lock(&mu_);
  return holder_;
}

std::string LeaseKeeper::last_error() {
  absl::MutexLock lock(&mu_);
  return last_error_;
}

void LeaseKeeper::Run() {
  bool was_held = false;
  for (;;) {
    absl::StatusOr<bool> acquired = lease_->TryAcquire();
    absl::StatusOr<std::string> holder = lease_->Holder();
    const bool now_held = acquired.ok() && *acquired;
    if (now_held != was_held) {
      log::Info(now_held ? "lease acquired" : "lease lost").Kv("lease", name_);
      was_held = now_held;
    }
    absl::MutexLock lock(&mu_);
    if (holder.ok()) holder_ = *holder;
    last_error_ = !acquired.ok() ? std::string(acquired.status().message())
                  : !holder.ok() ? std::string(holder.status().message())
                                 : "";
    const absl::Time deadline = absl::Now() + interval_;
    auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    if (mu_.AwaitWithDeadline(absl::Condition(&stopping), deadline)) return;
  }
}

}  // namespace edgerouter::controlplane
