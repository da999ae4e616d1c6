#include "controlplane/docker/test/docker_harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/test_util.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "nlohmann/json.hpp"

extern char** environ;

namespace edgerouter::testing {
namespace fs = std::filesystem;
namespace {

constexpr const char* kDockerd = "/usr/sbin/dockerd";
constexpr const char* kDockerCli = "/usr/bin/docker";
constexpr const char* kBusybox = "/bin/busybox";

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Tail(const std::string& text, size_t n) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

// One GET /_ping; true when the engine answers 200.
bool Ping(const std::string& socket) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return false;
  curl_easy_setopt(curl, CURLOPT_URL, "http://docker/_ping");
  curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 1000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Discard);
  long status = 0;
  bool ok = curl_easy_perform(curl) == CURLE_OK &&
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200;
  curl_easy_cleanup(curl);
  return ok;
}

// Removes a cgroup directory tree: children first, since a cgroup with sub-cgroups cannot go.
void RemoveCgroupTree(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return;
  std::vector<fs::path> dirs;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_directory(ec)) dirs.push_back(it->path());
  }
  std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
    return a.native().size() > b.native().size();
  });
  for (const fs::path& d : dirs) rmdir(d.c_str());
  rmdir(root.c_str());
}

}  // namespace


absl::StatusOr<std::unique_ptr<DockerHarness>> DockerHarness::Start() {
  for (const char* bin : {kDockerd, kDockerCli, kBusybox}) {
    if (access(bin, X_OK) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(bin, " missing: run scripts/setup.sh (docker.io, busybox-static)"));
    }
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::unique_ptr<DockerHarness> h(new DockerHarness());
  // A short path under /tmp: unix socket paths (ours and containerd's under exec-root) are
  // limited to 108 bytes, and Bazel's TEST_TMPDIR is far too deep.
  char tmpl[] = "/tmp/erdock.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
  h->dir_ = tmpl;
  // Unique per run, so parallel test runs never share (or remove) each other's cgroups.
  h->cgroup_parent_ = absl::StrCat("erdock-", getpid(), "-", h->dir_.substr(strlen("/tmp/erdock.")));
  // The CLI would otherwise write ~/.docker/; keep even that private.
  setenv("DOCKER_CONFIG", (h->dir_ + "/cli").c_str(), 1);
  if (absl::Status s = h->Launch(); !s.ok()) return s;
  if (absl::Status s = h->WaitReady(absl::Seconds(30)); !s.ok()) return s;
  if (absl::Status s = h->ImportImage(); !s.ok()) return s;
  return h;
}

absl::Status DockerHarness::Launch() {
  nlohmann::json cfg = {
      {"hosts", {"unix://" + dir_ + "/docker.sock"}},
      {"data-root", dir_ + "/data"},
      {"exec-root", dir_ + "/exec"},
      {"pidfile", dir_ + "/dockerd.pid"},
      {"storage-driver", "vfs"},
      // This VM has no NAT, no bridges and no iptables for us; containers use the host network.
      {"iptables", false},
      {"ip6tables", false},
      {"ip-masq", false},
      {"ip-forward", false},
      {"bridge", "none"},
      {"exec-opts", {"native.cgroupdriver=cgroupfs"}},  // no systemd here
      {"cgroup-parent", "/" + cgroup_parent_},
      // The process may not lower its OOM score nor raise rlimits (no CAP_SYS_RESOURCE).
      {"oom-score-adjust", 0},
      {"default-ulimits",
       {{"nofile", {{"Name", "nofile"}, {"Soft", 1024}, {"Hard", 1024}}},
        {"nproc", {{"Name", "nproc"}, {"Soft", 1024}, {"Hard", 1024}}}}},
      {"default-runtime", "runc"},
      {"init", true},
      {"shutdown-timeout", 2},
  };
  const std::string cfg_path = dir_ + "/daemon.json";
  std::ofstream(cfg_path) << cfg.dump(2);
  const std::string log_path = dir_ + "/dockerd.log";

  // Everything the child needs is built before fork: only async-signal-safe calls after it.
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (strncmp(*e, "PATH=", 5) != 0) env.emplace_back(*e);
  }
  // dockerd finds containerd, runc and docker-init on PATH.
  env.emplace_back("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
  // Stops Swarm from trying to pull an image before every task (no registry here).
  env.emplace_back("DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1");
  // dockerd announces readiness the systemd way (sd_notify "READY=1"); our own datagram socket
  // receives it, so the harness waits for that event instead of polling /_ping.
  notify_path_ = dir_ + "/notify.sock";
  notify_fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un notify_addr{};
  notify_addr.sun_family = AF_UNIX;
  strncpy(notify_addr.sun_path, notify_path_.c_str(), sizeof(notify_addr.sun_path) - 1);
  if (notify_fd_ < 0 || bind(notify_fd_, reinterpret_cast<sockaddr*>(&notify_addr), sizeof(notify_addr)) != 0) {
    return absl::InternalError("cannot create the sd_notify socket");
  }
  env.emplace_back("NOTIFY_SOCKET=" + notify_path_);
  std::vector<std::string> argv = {kDockerd, "--config-file", cfg_path};
  std::vector<char*> cargv, cenv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (std::string& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::InternalError("cannot create dockerd.log");
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    // If the test binary dies (timeout, crash), dockerd shuts down instead of lingering.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    chdir(dir_.c_str());
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  close(log_fd);
  pid_ = pid;
  return absl::OkStatus();
}

absl::Status DockerHarness::WaitReady(absl::Duration timeout) {
  // Two events end the wait: dockerd's READY=1 datagram, or dockerd exiting (its pidfd).
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    pollfd fds[2] = {{notify_fd_, POLLIN, 0}, {pidfd, POLLIN, 0}};
    const int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (poll(fds, pidfd >= 0 ? 2 : 1, std::max(wait_ms, 0)) <= 0) break;
    if (fds[0].revents & POLLIN) {
      char msg[512];
      const ssize_t n = recv(notify_fd_, msg, sizeof(msg) - 1, 0);
      if (n > 0 && absl::StrContains(absl::string_view(msg, n), "READY=1")) {
        if (pidfd >= 0) close(pidfd);
        // One request to confirm the API answers on our socket (not a poll).
        if (!Ping(dir_ + "/docker.sock")) return absl::InternalError("dockerd said READY but /_ping failed");
        return absl::OkStatus();
      }
      continue;  // other notifications (STATUS=…)
    }
    if (pidfd >= 0 && (fds[1].revents & POLLIN)) {
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
      close(pidfd);
      return absl::InternalError(absl::StrCat("dockerd exited (status ", status, "); log:\n",
                                              Tail(ReadSmallFile(dir_ + "/dockerd.log"), 3000)));
    }
  }
  if (pidfd >= 0) close(pidfd);
  return absl::DeadlineExceededError(absl::StrCat("dockerd not ready; log:\n",
                                                  Tail(ReadSmallFile(dir_ + "/dockerd.log"), 3000)));
}

