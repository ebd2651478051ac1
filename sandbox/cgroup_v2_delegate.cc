#include "sandbox/cgroup_v2_delegate.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sandbox/cgroup_files.h"

namespace scrc::sandbox {

absl::StatusOr<std::unique_ptr<V2Delegation>> V2Delegation::Enable(
    const std::string& start_dir, const std::string& parent_dir,
    const std::vector<std::string>& controllers) {
  absl::StatusOr<std::string> offered =
      ReadCgroupFile(absl::StrCat(start_dir, "/cgroup.controllers"));
  if (!offered.ok()) return offered.status();
  const std::string subtree =
      absl::StrCat(start_dir, "/cgroup.subtree_control");
  absl::StatusOr<std::string> enabled = ReadCgroupFile(subtree);
  if (!enabled.ok()) return enabled.status();
  std::vector<std::string> missing;
  for (const std::string& c : controllers) {
    if (HasWord(*offered, c) && !HasWord(*enabled, c)) missing.push_back(c);
  }
  if (missing.empty()) return nullptr;

  // Only when scrc is alone: moving other processes would be touching what
  // is not ours.
  absl::StatusOr<std::string> procs =
      ReadCgroupFile(absl::StrCat(start_dir, "/cgroup.procs"));
  if (!procs.ok()) return procs.status();
  const std::vector<pid_t> pids = ParsePidList(*procs);
  if (pids != std::vector<pid_t>{getpid()}) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot enable ", absl::StrJoin(missing, ", "), " for boxes: ",
        start_dir, " holds other processes than scrc (", pids.size(),
        " in cgroup.procs), and cgroup v2 lets a cgroup with processes "
        "enable no controller for its children; run scrc alone in its "
        "cgroup (systemd: Delegate=yes) or give it a prepared cgroup "
        "parent"));
  }
  std::unique_ptr<V2Delegation> d(new V2Delegation(
      start_dir, absl::StrCat(parent_dir, "/", kRunnerCgroup)));
  if (mkdir(d->runner_dir_.c_str(), 0755) != 0 && errno != EEXIST) {
    return CgroupErrno(errno, "mkdir", d->runner_dir_);
  }
  absl::Status status = WriteCgroupFile(
      absl::StrCat(d->runner_dir_, "/cgroup.procs"), absl::StrCat(getpid()));
  if (!status.ok()) {
    rmdir(d->runner_dir_.c_str());
    return status;
  }
  for (const std::string& c : missing) {
    status = WriteCgroupFile(subtree, absl::StrCat("+", c));
    if (!status.ok()) return status;  // the destructor undoes the rest
    d->enabled_.push_back(c);
  }
  return d;
}

V2Delegation::~V2Delegation() {
  const std::string subtree =
      absl::StrCat(start_dir_, "/cgroup.subtree_control");
  for (const std::string& c : enabled_) {
    WriteCgroupFile(subtree, absl::StrCat("-", c)).IgnoreError();
  }
  WriteCgroupFile(absl::StrCat(start_dir_, "/cgroup.procs"),
                  absl::StrCat(getpid()))
      .IgnoreError();
  rmdir(runner_dir_.c_str());
}

}  // namespace scrc::sandbox
