// "Host mode" root: a skeleton directory that holds the mount points, a
// generated /etc subset and the host's merged-/usr symlinks, plus the list of
// host directories bound read-only into it. For development and CI; in
// production boxes run on rootfs trees.
#ifndef SCRC_SANDBOX_HOST_ROOT_H_
#define SCRC_SANDBOX_HOST_ROOT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace scrc::sandbox {

struct HostRoot {
  std::string skeleton;                 // the directory that becomes "/"
  std::vector<std::string> host_binds;  // host paths bound at the same path
};

// Creates (or refreshes) the skeleton under `dir`. Only what toolchains need
// is visible: /usr (and /bin, /lib, ... when they are not symlinks into it),
// /etc/alternatives, /etc/java-*, /etc/python3*; never /home, /root, /var,
// /tmp, the project checkout, or /etc/shadow.
absl::StatusOr<HostRoot> PrepareHostRoot(const std::string& dir);

// Creates the mount points every root needs (/proc, /dev/{null,...}, /tmp,
// /box) and the box user's /etc/passwd and /etc/group under `root`.
absl::Status CreateMountPoints(const std::string& root);

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_HOST_ROOT_H_
