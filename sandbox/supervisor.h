// The parent's side of a run: feeds stdin, reads stdout and stderr with a
// cap, watches the clocks and the tree's CPU time, kills the box when a limit
// is hit or its program has ended. One poll loop, no threads. Reaping the
// init (the namespace teardown) is left to the caller, off the result's path.
#ifndef SCRC_SANDBOX_SUPERVISOR_H_
#define SCRC_SANDBOX_SUPERVISOR_H_

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "sandbox/cgroup.h"
#include "sandbox/child.h"
#include "sandbox/run_spec.h"
#include "sandbox/unique_fd.h"

namespace scrc::sandbox {

struct SupervisedBox {
  UniqueFd pidfd;     // the box init
  UniqueFd stdin_w;   // parent ends of the pipes
  UniqueFd stdout_r;
  UniqueFd stderr_r;
  UniqueFd error_r;
  UniqueFd status_r;
  absl::Time start;
};

struct Supervision {
  // Why the parent killed the box, if it did.
  std::optional<Outcome> kill_reason;
  std::optional<ProgramStatus> program;  // absent if the init died early
  std::string setup_error;               // what the init reported, if any
  std::string stdout_data;
  std::string stderr_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  absl::Duration wall_time;
};

// Runs the box's program to its end; the init is killed but not reaped. `cgroup` may be null (no CPU polling then; the
// RLIMIT_CPU of the program is the only CPU limit).
Supervision Supervise(SupervisedBox& box, const std::string& stdin_data,
                      const Limits& limits, absl::Duration wall_limit,
                      BoxCgroup* cgroup);

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_SUPERVISOR_H_
