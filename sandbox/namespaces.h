// Namespaces of a box: the clone flags, the uid/gid mapping written by the
// parent, and the network namespace (empty, loopback up) a slot reuses.
#ifndef SCRC_SANDBOX_NAMESPACES_H_
#define SCRC_SANDBOX_NAMESPACES_H_

#include <sched.h>
#include <sys/types.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sandbox/unique_fd.h"

namespace scrc::sandbox {

// Every box gets these; CLONE_NEWNET is added when the slot has no network
// namespace of its own to reuse (rootless).
inline constexpr unsigned long kBoxNamespaces =
    CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
    CLONE_NEWUTS | CLONE_NEWCGROUP;

// The box user (inside) maps to exactly one host uid/gid.
struct IdMapping {
  uid_t inside_uid;
  uid_t host_uid;
  gid_t inside_gid;
  gid_t host_gid;
  // Rootless writers must deny setgroups before writing gid_map; root keeps
  // it allowed so the box can drop the runner's supplementary groups.
  bool deny_setgroups;
};

// Writes /proc/<pid>/{setgroups,uid_map,gid_map}. Must happen before the
// child continues: until then it has no identity in its namespace.
absl::Status WriteIdMaps(pid_t pid, const IdMapping& mapping);

// Creates an empty network namespace with loopback up (libnl) and returns
// an fd to it; the calling thread stays in its own namespace. Needs
// CAP_SYS_ADMIN (root); rootless callers use CLONE_NEWNET per run.
absl::StatusOr<UniqueFd> CreateLoopbackNetns();

// Brings loopback up in the current network namespace with one ioctl, for
// the child of a rootless run (no allocation, unlike libnl).
int BringUpLoopbackInChild();

// Runs clone(CLONE_NEWUSER) in a throwaway child: does this host let us
// create user namespaces at all?
bool UserNamespacesWork();

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_NAMESPACES_H_
