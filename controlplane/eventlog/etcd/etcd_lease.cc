#include "controlplane/eventlog/etcd/etcd_lease.h"


#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "grpcpp/grpcpp.h"

namespace edgerouter::controlplane::etcd {

EtcdLease::EtcdLease(EtcdClient* client, std::string prefix, std::string name, std::string holder,
                     absl::Duration ttl)
    : client_(client),
      key_(absl::StrCat(prefix, "/lease/", name)),
      holder_(std::move(holder)),
      ttl_(std::max(ttl, absl::Seconds(2))) {  // etcd's minimum TTL is a few seconds anyway
  keepalive_ = std::thread([this] { KeepAliveLoop(); });
}

EtcdLease::~EtcdLease() {
  int64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    id = lease_id_;
  }
  keepalive_.join();
  if (id != 0) {
    // Handing over now rather than after the TTL; if this fails the TTL still frees the key.
    etcdserverpb::LeaseRevokeRequest revoke;
    revoke.set_id(id);
    (void)client_->LeaseRevoke(revoke, absl::StrCat("etcd lease ", key_, " revoke"));
  }
}

absl::StatusOr<bool> EtcdLease::TryAcquire() {
  int64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    if (lease_id_ != 0 && absl::Now() >= valid_until_) lease_id_ = 0;  // expired: start over
    id = lease_id_;
  }
  if (id == 0) {
    etcdserverpb::LeaseGrantRequest grant;
    grant.set_ttl(absl::ToInt64Seconds(ttl_));
    const absl::Time asked = absl::Now();
    auto granted = client_->LeaseGrant(grant, absl::StrCat("etcd lease ", key_, " grant"));
    if (!granted.ok()) return granted.status();
    if (!granted->error().empty()) {
      return absl::UnavailableError(absl::StrCat("etcd lease ", key_, " grant: ", granted->error()));
    }
    id = granted->id();
    absl::MutexLock lock(&mu_);
    lease_id_ = id;
    valid_until_ = asked + absl::Seconds(granted->ttl());
    key_held_ = false;
  }
  etcdserverpb::TxnRequest txn;
  etcdserverpb::Compare* absent = txn.add_compare();
  absent->set_key(key_);
  absent->set_target(etcdserverpb::Compare::CREATE);
  absent->set_result(etcdserverpb::Compare::EQUAL);
  absent->set_create_revision(0);
  etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_key(key_);
  put->set_value(holder_);
  put->set_lease(id);
  txn.add_failure()->mutable_request_range()->set_key(key_);
  auto response = client_->Txn(txn, absl::StrCat("etcd lease ", key_, " acquire"));
  if (!response.ok()) return response.status();
  bool held = response->succeeded();
  if (!held && response->responses_size() == 1) {
    const auto& kvs = response->responses(0).response_range().kvs();
    held = !kvs.empty() && kvs[0].lease() == id;  // ours already (an earlier TryAcquire)
  }
  absl::MutexLock lock(&mu_);
  key_held_ = held && lease_id_ == id;
  return key_held_ && absl::Now() < valid_until_;
}

bool EtcdLease::IsHeld() {
  absl::MutexLock lock(&mu_);
  return key_held_ && lease_id_ != 0 && absl::Now() < valid_until_;
}

absl::StatusOr<std::string> EtcdLease::Holder() {
  etcdserverpb::RangeRequest request;
  request.set_key(key_);
  auto response = client_->Range(request, absl::StrCat("etcd lease ", key_, " holder"));
  if (!response.ok()) return response.status();
  return response->kvs().empty() ? std::string() : response->kvs(0).value();
}

// One keepalive round trip on its own short stream, so a silent member cannot stall the loop.
absl::Status EtcdLease::KeepAliveOnce(int64_t id) {
  EtcdClient::Endpoint& endpoint = client_->Current();
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + client_->options().attempt_timeout));
  context.set_wait_for_ready(true);
  auto stream = endpoint.lease->LeaseKeepAlive(&context);
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(id);
  etcdserverpb::LeaseKeepAliveResponse response;
  const absl::Time sent = absl::Now();
  const bool ok = stream->Write(request) && stream->Read(&response);
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  if (!ok) {
    client_->Failed(endpoint);
    return FromGrpc(status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "no reply") : status,
                    absl::StrCat("etcd lease ", key_, " keepalive at ", endpoint.address));
  }
  absl::MutexLock lock(&mu_);
  if (lease_id_ != id) return absl::OkStatus();
  if (response.ttl() <= 0) {  // etcd says the lease is gone: so is our key
    lease_id_ = 0;
    key_held_ = false;
    return absl::NotFoundError(absl::StrCat("etcd lease ", key_, ": expired"));
  }
  valid_until_ = sent + absl::Seconds(response.ttl());
  return absl::OkStatus();
}

void EtcdLease::KeepAliveLoop() {
  absl::MutexLock lock(&mu_);
  while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), ttl_ / 3)) {
    const int64_t id = lease_id_;
    if (id == 0) continue;
    mu_.Unlock();
    absl::Status s = KeepAliveOnce(id);
    if (!s.ok()) log::Warn("etcd lease keepalive failed").Kv("error", s.message());
    mu_.Lock();
  }
}

}  // namespace edgerouter::controlplane::etcd
