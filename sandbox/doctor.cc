#include "sandbox/doctor.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "sandbox/cgroup_files.h"
#include "sandbox/namespaces.h"

namespace scrc::sandbox {
namespace {

const char* YesNo(bool b) { return b ? "yes" : "no"; }

// clone(flags) for real in a child that exits at once: 0 when the kernel
// (and any seccomp or LSM policy around us) allowed it, else the errno.
int TryClone(unsigned long flags) {
  const long pid =
      syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) _exit(0);
  if (pid < 0) return errno;
  int status = 0;
  waitpid(static_cast<pid_t>(pid), &status, 0);
  return 0;
}

std::string CloneResult(int err) {
  if (err == 0) return "yes";
  std::string out = absl::StrCat("no (", std::strerror(err));
  if (err == ENOSPC)
    absl::StrAppend(&out, ": max_user_namespaces reached or 0");
  if (err == EPERM) {
    absl::StrAppend(&out,
                    ": forbidden by a sysctl, an LSM or a seccomp "
                    "policy around scrc");
  }
  return absl::StrCat(out, ")");
}

// A one-line file such as a sysctl, or "absent".
std::string ReadOneLine(const std::string& path) {
  absl::StatusOr<std::string> text = ReadCgroupFile(path);
  if (!text.ok()) return "absent";
  return std::string(absl::StripAsciiWhitespace(*text));
}

// "Key:\tvalue" from /proc/self/status.
std::string StatusField(const std::string& status, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (absl::ConsumePrefix(&line, key) && absl::ConsumePrefix(&line, ":")) {
      return std::string(absl::StripAsciiWhitespace(line));
    }
  }
  return "unknown";
}

// A NULL filter program: a kernel with filter mode faults copying it
// (EFAULT) before installing anything; one without says EINVAL.
bool SeccompFilterSupported() {
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, nullptr, 0, 0) != 0 &&
         errno == EFAULT;
}

void Line(std::string* out, absl::string_view key, absl::string_view value) {
  absl::StrAppend(out, key, ": ", value, "\n");
}

}  // namespace

std::string DoctorReport(const Cgroups& cgroups) {
  std::string out;
  std::vector<std::string> notes;
  const uid_t uid = geteuid();
  Line(&out, "uid", absl::StrCat(uid));
  Line(&out, "mode",
       uid == 0 ? "root (boxes map to unprivileged host uids)"
                : "rootless (boxes map to the runner's uid)");

  // Namespaces: the one that everything else hangs on, then the full set a
  // box is cloned with.
  const int userns = TryClone(CLONE_NEWUSER);
  Line(&out, "user_namespaces", CloneResult(userns));
  Line(&out, "box_namespaces",
       CloneResult(TryClone(kBoxNamespaces | CLONE_NEWNET)));
  Line(&out, "max_user_namespaces",
       ReadOneLine("/proc/sys/user/max_user_namespaces"));
  const std::string debian = "/proc/sys/kernel/unprivileged_userns_clone";
  if (PathExists(debian))
    Line(&out, "unprivileged_userns_clone", ReadOneLine(debian));
  const std::string ubuntu =
      "/proc/sys/kernel/apparmor_restrict_unprivileged_userns";
  if (PathExists(ubuntu)) {
    Line(&out, "apparmor_restrict_unprivileged_userns", ReadOneLine(ubuntu));
  }
  if (userns != 0) {
    notes.push_back(
        "user namespaces are unavailable: scrc cannot build a box here "
        "(enable user.max_user_namespaces, or run in a container with "
        "--privileged or a seccomp profile that allows clone/unshare)");
  }

  // Seccomp.
  const std::string status =
      ReadCgroupFile("/proc/self/status").value_or(std::string());
  const bool seccomp = SeccompFilterSupported();
  Line(&out, "seccomp_filter", YesNo(seccomp));
  Line(&out, "seccomp_mode_of_scrc",
       absl::StrCat(prctl(PR_GET_SECCOMP, 0, 0, 0, 0),
                    " (0: none, 2: filtered "
                    "by a policy around scrc)"));
  Line(&out, "seccomp_filters_of_scrc", StatusField(status, "Seccomp_filters"));
  Line(&out, "no_new_privs_of_scrc", StatusField(status, "NoNewPrivs"));
  if (!seccomp) {
    notes.push_back(
        "seccomp filters are unavailable (kernel without "
        "CONFIG_SECCOMP_FILTER): boxes cannot be restricted to a syscall "
        "policy");
  }

  // Cgroups, as Detect found them.
  const CgroupCapabilities& caps = cgroups.capabilities();
  Line(&out, "cgroup_version",
       caps.version == 0 ? std::string("none") : absl::StrCat(caps.version));
  Line(&out, "cgroup_parent", caps.parent.empty() ? "none" : caps.parent);
  Line(&out, "cgroup_memory", YesNo(caps.memory));
  Line(&out, "cgroup_pids", YesNo(caps.pids));
  Line(&out, "cgroup_cpu_accounting", YesNo(caps.cpu_accounting));
  Line(&out, "cgroup_kill", YesNo(caps.kill));
  Line(&out, "clone_into_cgroup", YesNo(caps.clone_into));
  Line(&out, "memory_peak", YesNo(caps.memory_peak));

  // What that means for each limit of a run.
  Line(&out, "limit_memory",
       caps.memory ? "cgroup (whole tree, kernel-enforced, OOM kills detected)"
                   : "RLIMIT_AS (per process, address space not RSS)");
  Line(&out, "limit_pids",
       caps.pids ? "cgroup (whole tree)" : "RLIMIT_NPROC (per uid)");
  Line(&out, "limit_cpu_time",
       caps.cpu_accounting ? "cgroup accounting (whole tree)"
                           : "RLIMIT_CPU (main process only)");
  Line(&out, "limit_wall_time", "supervisor timer (always)");
  Line(&out, "measure_peak_memory",
       caps.memory_peak ? "cgroup (whole tree)" : "not measured by cgroup");
  Line(&out, "kill_box",
       caps.kill ? "cgroup.kill"
                 : (caps.version != 0 ? "signal each cgroup member, and "
                                        "PID namespace init"
                                      : "PID namespace init"));

  for (const std::string& note : caps.notes) notes.push_back(note);
  for (const std::string& note : notes) Line(&out, "note", note);
  return out;
}

}  // namespace scrc::sandbox
