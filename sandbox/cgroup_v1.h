// cgroup v1: memory, pids and cpuacct, each in its own hierarchy (or
// co-mounted), each with scrc's parent at its own path.
#ifndef SCRC_SANDBOX_CGROUP_V1_H_
#define SCRC_SANDBOX_CGROUP_V1_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sandbox/cgroup.h"
#include "sandbox/cgroup_files.h"

namespace scrc::sandbox {

// The cgroup this process runs in, per hierarchy (directories; empty when
// unknown).
struct CgroupV1Homes {
  std::string memory, pids, cpuacct;
};

struct CgroupV1Options {
  // Absolute directory of scrc's parent in each controller's hierarchy,
  // e.g. /sys/fs/cgroup/memory/user/scrc-1234; empty: controller not used.
  // Two controllers mounted together may name the same directory.
  std::string memory_parent;
  std::string pids_parent;
  std::string cpuacct_parent;
  // An existing parent directory is a stale one of ours (see CgroupV2Options).
  bool own_existing = true;
  // Where a runner thread returns after stepping into a box's cgroups to
  // clone its init (BoxCgroup::EnterThread). Unknown: the init is attached.
  CgroupV1Homes homes;
};

class CgroupsV1 : public Cgroups {
 public:
  // Fails when no controller's parent could be made.
  static absl::StatusOr<std::unique_ptr<CgroupsV1>> Create(
      const CgroupV1Options& options);
  ~CgroupsV1() override;

  const CgroupCapabilities& capabilities() const override { return caps_; }
  // Detection adds why it chose this hierarchy over another.
  void AddNote(std::string note) { caps_.notes.push_back(std::move(note)); }
  absl::StatusOr<std::unique_ptr<BoxCgroup>> CreateBox(
      const std::string& name) override;

 private:
  struct Parent {
    std::string dir;
    bool owned = false;
  };
  CgroupsV1() = default;
  absl::Status Init(const CgroupV1Options& options);
  // Makes (or adopts) the parent directory; "" when it cannot.
  std::string MakeParent(const std::string& controller, const std::string& dir,
                         bool own_existing);

  std::vector<Parent> parents_;                      // one per hierarchy
  std::string memory_dir_, pids_dir_, cpuacct_dir_;  // "" when not usable
  CgroupCapabilities caps_;
  CgroupV1Homes homes_;
  BoxNames boxes_;
};

// SIGKILLs every process listed in the cgroup.procs of `dirs` until all are
// empty, for at most `timeout`.
absl::Status KillCgroupV1(const std::vector<std::string>& dirs,
                          absl::Duration timeout);

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_CGROUP_V1_H_
