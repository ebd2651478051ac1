#include "sandbox/cgroup_v2_kill.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "absl/strings/str_cat.h"
#include "sandbox/unique_fd.h"

namespace scrc::sandbox {
namespace {

// Waits until cgroup.events says "populated 0". kernfs flags a change of
// that file with POLLPRI, so this sleeps instead of spinning.
absl::Status WaitEmpty(const CgroupFile& events, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    absl::StatusOr<std::string> text = events.Read();
    if (!text.ok()) return text.status();
    int64_t populated = 1;
    if (FindCgroupKey(*text, "populated", &populated) && populated == 0) {
      return absl::OkStatus();
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat(
          "wait for ", events.path(), " to say 'populated 0': processes ",
          "still alive after ", absl::FormatDuration(timeout),
          " (stuck in uninterruptible sleep?)"));
    }
    struct pollfd pfd = {events.fd(), POLLPRI, 0};
    poll(&pfd, 1,
         static_cast<int>(
             absl::ToInt64Milliseconds(std::min(left, absl::Milliseconds(50))) +
             1));
  }
}

// Without cgroup.kill (kernel < 5.14, or see KillPoisonsCloneInto): freeze
// the cgroup so nothing forks between reading cgroup.procs and the kills
// (SIGKILL still reaches frozen tasks), then thaw it for the next run.
absl::Status KillEach(const std::string& dir, const CgroupFile& events,
                      absl::Duration timeout) {
  const std::string freeze = absl::StrCat(dir, "/cgroup.freeze");
  const bool frozen = WriteCgroupFile(freeze, "1").ok();
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status status;
  for (;;) {
    absl::StatusOr<std::string> procs =
        ReadCgroupFile(absl::StrCat(dir, "/cgroup.procs"));
    if (!procs.ok()) {
      status = procs.status();
      break;
    }
    const std::vector<pid_t> pids = ParsePidList(*procs);
    if (pids.empty()) break;
    for (pid_t pid : pids) kill(pid, SIGKILL);
    if (absl::Now() > deadline) break;  // WaitEmpty below reports it
    usleep(1000);
  }
  if (frozen) WriteCgroupFile(freeze, "0").IgnoreError();
  if (!status.ok()) return status;
  return WaitEmpty(events,
                   std::max(deadline - absl::Now(), absl::Milliseconds(1)));
}

}  // namespace

absl::Status KillCgroupV2With(const std::string& dir,
                              const CgroupFile& kill_file,
                              const CgroupFile& events,
                              absl::Duration timeout) {
  // Usually the box is empty by now (its PID namespace died with its init):
  // one read instead of a kill and a wait.
  absl::StatusOr<std::string> text = events.Read();
  if (!text.ok()) return text.status();
  int64_t populated = 1;
  if (FindCgroupKey(*text, "populated", &populated) && populated == 0) {
    return absl::OkStatus();
  }
  if (!kill_file.is_open()) return KillEach(dir, events, timeout);
  absl::Status status = kill_file.Write("1");
  if (!status.ok()) return status;
  return WaitEmpty(events, timeout);
}

absl::Status KillCgroupV2(const std::string& dir, absl::Duration timeout,
                          bool use_cgroup_kill) {
  CgroupFile kill_file;
  if (use_cgroup_kill) {
    absl::Status status = OpenOptionalCgroupFile(
        absl::StrCat(dir, "/cgroup.kill"), O_WRONLY, &kill_file);
    if (!status.ok()) return status;
  }
  absl::StatusOr<CgroupFile> events =
      CgroupFile::Open(absl::StrCat(dir, "/cgroup.events"), O_RDONLY);
  if (!events.ok()) return events.status();
  return KillCgroupV2With(dir, kill_file, *events, timeout);
}

bool CloneIntoCgroupSupported() {
  // fd INT_MAX is never open: a kernel that knows the flag fails with EBADF
  // before creating anything; one that does not says EINVAL (unknown flag)
  // or ENOSYS (no clone3, or a seccomp filter that hides it).
  struct clone_args args = {};
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = INT_MAX;
  const long pid = syscall(SYS_clone3, &args, sizeof(args));
  if (pid == 0) _exit(0);
  if (pid > 0) {
    waitpid(static_cast<pid_t>(pid), nullptr, 0);
    return true;
  }
  return errno == EBADF;
}

bool KillPoisonsCloneInto(const std::string& parent_dir) {
  // Kill an empty probe cgroup, clone a child into it, see if it survives.
  // A dot never occurs in a box name: the probe cannot collide with a box.
  const std::string probe = absl::StrCat(parent_dir, "/scrc.probe");
  if (mkdir(probe.c_str(), 0755) != 0 && errno != EEXIST) return false;
  bool poisoned = false;
  UniqueFd dir(open(probe.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid() &&
      WriteCgroupFile(absl::StrCat(probe, "/cgroup.kill"), "1").ok()) {
    struct clone_args args = {};
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(dir.get());
    const long pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid == 0) _exit(0);
    int status = 0;
    if (pid > 0 && waitpid(static_cast<pid_t>(pid), &status, 0) == pid) {
      poisoned = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    }
  }
  dir.reset();
  rmdir(probe.c_str());
  return poisoned;
}

}  // namespace scrc::sandbox
