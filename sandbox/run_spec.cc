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

}  // namespace scrc::sandbox
