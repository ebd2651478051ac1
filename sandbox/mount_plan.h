// The filesystem of a box, as a list of mount operations computed in the
// parent and carried out by the child between clone and exec. One plan, two
// ways to fill it: a rootfs tree, or "host mode" (a skeleton root with
// read-only binds of the host's toolchain directories).
#ifndef SCRC_SANDBOX_MOUNT_PLAN_H_
#define SCRC_SANDBOX_MOUNT_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sandbox/run_spec.h"

namespace scrc::sandbox {

struct MountOp {
  enum class Kind {
    kBind,         // bind source onto target (recursive)
    kReadOnlyAll,  // make target and everything below read-only, nosuid
    kProc,         // a fresh proc for the box's PID namespace
    kTmpfs,        // size-capped tmpfs (data holds the options)
    kBox,          // bind the work directory, read-only or not
  };
  Kind kind;
  std::string source;
  std::string target;  // absolute host path under the new root
  std::string data;
  bool writable = false;
};

struct MountPlan {
  std::string root;  // becomes "/" of the box (pivot_root)
  std::vector<MountOp> ops;
};

// Paths every root must provide as mount points.
inline constexpr const char* kDeviceNames[] = {"null", "zero", "full",
                                               "random", "urandom"};

// The plan for `spec` over `root` (a rootfs tree, or the host-mode skeleton
// with `host_binds`). Checks the mount points exist so a broken tree gives a
// clear error here, not a failure inside the child.
absl::StatusOr<MountPlan> BuildMountPlan(
    const RunSpec& spec, const std::string& root,
    const std::vector<std::string>& host_binds);

// Carries out the plan in the child: no allocation, no locks. On failure
// returns -1 with errno set and *failed_op pointing at the op's target.
int ExecuteMountPlan(const MountPlan& plan, const char** failed_op);

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_MOUNT_PLAN_H_
