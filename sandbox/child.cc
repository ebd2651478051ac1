#include "sandbox/child.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/namespaces.h"

namespace scrc::sandbox {
namespace {

// Descriptor numbers inside the box init. The program gets 0, 1, 2 only.
constexpr int kErrorFd = 3;
constexpr int kStatusFd = 4;
constexpr int kSyncFd = 5;

void WriteAll(int fd, const char* text) {
  size_t left = strlen(text);
  while (left > 0) {
    const ssize_t n = write(fd, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<size_t>(n);
  }
}

// Reports "<what> <object>: <errno text>" to the parent and exits.
[[noreturn]] void Fail(const char* what, const char* object) {
  const int err = errno;
  WriteAll(kErrorFd, what);
  if (object != nullptr) {
    WriteAll(kErrorFd, " ");
    WriteAll(kErrorFd, object);
  }
  WriteAll(kErrorFd, ": ");
  const char* desc = strerrordesc_np(err);
  WriteAll(kErrorFd, desc != nullptr ? desc : "unknown error");
  _exit(127);
}

// Moves the pipe ends to fixed numbers and closes everything else the runner
// had open (Kafka sockets, other boxes' pipes, ...).
void ArrangeDescriptors(const ChildPlan& plan) {
  // Lift every end above the targets first so no dup2 clobbers another.
  int fds[] = {plan.stdin_fd, plan.stdout_fd, plan.stderr_fd,
               plan.error_fd, plan.status_fd, plan.sync_fd};
  for (int& fd : fds) {
    fd = fcntl(fd, F_DUPFD_CLOEXEC, 16);
    if (fd < 0) _exit(126);
  }
  if (dup2(fds[0], 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[2], 2) < 0 ||
      dup3(fds[3], kErrorFd, O_CLOEXEC) < 0 ||
      dup3(fds[4], kStatusFd, O_CLOEXEC) < 0 ||
      dup3(fds[5], kSyncFd, O_CLOEXEC) < 0) {
    _exit(126);
  }
  syscall(SYS_close_range, kSyncFd + 1, ~0U, 0);
}

void DropPrivileges(const ChildPlan& plan) {
  // Capabilities held in the box's own user namespace: the bounding set
  // first (that needs CAP_SETPCAP), then the ids, then every other set.
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      Fail("drop bounding capability", nullptr);
    }
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  // Raw syscalls: glibc's wrappers broadcast the change to every thread
  // the runner had, through a lock another thread may have held at clone
  // time; this copy has one thread and would wait on that lock forever.
  if (plan.drop_groups && syscall(SYS_setgroups, 0, nullptr) != 0) {
    Fail("setgroups", nullptr);
  }
  if (syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0) {
    Fail("setresgid", nullptr);
  }
  if (syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0) {
    Fail("setresuid", nullptr);
  }
  if (cap_set_proc(plan.no_caps) != 0) Fail("cap_set_proc", nullptr);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Fail("no_new_privs", nullptr);
  // Seccomp last: the steps above need calls it forbids.
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, plan.seccomp) != 0) {
    Fail("seccomp", nullptr);
  }
}

void ResetSignals() {
  // The runner ignores SIGPIPE; a program must see the default.
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace

std::pair<char*, size_t> OwnCommandLine() {
  char stat[4096];
  const int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {nullptr, 0};
  const ssize_t n = read(fd, stat, sizeof(stat) - 1);
  close(fd);
  if (n <= 0) return {nullptr, 0};
  stat[n] = '\0';
  // Fields after the command name, which may hold spaces: the first is
  // field 3 (state); arg_start and arg_end are fields 48 and 49.
  const char* p = strrchr(stat, ')');
  if (p == nullptr) return {nullptr, 0};
  unsigned long long field[50] = {};
  int index = 2;
  while (*p != '\0' && index < 49) {
    while (*p == ' ' || *p == ')') ++p;
    ++index;
    field[index] = strtoull(p, nullptr, 10);
    while (*p != '\0' && *p != ' ') ++p;
  }
  if (index < 49 || field[49] <= field[48]) return {nullptr, 0};
  return {reinterpret_cast<char*>(field[48]),
          static_cast<size_t>(field[49] - field[48])};
}

void RunBoxInit(const ChildPlan& plan) {
  ArrangeDescriptors(plan);
  if (plan.cmdline != nullptr) memset(plan.cmdline, 0, plan.cmdline_size);
  // If the runner dies, its boxes die with it.
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  char go = 0;
  if (read(kSyncFd, &go, 1) != 1) _exit(125);  // the uid map is written

  if (sethostname("box", 3) != 0) Fail("sethostname", nullptr);
  if (plan.loopback_up && BringUpLoopbackInChild() != 0) {
    Fail("bring loopback up", nullptr);
  }
  const char* failed_op = nullptr;
  if (ExecuteMountPlan(*plan.mounts, &failed_op) != 0) Fail("mount", failed_op);
  if (chdir(plan.cwd) != 0) Fail("chdir", plan.cwd);
  ResetSignals();
  DropPrivileges(plan);
  // Rootless, the box user is the runner's own uid, so the init (a copy of
  // the runner that never execs) would stay dumpable: the program could read
  // its /proc/1/environ and /proc/1/mem, i.e. the runner's memory.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) Fail("set non-dumpable", nullptr);

  // A box made ahead of time waits here, fully built, until its run starts.
  if (read(kSyncFd, &go, 1) != 1) _exit(125);
  close(kSyncFd);

  // The program runs as pid 2 so that it behaves as anywhere else (pid 1
  // ignores signals it has no handler for); this init only reaps it.
  const pid_t program = vfork();
  if (program == 0) {
    // Limits bind the program only, not this init (RLIMIT_AS would starve a
    // sanitizer-built init; RLIMIT_CPU must not count the init's setup).
    for (const ChildRlimit& limit : plan.rlimits) {
      if (setrlimit(limit.resource, &limit.value) != 0) Fail("setrlimit", nullptr);
    }
    for (const char* path : plan.exec_candidates) {
      execve(path, plan.argv, plan.envp);
      if (errno != ENOENT && errno != ENOTDIR) break;
    }
    Fail("exec", plan.argv[0]);
  }
  if (program < 0) Fail("vfork", nullptr);
  // The program has exec'd (or reported why not): the init lets go of the
  // pipes now, so the parent sees EOF when the program's side closes, not
  // after this copy of the runner has torn down its address space.
  for (int fd : {0, 1, 2, kErrorFd}) close(fd);
  ProgramStatus status = {};
  while (wait4(program, &status.wait_status, 0, &status.usage) < 0) {
    if (errno != EINTR) Fail("wait4", nullptr);
  }
  // Whatever the program left behind stops now, before the parent hears of
  // the end: nothing of this run may act while the next one starts (the
  // namespace's teardown, which kills it too, finishes later).
  kill(-1, SIGKILL);
  // If exec failed, the error pipe already says why; the status is moot.
  if (write(kStatusFd, &status, sizeof(status)) != sizeof(status)) _exit(124);
  _exit(0);
}

}  // namespace scrc::sandbox