absl::Status DockerHarness::ImportImage() {
  // The image is just a static busybox: no registry is reachable from here.
  const std::string rootfs = dir_ + "/rootfs";
  std::error_code ec;
  fs::create_directories(rootfs + "/bin", ec);
  fs::create_directories(rootfs + "/www", ec);
  if (!fs::copy_file(kBusybox, rootfs + "/bin/busybox", ec)) {
    return absl::InternalError(absl::StrCat("copy busybox: ", ec.message()));
  }
  // Docker runs health checks (CMD-SHELL) with /bin/sh.
  fs::create_symlink("busybox", rootfs + "/bin/sh", ec);
  const std::string tar = dir_ + "/rootfs.tar";
  absl::StatusOr<std::unique_ptr<Subprocess>> p =
      Subprocess::Start({"/bin/tar", "-C", rootfs, "-cf", tar, "."});
  if (!p.ok()) return p.status();
  absl::StatusOr<int> st = (*p)->Wait(absl::Seconds(30));
  if (!st.ok() || !WIFEXITED(*st) || WEXITSTATUS(*st) != 0) {
    return absl::InternalError(absl::StrCat("tar failed: ", (*p)->Output()));
  }
  return Docker({"import", "-c", R"(CMD ["/bin/busybox","sh"])", tar, kImage}).status();
}

absl::StatusOr<std::string> DockerHarness::DockerOutput(std::vector<std::string> args,
                                                        absl::Duration timeout) {
  std::vector<std::string> argv = {kDockerCli, "-H", url()};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string cmd = absl::StrJoin(args, " ");
  absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(argv);
  if (!p.ok()) return p.status();
  absl::StatusOr<int> st = (*p)->Wait(timeout);
  if (!st.ok()) {
    (*p)->Signal(SIGKILL);
    return absl::DeadlineExceededError(absl::StrCat("docker ", cmd, ": timed out"));
  }
  std::string out = (*p)->Output();
  if (!WIFEXITED(*st) || WEXITSTATUS(*st) != 0) {
    return absl::InternalError(absl::StrCat("docker ", cmd, " failed: ", out));
  }
  return out;
}

absl::StatusOr<std::string> DockerHarness::Docker(std::vector<std::string> args,
                                                  absl::Duration timeout) {
  absl::StatusOr<std::string> out = DockerOutput(std::move(args), timeout);
  if (!out.ok()) return out.status();
  // stderr is merged in; the result (an id) is the last line.
  std::vector<absl::string_view> lines = absl::StrSplit(*out, '\n', absl::SkipWhitespace());
  return lines.empty() ? std::string() : std::string(lines.back());
}

DockerHarness::~DockerHarness() { Teardown(); }

absl::Status DockerHarness::StopDaemon() {
  if (pid_ <= 0) return absl::FailedPreconditionError("dockerd is not running");
  kill(pid_, SIGTERM);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return absl::OkStatus();
}

