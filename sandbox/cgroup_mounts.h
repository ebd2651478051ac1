// Where this process's cgroups are: /proc/self/cgroup says the path of each
// hierarchy, /proc/self/mountinfo where each hierarchy is mounted.
#ifndef SCRC_SANDBOX_CGROUP_MOUNTS_H_
#define SCRC_SANDBOX_CGROUP_MOUNTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scrc::sandbox {

// One line of /proc/self/cgroup: "4:memory:/a/b" or "0::/a/b" (v2).
struct ProcCgroup {
  int id = 0;
  std::vector<std::string> controllers;  // empty for the v2 line
  std::string path;
};

// One cgroup or cgroup2 mount from /proc/self/mountinfo.
struct CgroupMount {
  bool v2 = false;
  std::string root;  // the cgroup shown at the mount point
  std::string mount_point;
  std::vector<std::string> controllers;  // v1: from the super options
};

std::vector<ProcCgroup> ParseProcCgroup(absl::string_view text);
std::vector<CgroupMount> ParseCgroupMounts(absl::string_view mountinfo);

// The directory of the cgroup at `path` (relative to the hierarchy root)
// under `mount`, or empty when the mount does not show that cgroup.
std::string CgroupDirectory(const CgroupMount& mount, absl::string_view path);

// A hierarchy this process is in, and where it is mounted.
struct CgroupHierarchy {
  CgroupMount mount;
  std::string path;  // our cgroup, relative to the hierarchy root
  std::string dir;   // our cgroup's directory
};

// The v2 hierarchy, or the v1 hierarchy holding `controller`; the error
// says what is missing (not mounted, our cgroup not visible, ...).
absl::StatusOr<CgroupHierarchy> FindV2Hierarchy(
    const std::vector<ProcCgroup>& procs,
    const std::vector<CgroupMount>& mounts);
absl::StatusOr<CgroupHierarchy> FindV1Hierarchy(
    const std::vector<ProcCgroup>& procs,
    const std::vector<CgroupMount>& mounts, absl::string_view controller);

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_CGROUP_MOUNTS_H_
