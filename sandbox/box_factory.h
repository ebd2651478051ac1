// Makes box inits and ends them: everything between a RunSpec and a box
// init that has built its box and waits for the start byte (pipes, mount
// plan, seccomp, rlimits, clone3 into the namespaces and a cgroup, uid/gid
// maps), and the reaping. One per slot; not thread-safe: the slot's runs and
// its background thread take turns.
#ifndef SCRC_SANDBOX_BOX_FACTORY_H_
#define SCRC_SANDBOX_BOX_FACTORY_H_

#include <sys/capability.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sandbox/cgroup.h"
#include "sandbox/child.h"
#include "sandbox/host_root.h"
#include "sandbox/run_spec.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp_policy.h"
#include "sandbox/supervisor.h"
#include "sandbox/unique_fd.h"

namespace scrc::sandbox {

// A cloned box init: built (or building) and waiting for its start byte, or
// started and not yet reaped.
struct LiveBox {
  SupervisedBox io;
  // The directories bound at spawn: a path that now names another
  // directory (a new box dir, a re-imported tree) needs a new box.
  std::vector<std::pair<dev_t, ino_t>> dirs;
  UniqueFd sync_w;  // one byte: the uid map is written; one more: start
  std::vector<std::string> warnings;  // limits this box cannot enforce
  BoxCgroup* cgroup = nullptr;
};

class BoxFactory {
 public:
  static absl::StatusOr<std::unique_ptr<BoxFactory>> Create(
      const SandboxOptions& options, const CgroupCapabilities& caps);
  ~BoxFactory();

  // Clones a box init for `spec` into `cgroup` (null: none), maps its ids
  // and lets it build the box; it then waits for the start byte.
  absl::StatusOr<LiveBox> Spawn(const RunSpec& spec, BoxCgroup* cgroup);
  // Kills the box's init, waits for it (the namespaces' teardown) and for
  // its cgroup to be empty.
  static absl::Status Reap(LiveBox& box);
  // Whether `box` binds the directories `spec` names now.
  static bool BindsSameDirs(const LiveBox& box, const RunSpec& spec);

  uid_t host_uid() const { return host_uid_; }
  gid_t host_gid() const { return host_gid_; }

 private:
  BoxFactory(const SandboxOptions& options, const CgroupCapabilities& caps)
      : options_(options), cgroup_caps_(caps) {}
  absl::Status Init();
  absl::StatusOr<const SeccompProgram*> Seccomp(
      const std::vector<std::string>& allow);
  std::vector<ChildRlimit> Rlimits(const Limits& limits,
                                   std::vector<std::string>* warnings) const;

  SandboxOptions options_;
  CgroupCapabilities cgroup_caps_;
  bool rootless_ = false;
  uid_t host_uid_ = 0;
  gid_t host_gid_ = 0;
  UniqueFd netns_;       // reused by every run of this slot (root only)
  UniqueFd host_netns_;  // where the calling thread goes back to
  HostRoot host_root_;
  cap_t no_caps_ = nullptr;
  std::pair<char*, size_t> cmdline_ = {nullptr, 0};  // blanked in each box
  std::map<std::vector<std::string>, SeccompProgram> seccomp_cache_;
};

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_BOX_FACTORY_H_
