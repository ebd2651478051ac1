// cgroup v2: one hierarchy, scrc's parent with memory and pids enabled in
// its subtree_control, one box cgroup per slot below it.
#ifndef SCRC_SANDBOX_CGROUP_V2_H_
#define SCRC_SANDBOX_CGROUP_V2_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sandbox/cgroup.h"
#include "sandbox/cgroup_files.h"
#include "sandbox/cgroup_v2_delegate.h"
#include "sandbox/cgroup_v2_kill.h"

namespace scrc::sandbox {

struct CgroupV2Options {
  // Absolute directory of scrc's parent cgroup, e.g.
  // /sys/fs/cgroup/system.slice/scrc.service/scrc-1234. Created if absent.
  std::string parent_dir;
  // Controllers to enable below the parent when the parent may have them
  // (capabilities() says which it got).
  bool memory = true;
  bool pids = true;
  // An existing parent_dir is a stale one of ours (the default, pid-named
  // path): remove it and everything below it at the end. When false (an
  // operator-given path) only the boxes this process made are removed.
  bool own_existing = true;
  // The cgroup scrc starts in, when parent_dir is a new child of it: if it
  // offers memory/pids but does not enable them for its children, and scrc
  // is its only process, scrc moves into a leaf below parent_dir and enables
  // them there (see cgroup_v2_delegate.h). Empty: never.
  std::string start_dir;
  // More controllers to enable the same way (tests use hugetlb, the only
  // one some hybrid hosts' v2 mount offers).
  std::vector<std::string> extra_controllers;
  // Behave as on kernels where memory.peak cannot be reset (< 6.12): the box
  // cgroup is recreated before each run. For tests of that path.
  bool recreate_each_run = false;
};

class CgroupsV2 : public Cgroups {
 public:
  static absl::StatusOr<std::unique_ptr<CgroupsV2>> Create(
      const CgroupV2Options& options);
  ~CgroupsV2() override;

  const CgroupCapabilities& capabilities() const override { return caps_; }
  // Detection adds why it chose this hierarchy over another.
  void AddNote(std::string note) { caps_.notes.push_back(std::move(note)); }
  absl::StatusOr<std::unique_ptr<BoxCgroup>> CreateBox(
      const std::string& name) override;

 private:
  explicit CgroupsV2(const CgroupV2Options& options);
  absl::Status Init();

  CgroupV2Options options_;
  bool owned_ = false;  // we made (or own) parent_dir: remove it at the end
  std::unique_ptr<V2Delegation> delegation_;
  std::vector<std::string> enabled_;  // we enabled these in parent_dir
  CgroupCapabilities caps_;
  BoxNames boxes_;
};

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_CGROUP_V2_H_