absl::Status DockerHarness::StartDaemon() {
  if (pid_ > 0) return absl::FailedPreconditionError("dockerd is already running");
  if (notify_fd_ >= 0) close(notify_fd_);
  notify_fd_ = -1;
  unlink(notify_path_.c_str());
  if (absl::Status s = Launch(); !s.ok()) return s;
  return WaitReady(absl::Seconds(30));
}

absl::Status DockerHarness::InitSwarm() {
  // Interface names are limited to 15 bytes; the dir suffix keeps parallel runs apart.
  const std::string suffix = dir_.substr(strlen("/tmp/erdock."));
  // Parallel runs (e.g. --runs_per_test) each get their own subnet and ports.
  const int port = PickFreeLoopbackPort();
  const std::string subnet = absl::StrCat("10.215.", port % 250, ".0/24");
  absl::StatusOr<std::string> net = Docker(
      {"network", "create", "--subnet", subnet, "--opt", "com.docker.network.bridge.name=ergw" + suffix,
       "--opt", "com.docker.network.bridge.enable_ip_masquerade=false", "docker_gwbridge"});
  if (!net.ok()) return net.status();
  absl::StatusOr<std::string> init =
      Docker({"swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", absl::StrCat("127.0.0.1:", port),
              "--data-path-port", absl::StrCat(PickFreeLoopbackPort() % 40000 + 5000)});
  if (!init.ok()) return init.status();
  swarm_ = true;
  return absl::OkStatus();
}

void DockerHarness::Teardown() {
  if (notify_fd_ >= 0) {
    close(notify_fd_);
    notify_fd_ = -1;
  }
  if (pid_ > 0 && swarm_) {
    absl::StatusOr<std::string> services = DockerOutput({"service", "ls", "-q"}, absl::Seconds(30));
    if (services.ok()) {
      std::vector<std::string> rm = {"service", "rm"};
      for (absl::string_view id : absl::StrSplit(*services, '\n', absl::SkipWhitespace())) rm.emplace_back(id);
      if (rm.size() > 2) DockerOutput(rm, absl::Seconds(60)).IgnoreError();
    }
    DockerOutput({"swarm", "leave", "--force"}, absl::Seconds(60)).IgnoreError();
    DockerOutput({"network", "rm", "docker_gwbridge"}, absl::Seconds(30)).IgnoreError();
  }
  if (pid_ > 0) {
    // Containers first, so dockerd does not have to stop them during its 2 s shutdown.
    absl::StatusOr<std::string> ids = DockerOutput({"ps", "-aq"}, absl::Seconds(30));
    if (ids.ok()) {
      std::vector<std::string> rm = {"rm", "-f"};
      for (absl::string_view id : absl::StrSplit(*ids, '\n', absl::SkipWhitespace())) {
        rm.emplace_back(id);
      }
      if (rm.size() > 2) DockerOutput(rm, absl::Seconds(60)).IgnoreError();
    }
    // TERM the dockerd named by our pidfile; it is our own child, so only if they agree.
    int from_file = 0;
    const bool agree = absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadSmallFile(dir_ + "/dockerd.pid")),
                                        &from_file) && from_file == pid_;
    if (!agree) fprintf(stderr, "docker harness: pidfile does not name our dockerd %d\n", pid_);
    kill(pid_, SIGTERM);
    const pid_t pid = pid_;
    // Blocking waitpid on a helper thread, bounded by wait_for: no polling loop.
    std::future<void> reaped = std::async(std::launch::async, [pid] {
      int status;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    });
    if (reaped.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      fprintf(stderr, "docker harness: dockerd ignored SIGTERM, killing it\n");
      kill(pid, SIGKILL);
    }
    reaped.wait();
    pid_ = -1;
  }
  // After a crashed dockerd, container processes survive; they are ours (our cgroup parent).
  std::error_code ec;
  const fs::path pids_root = fs::path("/sys/fs/cgroup/pids") / cgroup_parent_;
  if (!cgroup_parent_.empty() && fs::is_directory(pids_root, ec)) {
    for (auto it = fs::recursive_directory_iterator(pids_root, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->path().filename() != "cgroup.procs") continue;
      std::istringstream procs(ReadSmallFile(it->path()));
      for (pid_t p; procs >> p;) kill(p, SIGKILL);
    }
  }
  // Unmount what dockerd left under our dir (e.g. exec/netns/default), deepest first.
  std::vector<std::string> mounts;
  std::istringstream mountinfo(ReadSmallFile("/proc/self/mountinfo"));
  for (std::string line; std::getline(mountinfo, line);) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f.size() > 4 && absl::StartsWith(f[4], dir_ + "/")) mounts.push_back(f[4]);
  }
  std::sort(mounts.begin(), mounts.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& m : mounts) umount2(m.c_str(), MNT_DETACH);
  // The cgroup dirs named by cgroup-parent, in every v1 hierarchy and in the v2 one.
  if (!cgroup_parent_.empty()) {
    for (const auto& hierarchy : fs::directory_iterator("/sys/fs/cgroup", ec)) {
      RemoveCgroupTree(hierarchy.path() / cgroup_parent_);
    }
  }
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

}  // namespace edgerouter::testing
