#include "sandbox/run_spec.h"

namespace scrc::sandbox {

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kExited: return "exited";
    case Outcome::kSignaled: return "signaled";
    case Outcome::kCpuTimeLimit: return "cpu time limit";
    case Outcome::kWallTimeLimit: return "wall time limit";
    case Outcome::kMemoryLimit: return "memory limit";
    case Outcome::kOutputLimit: return "output limit";
    case Outcome::kFileSizeLimit: return "file size limit";
  }
  return "unknown";
}

bool SameBox(const RunSpec& a, const RunSpec& b) {
  return a.argv == b.argv && a.env == b.env && a.cwd == b.cwd &&
         a.rootfs == b.rootfs && a.box_dir == b.box_dir &&
         a.box_writable == b.box_writable &&
         a.extra_mounts == b.extra_mounts && a.limits == b.limits &&
         a.seccomp_allow == b.seccomp_allow;
}

}  // namespace scrc::sandbox
