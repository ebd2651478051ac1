// The seccomp filter of a box: allow by default, deny what lets a program
// reach past its box (mounts, namespaces, tracing, kernel keyrings, module
// loading, io_uring, ...). Compiled once to BPF in the parent; the child only
// loads it (no allocation between clone and exec).
#ifndef SCRC_SANDBOX_SECCOMP_POLICY_H_
#define SCRC_SANDBOX_SECCOMP_POLICY_H_

#include <linux/filter.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace scrc::sandbox {

struct SeccompProgram {
  std::vector<sock_filter> instructions;
  sock_fprog fprog() const {
    return {static_cast<unsigned short>(instructions.size()),
            const_cast<sock_filter*>(instructions.data())};
  }
};

// Builds the filter. `allow` names syscalls a profile wants back from the
// default deny list; names that defend the box itself (mount, unshare,
// setns, ptrace, bpf, ...) are refused with an InvalidArgument error.
absl::StatusOr<SeccompProgram> BuildSeccompProgram(
    const std::vector<std::string>& allow);

// The syscalls denied by default, for `scrc doctor` and the README.
const std::vector<std::string>& DeniedSyscalls();

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_SECCOMP_POLICY_H_
