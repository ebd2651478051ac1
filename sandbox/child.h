// What runs in the box between clone and exec. The child is the init of the
// box's PID namespace: it waits for its uid map, builds the filesystem, drops
// every privilege, waits for the start, then vforks the program and reports
// how it ended. When the
// init exits the kernel kills whatever is left in the namespace, so no
// process outlives its box.
//
// Everything here runs in a fork-like child of a multithreaded process: no
// allocation, no locks, only syscalls on data the parent prepared.
#ifndef SCRC_SANDBOX_CHILD_H_
#define SCRC_SANDBOX_CHILD_H_

#include <linux/filter.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include <utility>
#include <vector>

#include "sandbox/mount_plan.h"

namespace scrc::sandbox {

struct ChildRlimit {
  int resource;
  rlimit value;
};

// How the program ended, written by the init to the status pipe.
struct ProgramStatus {
  int wait_status;
  rusage usage;  // the program and the descendants it reaped
};

struct ChildPlan {
  // Pipe ends the child keeps; the parent closes them after clone.
  int sync_fd;    // read: a byte once the uid map is written, one to start
  int stdin_fd;   // read end of the stdin pipe
  int stdout_fd;  // write ends
  int stderr_fd;
  int error_fd;   // setup failure text; close-on-exec, so EOF means exec'd
  int status_fd;  // ProgramStatus of the program
  const MountPlan* mounts;
  bool loopback_up;      // rootless: a fresh netns per run, bring lo up
  bool drop_groups;      // root: setgroups(0) is allowed and needed
  uid_t uid;
  gid_t gid;
  std::vector<ChildRlimit> rlimits;
  const sock_fprog* seccomp;
  cap_t no_caps;              // an empty capability set, made by the parent
  const char* cwd;
  char* const* argv;          // NULL-terminated
  char* const* envp;          // NULL-terminated
  // argv[0] resolved against the profile's PATH, in order of preference.
  std::vector<const char*> exec_candidates;
  // The runner's own command line in memory (the init is a copy of the
  // runner): blanked so that the program's /proc/1/cmdline shows nothing.
  char* cmdline = nullptr;
  size_t cmdline_size = 0;
};

// Where this process's command line lives (from /proc/self/stat), for
// ChildPlan::cmdline; {nullptr, 0} when it cannot be read.
std::pair<char*, size_t> OwnCommandLine();

// Never returns.
[[noreturn]] void RunBoxInit(const ChildPlan& plan);

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_CHILD_H_
