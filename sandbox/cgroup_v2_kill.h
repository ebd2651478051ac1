// Emptying a cgroup v2 for good: cgroup.kill, or freeze and signal each
// process where cgroup.kill is missing or unusable; and the probes that
// decide which.
#ifndef SCRC_SANDBOX_CGROUP_V2_KILL_H_
#define SCRC_SANDBOX_CGROUP_V2_KILL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "sandbox/cgroup_files.h"

namespace scrc::sandbox {

// With the files a box keeps open: `kill_file` (cgroup.kill) may be closed.
absl::Status KillCgroupV2With(const std::string& dir,
                              const CgroupFile& kill_file,
                              const CgroupFile& events, absl::Duration timeout);

// Kills every process of the v2 cgroup at `dir` (cgroup.kill, else freeze and
// SIGKILL each) and waits up to `timeout` until it is empty.
// use_cgroup_kill=false takes the way of kernels before 5.14 (for tests).
absl::Status KillCgroupV2(const std::string& dir, absl::Duration timeout,
                          bool use_cgroup_kill = true);

// Whether clone3(CLONE_INTO_CGROUP) exists here (kernel 5.7+, and not
// filtered by a seccomp policy around us). Creates no process.
bool CloneIntoCgroupSupported();

// Whether this kernel SIGKILLs children cloned with CLONE_INTO_CGROUP into a
// cgroup that cgroup.kill was once written to (a kernel bug, since fixed
// upstream). Probes with a throwaway cgroup below `parent_dir`.
bool KillPoisonsCloneInto(const std::string& parent_dir);

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_CGROUP_V2_KILL_H_
