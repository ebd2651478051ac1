// Cgroups left by a runner that was killed (SIGKILL, OOM) and so could not
// remove its own. Each runner marks the parent it makes (scrc-<pid>) with
// who made it: boot, PID namespace, pid and start time. A runner starting
// in the same cgroup later removes the parents whose maker is provably
// gone: same boot and PID namespace, and no process with that pid and start
// time any more. Parents without the mark, or made in another PID namespace
// (runners in containers that share a cgroup), are never touched.
#ifndef SCRC_SANDBOX_CGROUP_STALE_H_
#define SCRC_SANDBOX_CGROUP_STALE_H_

#include <string>
#include <vector>

namespace scrc::sandbox {

// Marks `dir` as made by this process. False when the mark cannot be set
// (then the directory is never swept if this process dies).
bool MarkCgroupMaker(const std::string& dir);

// Kills what runs in the stale scrc-<pid> children of `start_dir` and
// removes them. Returns the directories removed.
std::vector<std::string> SweepStaleCgroups(const std::string& start_dir);

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_CGROUP_STALE_H_
