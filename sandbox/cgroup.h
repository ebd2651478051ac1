// One interface over cgroup v2 and cgroup v1 (memory, pids, cpuacct).
// Callers never branch on the version: Cgroups::Detect picks once at start.
//
// scrc creates cgroups only below a parent of its own (by default a child of
// the cgroup it starts in) and never changes or removes one it did not make.
#ifndef SCRC_SANDBOX_CGROUP_H_
#define SCRC_SANDBOX_CGROUP_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace scrc::sandbox {

// What a box cgroup measured for one run.
struct CgroupUsage {
  absl::Duration cpu_time = absl::ZeroDuration();  // whole tree, user + sys
  int64_t peak_memory_bytes = 0;
  bool oom_killed = false;  // the memory limit was hit and the OOM killer ran
  bool pids_limit_hit = false;  // a fork/clone failed at the pids limit
};

// What this host lets scrc enforce; printed by `scrc doctor`.
struct CgroupCapabilities {
  int version = 0;  // 2, 1, or 0 when no usable cgroup
  bool memory = false;
  bool pids = false;
  bool cpu_accounting = false;
  bool kill = false;         // cgroup.kill (v2)
  bool clone_into = false;   // CLONE_INTO_CGROUP usable (v2)
  bool memory_peak = false;  // peak memory measured per run
  std::string parent;        // where scrc makes its cgroups (per controller for v1)
  std::vector<std::string> notes;  // why something is missing, what to do
};

// The cgroup of one slot, reused run after run (creating cgroups is not free).
class BoxCgroup {
 public:
  virtual ~BoxCgroup() = default;

  // Sets the limits for the next run (memory_bytes/pids of 0 mean "no
  // limit"), before its box is cloned.
  virtual absl::Status Prepare(int64_t memory_bytes, int64_t pids) = 0;
  // Starts the run's counters (CPU, peak memory, OOM and pids events) from
  // zero, right before the program starts: a box made ahead of time, idle in
  // the cgroup, does not count its setup.
  virtual absl::Status ResetCounters() = 0;
  // An O_DIRECTORY fd for clone3(CLONE_INTO_CGROUP), or -1 when the process
  // must be attached with Attach() after clone. Ask after each Prepare():
  // the fd may change when the cgroup has to be recreated per run.
  virtual int clone_into_fd() const = 0;
  // Moves a process (the box's init, before it execs) into the cgroup.
  virtual absl::Status Attach(pid_t pid) = 0;
  // Where there is no clone_into_fd(): moves the calling thread into the
  // cgroup, so the process it clones next is born there, until
  // LeaveThread(). Unlike Attach() it never waits for an RCU grace period
  // (cgroup v1). False when it cannot: then clone and Attach().
  virtual bool EnterThread() { return false; }
  // Moves the calling thread back to the runner's cgroup (aborts the runner
  // if that fails: a runner thread must never stay in a box's cgroup).
  virtual void LeaveThread() {}
  // Usage of the run since ResetCounters().
  virtual absl::StatusOr<CgroupUsage> Usage() = 0;
  // Kills every process in the cgroup and waits until it is empty.
  virtual absl::Status KillAll() = 0;
};

class Cgroups {
 public:
  virtual ~Cgroups() = default;

  // Finds a usable cgroup hierarchy and makes scrc's parent below
  // `parent_override` (an absolute cgroup path such as /scrc, or empty for
  // "a child of the cgroup this process starts in"). Never fails for lack of
  // cgroups: then it returns an implementation that enforces nothing, whose
  // capabilities() say so.
  static std::unique_ptr<Cgroups> Detect(const std::string& parent_override);

  virtual const CgroupCapabilities& capabilities() const = 0;
  // Creates (or takes over, after a crash) the cgroup of slot `name`.
  virtual absl::StatusOr<std::unique_ptr<BoxCgroup>> CreateBox(
      const std::string& name) = 0;
};

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_CGROUP_H_
