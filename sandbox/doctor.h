// `scrc doctor`: what this host lets the sandbox enforce, as `key: value`
// lines a person can read and a script can grep, then notes in words.
#ifndef SCRC_SANDBOX_DOCTOR_H_
#define SCRC_SANDBOX_DOCTOR_H_

#include <string>

#include "sandbox/cgroup.h"

namespace scrc::sandbox {

// Probes the host (a throwaway child in new namespaces, a seccomp call that
// installs nothing) and describes `cgroups` as detected at start.
std::string DoctorReport(const Cgroups& cgroups);

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_DOCTOR_H_
