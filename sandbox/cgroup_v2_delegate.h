// cgroup v2's "no internal processes" rule: a cgroup that holds processes
// cannot enable controllers for its children. When scrc starts as the only
// process of a delegated cgroup (systemd Delegate=yes, a container's own
// cgroup), that cgroup's subtree_control is usually empty and scrc's parent
// below it gets no memory or pids controller. V2Delegation moves scrc into a
// leaf below its own parent, enables the controllers in the cgroup it
// started in, and undoes both at the end.
#ifndef SCRC_SANDBOX_CGROUP_V2_DELEGATE_H_
#define SCRC_SANDBOX_CGROUP_V2_DELEGATE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace scrc::sandbox {

// The leaf scrc moves into, below its parent. A dot never occurs in a box
// name, so no box can collide with it.
inline constexpr char kRunnerCgroup[] = "scrc.runner";

class V2Delegation {
 public:
  // Enables in `start_dir` those of `controllers` that it offers but does
  // not enable yet. Returns nullptr when nothing was missing, an error
  // naming the reason when it cannot (other processes share the cgroup).
  static absl::StatusOr<std::unique_ptr<V2Delegation>> Enable(
      const std::string& start_dir, const std::string& parent_dir,
      const std::vector<std::string>& controllers);
  // Disables what Enable enabled and moves scrc back to start_dir. The
  // parent's own subtree_control must no longer use those controllers.
  ~V2Delegation();

  const std::vector<std::string>& enabled() const { return enabled_; }

 private:
  V2Delegation(std::string start_dir, std::string runner_dir)
      : start_dir_(std::move(start_dir)), runner_dir_(std::move(runner_dir)) {}

  std::string start_dir_;
  std::string runner_dir_;
  std::vector<std::string> enabled_;
};

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_CGROUP_V2_DELEGATE_H_
