// Test helper: a process that competes for an etcd lease and says when it holds it, so tests
// can kill -9 a real holder. Usage: lease_holder <endpoints> <prefix> <name> <holder> <ttl_s>
#include <cstdio>
#include <cstdlib>

#include "controlplane/eventlog/etcd/etcd_client.h"
#include "controlplane/eventlog/etcd/etcd_lease.h"

int main(int argc, char** argv) {
  using namespace edgerouter::controlplane::etcd;
  if (argc != 6) {
    std::fprintf(stderr, "usage: lease_holder <endpoints> <prefix> <name> <holder> <ttl_s>\n");
    return 2;
  }
  auto endpoints = ParseEtcdEndpoints(argv[1]);
  if (!endpoints.ok()) return 2;
  EtcdClientOptions options;
  options.endpoints = *endpoints;
  auto client = EtcdClient::Create(options);
  if (!client.ok()) return 2;
  EtcdLease lease(client->get(), argv[2], argv[3], argv[4], absl::Seconds(std::atoi(argv[5])));
  bool held = false;
  while (true) {
    auto now_held = lease.TryAcquire();
    if (now_held.ok() && *now_held != held) {
      held = *now_held;
      std::printf("%s\n", held ? "lease held" : "lease not held");
      std::fflush(stdout);
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}
