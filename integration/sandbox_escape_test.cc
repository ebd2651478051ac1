// Hostile programs against the walls of the sandbox: signals to the host,
// namespace and mount calls, the host's network, the host's files, the
// runner's environment, the kernel's attack surface. Each program prints
// "name=result" lines (OK or the errno name); the tests assert them and what
// the host sees.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "integration/sandbox_fixture.h"
#include "integration/sandbox_programs.h"

namespace scrc::sandbox::testing {
namespace {

using SandboxEscapeTest = SandboxTest;

TEST_F(SandboxEscapeTest, KillMinusOneSparesHostProcesses) {
  Build("killall", WithTry(R"(
#include <signal.h>
#include <unistd.h>
int main(void) {
  pid_t child = fork();
  if (child == 0) { pause(); _exit(0); }
  TRY("kill_all", kill(-1, SIGKILL));
  TRY("kill_init", kill(1, SIGKILL));
  for (pid_t pid = 3; pid < 400; ++pid) {
    if (pid != getpid() && kill(pid, SIGKILL) == 0) printf("killed=%d\n", pid);
  }
  printf("survived=yes\n");
  return 0;
}
)"));
  // One host process of the box's own host uid, one of the runner's.
  const pid_t same_uid = SpawnSentinel({"/bin/sleep", "60"}, box_uid());
  const pid_t runner_uid = SpawnSentinel({"/bin/sleep", "60"});
  ASSERT_GT(same_uid, 0);
  ASSERT_GT(runner_uid, 0);
  absl::StatusOr<RunResult> r = Run(Spec({"/box/killall"}));
  const bool same_alive = ChildAlive(same_uid);
  const bool runner_alive = ChildAlive(runner_uid);
  KillAndReap(same_uid);
  KillAndReap(runner_uid);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(same_alive);
  EXPECT_TRUE(runner_alive);
  EXPECT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  std::map<std::string, std::string> kv = ParseKeyValues(r->stdout_data);
  // kill(-1) did reach the program's own child, so it was really sent.
  EXPECT_EQ(kv["kill_all"], "OK") << Describe(*r);
  EXPECT_EQ(kv["survived"], "yes") << Describe(*r);
}

TEST_F(SandboxEscapeTest, MountUnsharePtraceChrootSetnsAreDenied) {
  Build("escape", WithTry(R"(
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
int main(void) {
  TRY("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
  TRY("bind_mount", mount("/box", "/tmp", NULL, MS_BIND, NULL));
  TRY("umount", umount2("/box", MNT_DETACH));
  TRY("unshare_mnt", unshare(CLONE_NEWNS));
  TRY("unshare_user", unshare(CLONE_NEWUSER));
  TRY("unshare_net", unshare(CLONE_NEWNET));
  TRY("unshare_pid", unshare(CLONE_NEWPID));
  TRY("ptrace_traceme", ptrace(PTRACE_TRACEME, 0, NULL, NULL));
  TRY("ptrace_attach", ptrace(PTRACE_ATTACH, 1, NULL, NULL));
  TRY("chroot", chroot("/tmp"));
  TRY("pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp"));
  int fd = open("/proc/self/ns/mnt", O_RDONLY);
  TRY("setns_mnt", setns(fd, CLONE_NEWNS));
  fd = open("/proc/self/ns/user", O_RDONLY);
  TRY("setns_user", setns(fd, CLONE_NEWUSER));
  TRY("open_tree", syscall(SYS_open_tree, AT_FDCWD, "/box", 1));
  TRY("fsopen", syscall(SYS_fsopen, "tmpfs", 0));
  char buf[16];
  struct iovec local = {buf, sizeof(buf)}, remote = {buf, sizeof(buf)};
  TRY("process_vm_readv", process_vm_readv(1, &local, 1, &remote, 1, 0));
  return 0;
}
)"));
  absl::StatusOr<RunResult> r = Run(Spec({"/box/escape"}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  std::map<std::string, std::string> kv = ParseKeyValues(r->stdout_data);
  for (const char* call :
       {"mount", "bind_mount", "umount", "unshare_mnt", "unshare_user",
        "unshare_net", "unshare_pid", "ptrace_traceme", "ptrace_attach",
        "chroot", "pivot_root", "setns_mnt", "setns_user", "open_tree",
        "fsopen", "process_vm_readv"}) {
    EXPECT_EQ(kv[call], "EPERM") << call << "; " << Describe(*r);
  }
}

TEST_F(SandboxEscapeTest, CloneWithNewUserNamespaceFails) {
  Build("cloneuser", WithTry(R"(
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static long Clone3(unsigned long long flags) {
  struct clone_args args = {0};
  args.flags = flags;
  args.exit_signal = SIGCHLD;
  long rc = syscall(SYS_clone3, &args, sizeof(args));
  if (rc == 0) _exit(0);
  if (rc > 0) waitpid(rc, NULL, 0);
  return rc;
}
static long Clone(unsigned long flags) {
  long rc = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  if (rc == 0) _exit(0);
  if (rc > 0) waitpid(rc, NULL, 0);
  return rc;
}
int main(void) {
  TRY("clone_plain", Clone(0));
  TRY("clone_newuser", Clone(CLONE_NEWUSER));
  TRY("clone_newuser_newns", Clone(CLONE_NEWUSER | CLONE_NEWNS));
  TRY("clone3_newuser", Clone3(CLONE_NEWUSER));
  return 0;
}
)"));
  absl::StatusOr<RunResult> r = Run(Spec({"/box/cloneuser"}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  std::map<std::string, std::string> kv = ParseKeyValues(r->stdout_data);
  EXPECT_EQ(kv["clone_plain"], "OK") << Describe(*r);
  EXPECT_EQ(kv["clone_newuser"], "EPERM") << Describe(*r);
  EXPECT_EQ(kv["clone_newuser_newns"], "EPERM") << Describe(*r);
  // clone3's flags are out of seccomp's reach: it is refused whole.
  EXPECT_TRUE(kv["clone3_newuser"] == "ENOSYS" ||
              kv["clone3_newuser"] == "EPERM")
      << Describe(*r);
}

// A host IPv4 address other than loopback, or "" when there is none.
std::string HostAddress() {
  ifaddrs* addrs = nullptr;
  if (getifaddrs(&addrs) != 0) return "";
  std::string found;
  for (ifaddrs* a = addrs; a != nullptr && found.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN];
    const auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    if (!absl::StartsWith(text, "127.")) found = text;
  }
  freeifaddrs(addrs);
  return found;
}

TEST_F(SandboxEscapeTest, HostListenersAreUnreachable) {
  // A TCP listener on every host address and an abstract unix socket.
  const int tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(tcp, 0);
  sockaddr_in any = {};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  ASSERT_EQ(bind(tcp, reinterpret_cast<sockaddr*>(&any), sizeof(any)), 0);
  ASSERT_EQ(listen(tcp, 16), 0);
  socklen_t len = sizeof(any);
  ASSERT_EQ(getsockname(tcp, reinterpret_cast<sockaddr*>(&any), &len), 0);
  const int port = ntohs(any.sin_port);

  const std::string abstract_name = absl::StrCat("scrc-sbtest-", getpid());
  const int unix_fd =
      socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(unix_fd, 0);
  sockaddr_un un = {};
  un.sun_family = AF_UNIX;
  memcpy(un.sun_path + 1, abstract_name.data(), abstract_name.size());
  const socklen_t un_len = static_cast<socklen_t>(
      offsetof(sockaddr_un, sun_path) + 1 + abstract_name.size());
  ASSERT_EQ(bind(unix_fd, reinterpret_cast<sockaddr*>(&un), un_len), 0);
  ASSERT_EQ(listen(unix_fd, 16), 0);

  Build("connect", WithTry(R"(
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
static int Tcp(const char* ip, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return connect(fd, (struct sockaddr*)&a, sizeof(a));
}
int main(int argc, char** argv) {
  int port = atoi(argv[1]);
  TRY("loopback", Tcp("127.0.0.1", port));
  if (argv[2][0] != '\0') TRY("host_address", Tcp(argv[2], port));
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un u = {0};
  u.sun_family = AF_UNIX;
  size_t n = strlen(argv[3]);
  memcpy(u.sun_path + 1, argv[3], n);
  TRY("abstract_unix", connect(fd, (struct sockaddr*)&u, offsetof(struct sockaddr_un, sun_path) + 1 + n));
  /* The box's own loopback works: the failures above are the walls. */
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  TRY("own_listen", bind(l, (struct sockaddr*)&a, sizeof(a)) || listen(l, 1) ? -1 : 0);
  TRY("own_loopback", Tcp("127.0.0.1", port));
  return 0;
}
)"));
  const std::string host_address = HostAddress();
  absl::StatusOr<RunResult> r = Run(Spec(
      {"/box/connect", absl::StrCat(port), host_address, abstract_name}));
  // Whatever the program says, the listeners must have seen nobody.
  const int tcp_conn = accept(tcp, nullptr, nullptr);
  const int tcp_errno = errno;
  const int unix_conn = accept(unix_fd, nullptr, nullptr);
  const int unix_errno = errno;
  close(tcp);
  close(unix_fd);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(tcp_conn, -1);
  EXPECT_EQ(tcp_errno, EAGAIN);
  EXPECT_EQ(unix_conn, -1);
  EXPECT_EQ(unix_errno, EAGAIN);
  ASSERT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  std::map<std::string, std::string> kv = ParseKeyValues(r->stdout_data);
  EXPECT_EQ(kv["loopback"], "ECONNREFUSED") << Describe(*r);
  if (!host_address.empty()) {
    EXPECT_EQ(kv["host_address"], "ENETUNREACH") << Describe(*r);
  }
  EXPECT_EQ(kv["abstract_unix"], "ECONNREFUSED") << Describe(*r);
  EXPECT_EQ(kv["own_listen"], "OK") << Describe(*r);
  EXPECT_EQ(kv["own_loopback"], "OK") << Describe(*r);
}

// Opens each path read-only and prints "path=OK|ERRNO".
constexpr char kOpener[] = R"(
#include <fcntl.h>
int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) TRY(argv[i], open(argv[i], O_RDONLY));
  return 0;
}
)";

TEST_F(SandboxEscapeTest, HostFilesAreInvisible) {
  ASSERT_TRUE(WriteFile(dir_->Sub("secret.txt"), "secret\n").ok());
  Build("opener", WithTry(kOpener));
  const std::vector<std::string> hidden = {
      "/etc/shadow", "/root", "/home", "/work", "/work/main/CMakeLists.txt",
      dir_->path(), dir_->Sub("secret.txt"), state_dir_, "/sys", "/var",
      "/run", "/dev/sda", "/dev/mem", "/dev/kmsg"};
  // What must be there, so that the failures mean something.
  const std::vector<std::string> visible = {"/box/opener", "/etc/passwd",
                                            "/usr/bin/cat", "/dev/null",
                                            "/proc/self/status"};
  std::vector<std::string> argv = {"/box/opener"};
  argv.insert(argv.end(), hidden.begin(), hidden.end());
  argv.insert(argv.end(), visible.begin(), visible.end());
  absl::StatusOr<RunResult> r = Run(Spec(argv));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  std::map<std::string, std::string> kv = ParseKeyValues(r->stdout_data);
  for (const std::string& path : hidden) {
    EXPECT_EQ(kv[path], "ENOENT") << path << "; " << Describe(*r);
  }
  for (const std::string& path : visible) {
    EXPECT_EQ(kv[path], "OK") << path << "; " << Describe(*r);
  }
  // The box's /etc/passwd is the skeleton's, not the host's.
  EXPECT_NE(ReadFileOrEmpty("/etc/passwd"), "");
}

// Creates each path ("path=OK|ERRNO"); a trailing '/' means mkdir.
constexpr char kCreator[] = R"(
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
static int Create(const char* path) {
  size_t n = strlen(path);
  if (n > 1 && path[n - 1] == '/') return mkdir(path, 0755);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return -1;
  int rc = write(fd, "pwned\n", 6) == 6 ? 0 : -1;
  close(fd);
  return rc;
}
int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) TRY(argv[i], Create(argv[i]));
  return 0;
}
)";

TEST_F(SandboxEscapeTest, HostFilesCannotBeWritten) {
  Build("creator", WithTry(kCreator));
  const std::string probe = absl::StrCat("scrc-sbtest-probe-", getpid());
  const std::vector<std::string> read_only = {
      "/" + probe, "/usr/" + probe, "/usr/bin/" + probe, "/etc/" + probe,
      "/etc/passwd", "/lib/" + probe, "/box/" + probe, "/box/creator",
      "/box/../" + probe, "/usr/" + probe + "-dir/", "/proc/sys/kernel/hostname",
      "/proc/" + probe};
  const std::vector<std::string> writable = {"/tmp/" + probe, "/dev/null"};
  std::vector<std::string> argv = {"/box/creator"};
  argv.insert(argv.end(), read_only.begin(), read_only.end());
  argv.insert(argv.end(), writable.begin(), writable.end());
  const std::string skeleton_passwd =
      absl::StrCat(state_dir_, "/hostroot-hostile/etc/passwd");
  const std::string passwd_before = ReadFileOrEmpty(skeleton_passwd);
  ASSERT_FALSE(passwd_before.empty()) << skeleton_passwd;
  char hostname_before[256] = {};
  gethostname(hostname_before, sizeof(hostname_before) - 1);

  RunSpec spec = Spec(argv);
  spec.box_writable = false;
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  std::map<std::string, std::string> kv = ParseKeyValues(r->stdout_data);
  for (const std::string& path : read_only) {
    EXPECT_TRUE(kv[path] == "EROFS" || kv[path] == "EACCES" ||
                kv[path] == "ENOENT")
        << path << "=" << kv[path] << "; " << Describe(*r);
  }
  for (const std::string& path : writable) {
    EXPECT_EQ(kv[path], "OK") << path << "; " << Describe(*r);
  }
  // The host is unchanged.
  for (const std::string& path :
       {"/" + probe, "/usr/" + probe, "/usr/bin/" + probe, "/etc/" + probe,
        "/usr/" + probe + "-dir", "/tmp/" + probe, box_dir_ + "/" + probe,
        dir_->Sub(probe), state_dir_ + "/hostroot-hostile/" + probe}) {
    struct stat st;
    EXPECT_NE(lstat(path.c_str(), &st), 0) << path << " appeared on the host";
  }
  EXPECT_EQ(ReadFileOrEmpty(skeleton_passwd), passwd_before);
  EXPECT_NE(ReadFileOrEmpty(box_dir_ + "/creator"), "pwned\n");
  char hostname_after[256] = {};
  gethostname(hostname_after, sizeof(hostname_after) - 1);
  EXPECT_STREQ(hostname_after, hostname_before);
}

TEST_F(SandboxEscapeTest, WritableBoxWritesOnlyTheBoxAsTheBoxUser) {
  Build("creator", WithTry(kCreator));
  RunSpec spec = Spec({"/box/creator", "/box/out.txt", "/box/../escape.txt",
                       "/box/sub/"});
  spec.box_writable = true;
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  std::map<std::string, std::string> kv = ParseKeyValues(r->stdout_data);
  EXPECT_EQ(kv["/box/out.txt"], "OK") << Describe(*r);
  EXPECT_EQ(kv["/box/sub/"], "OK") << Describe(*r);
  EXPECT_EQ(kv["/box/../escape.txt"], "EROFS") << Describe(*r);
  struct stat st;
  ASSERT_EQ(stat((box_dir_ + "/out.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, box_uid());
  EXPECT_EQ(ReadFileOrEmpty(box_dir_ + "/out.txt"), "pwned\n");
  EXPECT_NE(lstat(dir_->Sub("escape.txt").c_str(), &st), 0);
}

TEST_F(SandboxEscapeTest, RunnerEnvironmentDoesNotLeak) {
  const std::string secret = absl::StrCat("xyz-", getpid(), "-leak");
  ASSERT_EQ(setenv("SCRC_SECRET", secret.c_str(), 1), 0);
  Build("environ", kEnvironDumper);
  absl::StatusOr<RunResult> r = Run(Spec({"/box/environ"}));
  unsetenv("SCRC_SECRET");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  EXPECT_FALSE(absl::StrContains(r->stdout_data, secret)) << Describe(*r);
  EXPECT_FALSE(absl::StrContains(r->stdout_data, "SCRC_SECRET")) << Describe(*r);
  // The spec's environment is all the program has.
  EXPECT_TRUE(absl::StrContains(r->stdout_data, "env=PATH=/usr/bin:/bin\n"));
  std::map<std::string, std::string> kv = ParseKeyValues(r->stdout_data);
  EXPECT_EQ(kv["env"], "PATH=/usr/bin:/bin");
  // The init is a copy of the runner: its memory must stay out of reach.
  for (const char* file : {"init_environ", "init_mem"}) {
    EXPECT_TRUE(kv[file] == "EACCES" || kv[file] == "EPERM")
        << file << "=" << kv[file] << "; " << Describe(*r);
  }
}

TEST_F(SandboxEscapeTest, KernelAttackSurfaceIsDenied) {
  Build("seccomp", WithTry(R"(
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
  struct io_uring_params params = {0};
  TRY("io_uring_setup", syscall(SYS_io_uring_setup, 8, &params));
  TRY("bpf", syscall(SYS_bpf, 0, NULL, 0));
  struct perf_event_attr attr = {0};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  TRY("perf_event_open", syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
  TRY("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0));
  TRY("add_key", syscall(SYS_add_key, "user", "k", "v", 1, -3));
  TRY("userfaultfd", syscall(SYS_userfaultfd, 0));
  TRY("getpid", getpid());
  return 0;
}
)"));
  absl::StatusOr<RunResult> r = Run(Spec({"/box/seccomp"}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  std::map<std::string, std::string> kv = ParseKeyValues(r->stdout_data);
  for (const char* call : {"io_uring_setup", "bpf", "perf_event_open", "keyctl",
                           "add_key", "userfaultfd"}) {
    EXPECT_EQ(kv[call], "EPERM") << call << "; " << Describe(*r);
  }
  EXPECT_EQ(kv["getpid"], "OK");
}

TEST_F(SandboxEscapeTest, BoxIdentity) {
  RunSpec spec = Spec(
      {"/bin/sh", "-c",
       "grep -E '^(NoNewPrivs|Seccomp|CapInh|CapPrm|CapEff|CapBnd|CapAmb|Uid|"
       "Gid|Groups):' /proc/self/status | tr -s '\\t ' ' ' | sed 's/: */=/';"
       "echo id=$(id -u):$(id -g); echo pid=$$;"
       "echo hostname=$(cat /proc/sys/kernel/hostname);"
       "echo x > /dev/null && echo devnull=OK;"
       "echo ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | "
       "tr '\\n' ' ')"});
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  EXPECT_EQ(r->exit_code, 0) << Describe(*r);
  std::map<std::string, std::string> kv = ParseKeyValues(r->stdout_data);
  EXPECT_EQ(kv["NoNewPrivs"], "1") << Describe(*r);
  EXPECT_EQ(kv["Seccomp"], "2") << Describe(*r);
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_EQ(kv[set], "0000000000000000") << set << "; " << Describe(*r);
  }
  EXPECT_EQ(kv["Uid"], "1000 1000 1000 1000") << Describe(*r);
  EXPECT_EQ(kv["Gid"], "1000 1000 1000 1000") << Describe(*r);
  EXPECT_EQ(kv["Groups"], "") << Describe(*r);
  EXPECT_EQ(kv["id"], "1000:1000") << Describe(*r);
  EXPECT_EQ(kv["pid"], "2") << Describe(*r);
  EXPECT_EQ(kv["hostname"], "box") << Describe(*r);
  EXPECT_EQ(kv["devnull"], "OK") << Describe(*r);
  EXPECT_EQ(kv["ifaces"], "lo") << Describe(*r);
}

TEST_F(SandboxEscapeTest, RunnerCommandLineIsBlank) {
  // The box init is a copy of the runner; its command line must not tell
  // the program how the runner was started.
  Build("cmdline", R"(
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  char buf[8192];
  int fd = open("/proc/1/cmdline", O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
  int shown = 0;
  for (ssize_t i = 0; i < n; ++i) shown += buf[i] != 0;
  printf("read=%d shown=%d\n", n >= 0, shown);
  if (n > 0) fwrite(buf, 1, n, stdout);
  return 0;
}
)");
  absl::StatusOr<RunResult> r = Run(Spec({"/box/cmdline"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(absl::StartsWith(r->stdout_data, "read=1 shown=0\n"))
      << Describe(*r);
  EXPECT_FALSE(absl::StrContains(r->stdout_data, "integration_tests"))
      << Describe(*r);
}

}  // namespace
}  // namespace scrc::sandbox::testing
