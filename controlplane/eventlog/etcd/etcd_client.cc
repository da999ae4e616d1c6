#include "controlplane/eventlog/etcd/etcd_client.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/net/host_port.h"
#include "grpcpp/grpcpp.h"

namespace edgerouter::controlplane::etcd {
namespace {

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

}  // namespace

std::string EtcdPrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) < 0xff) {
      prefix.back() = static_cast<char>(prefix.back() + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // etcd: from the key to the end of the keyspace
}

absl::Status FromGrpc(const grpc::Status& status, absl::string_view context) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(context, ": ", status.error_message()));
}

absl::StatusOr<std::vector<std::string>> ParseEtcdEndpoints(absl::string_view list) {
  std::vector<std::string> out;
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    if (!absl::ConsumePrefix(&item, "http://")) absl::ConsumePrefix(&item, "https://");
    absl::ConsumeSuffix(&item, "/");
    absl::StatusOr<net::HostPort> endpoint = net::SplitHostPort(item);
    if (!endpoint.ok() || endpoint->port == 0) {
      return absl::InvalidArgumentError(absl::StrCat("etcd endpoint \"", item, "\": want host:port"));
    }
    out.push_back(endpoint->ToString());
  }
  if (out.empty()) return absl::InvalidArgumentError("no etcd endpoints given");
  return out;
}

absl::StatusOr<std::unique_ptr<EtcdClient>> EtcdClient::Create(EtcdClientOptions options) {
  if (options.endpoints.empty()) return absl::InvalidArgumentError("no etcd endpoints given");
  // Checked here so that the errors name the etcd flags, not the gRPC server's.
  if (options.tls.enabled() && options.tls.ca.empty()) {
    return absl::InvalidArgumentError("--etcd_tls_ca is required with TLS (the etcd servers are always verified)");
  }
  if (options.tls.cert.empty() != options.tls.key.empty()) {
    return absl::InvalidArgumentError("--etcd_tls_cert and --etcd_tls_key go together");
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      GrpcChannelCredentials(options.tls);
  if (!credentials.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("etcd TLS: ", credentials.status().message()));
  }
  std::unique_ptr<EtcdClient> client(new EtcdClient(std::move(options)));
  for (const std::string& address : client->options_.endpoints) {
    grpc::ChannelArguments args;
    // A member that vanished without a TCP reset (partition, frozen host) is noticed by
    // keepalive on an open watch within ~13 s. Not more often, and not without a call: etcd
    // allows pings every 5 s (--grpc-keepalive-min-time) and only with an open stream, and
    // answers more with GOAWAY. A restarted member is retried soon (gRPC's default reconnect
    // backoff grows to 2 minutes).
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 3000);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    // Also the longest a connection attempt may take (default 20 s): a starting member accepts
    // TCP before it speaks HTTP/2, and a channel must not sit in that attempt once it is ready.
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    args.SetMaxReceiveMessageSize(-1);  // range pages of large records
    // Each endpoint gets its own connection, not one shared by equal targets.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto endpoint = std::make_unique<Endpoint>();
    endpoint->address = address;
    endpoint->channel = grpc::CreateCustomChannel(address, *credentials, args);
    endpoint->kv = etcdserverpb::KV::NewStub(endpoint->channel);
    endpoint->watch = etcdserverpb::Watch::NewStub(endpoint->channel);
    endpoint->lease = etcdserverpb::Lease::NewStub(endpoint->channel);
    endpoint->maintenance = etcdserverpb::Maintenance::NewStub(endpoint->channel);
    client->endpoints_.push_back(std::move(endpoint));
  }
  return client;
}

EtcdClient::Endpoint& EtcdClient::Current() { return *endpoints_[current_.load() % endpoints_.size()]; }

void EtcdClient::Failed(const Endpoint& endpoint) {
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    if (endpoints_[i].get() != &endpoint) continue;
    size_t expected = i;  // only the first to notice moves on; others already did
    current_.compare_exchange_strong(expected, (i + 1) % endpoints_.size());
    return;
  }
}

// The synchronous API polls a channel only while some thread waits on it, so connecting is
// done here by waiting for state changes (that wait polls); a fail-fast call then goes out only
// on a READY channel, and a member that refuses connections is passed over at once.
grpc_connectivity_state EtcdClient::Connect(Endpoint& endpoint, absl::Time deadline) {
  grpc_connectivity_state state = endpoint.channel->GetState(/*try_to_connect=*/true);
  while (state == GRPC_CHANNEL_IDLE || state == GRPC_CHANNEL_CONNECTING) {
    if (!endpoint.channel->WaitForStateChange(state, absl::ToChronoTime(deadline))) break;
    state = endpoint.channel->GetState(/*try_to_connect=*/true);
  }
  return state;
}

absl::Status EtcdClient::Call(absl::string_view what, const Attempt& attempt) {
  const absl::Time start = absl::Now();
  const absl::Time call_deadline = start + options_.call_timeout;
  absl::Duration pause = absl::Milliseconds(20);
  std::string last_error = "no attempt";
  std::string last_endpoint;
  int attempts = 0;
  while (true) {
    Endpoint& endpoint = Current();
    const absl::Time deadline = std::min(absl::Now() + options_.attempt_timeout, call_deadline);
    ++attempts;
    const grpc_connectivity_state state = Connect(endpoint, deadline);
    if (state == GRPC_CHANNEL_READY) {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(deadline));
      grpc::Status status = attempt(endpoint, &context);
      if (status.ok()) return absl::OkStatus();
      // etcd answers its own expired context as UNKNOWN "context deadline exceeded".
      const bool timed_out = absl::Now() >= deadline ||
                             absl::StrContains(status.error_message(), "context deadline exceeded");
      if (!timed_out && !Retryable(status.error_code())) {
        return FromGrpc(status, absl::StrCat(what, ": ", endpoint.address));
      }
      last_error = status.error_message();
    } else {
      last_error = state == GRPC_CHANNEL_TRANSIENT_FAILURE ? "cannot connect" : "connect timed out";
    }
    last_endpoint = endpoint.address;
    Failed(endpoint);
    const absl::Time now = absl::Now();
    if (now >= call_deadline) break;
    // A full round over the members failed: give the cluster a moment (an election, a restart)
    // to recover, polling the channel meanwhile so its reconnection progresses.
    if (attempts % endpoints_.size() == 0) {
      Endpoint& next = Current();
      next.channel->WaitForStateChange(next.channel->GetState(true),
                                       absl::ToChronoTime(std::min(now + pause, call_deadline)));
      pause = std::min(pause * 2, absl::Milliseconds(250));
    }
  }
  return absl::UnavailableError(absl::StrCat(
      what, ": no etcd member answered in ", absl::FormatDuration(absl::Now() - start), " (",
      attempts, " attempts over ", endpoints_.size(),
      " endpoints; the cluster may have lost quorum); last error from ", last_endpoint, ": ",
      last_error));
}

absl::StatusOr<etcdserverpb::RangeResponse> EtcdClient::Range(
    const etcdserverpb::RangeRequest& request, absl::string_view what) {
  etcdserverpb::RangeResponse response;
  absl::Status s = Call(what, [&](Endpoint& e, grpc::ClientContext* c) {
    return e.kv->Range(c, request, &response);
  });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<etcdserverpb::TxnResponse> EtcdClient::Txn(const etcdserverpb::TxnRequest& request,
                                                          absl::string_view what) {
  etcdserverpb::TxnResponse response;
  absl::Status s = Call(what, [&](Endpoint& e, grpc::ClientContext* c) {
    return e.kv->Txn(c, request, &response);
  });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<etcdserverpb::CompactionResponse> EtcdClient::Compact(
    const etcdserverpb::CompactionRequest& request, absl::string_view what) {
  etcdserverpb::CompactionResponse response;
  absl::Status s = Call(what, [&](Endpoint& e, grpc::ClientContext* c) {
    return e.kv->Compact(c, request, &response);
  });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<etcdserverpb::LeaseGrantResponse> EtcdClient::LeaseGrant(
    const etcdserverpb::LeaseGrantRequest& request, absl::string_view what) {
  etcdserverpb::LeaseGrantResponse response;
  absl::Status s = Call(what, [&](Endpoint& e, grpc::ClientContext* c) {
    return e.lease->LeaseGrant(c, request, &response);
  });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<etcdserverpb::LeaseRevokeResponse> EtcdClient::LeaseRevoke(
    const etcdserverpb::LeaseRevokeRequest& request, absl::string_view what) {
  etcdserverpb::LeaseRevokeResponse response;
  absl::Status s = Call(what, [&](Endpoint& e, grpc::ClientContext* c) {
    return e.lease->LeaseRevoke(c, request, &response);
  });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<etcdserverpb::StatusResponse> EtcdClient::Status(size_t endpoint_index) {
  Endpoint& endpoint = *endpoints_.at(endpoint_index);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.attempt_timeout));
  context.set_wait_for_ready(true);
  etcdserverpb::StatusResponse response;
  grpc::Status status = endpoint.maintenance->Status(&context, etcdserverpb::StatusRequest(), &response);
  if (!status.ok()) return FromGrpc(status, absl::StrCat("etcd status ", endpoint.address));
  return response;
}

}  // namespace edgerouter::controlplane::etcd
