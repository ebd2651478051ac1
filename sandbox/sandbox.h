// The sandbox: one call runs one command in a fresh box and says what
// happened. A Sandbox is one slot: runs on it are sequential and reuse what
// is safe to reuse (its network namespace, its cgroup); slots run in
// parallel.
#ifndef SCRC_SANDBOX_SANDBOX_H_
#define SCRC_SANDBOX_SANDBOX_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "sandbox/cgroup.h"
#include "sandbox/run_spec.h"

namespace scrc::sandbox {

struct SandboxOptions {
  std::string slot_name = "slot0";  // cgroup name, unique per process
  int slot_index = 0;               // picks the unprivileged host uid when root
  // Where per-host state lives (the host-mode root skeleton). Created 0755.
  std::string state_dir;
  // Host uid/gid the box user maps to when the runner is root (plus
  // slot_index). Ignored when rootless: then the box maps to the runner's
  // own uid.
  uid_t box_host_uid_base = 200000;
};

class Sandbox {
 public:
  // `cgroups` outlives the sandbox; shared by all slots.
  static absl::StatusOr<std::unique_ptr<Sandbox>> Create(
      const SandboxOptions& options, Cgroups* cgroups);
  virtual ~Sandbox() = default;

  // Runs spec.argv in a new box. An error Status means the runner failed
  // (setup of the box, a host problem), never that the program misbehaved:
  // that is in RunResult.
  // Returns once the program has ended and its box is killed; the box's
  // teardown (reaping the init, emptying the cgroup) finishes in the
  // background before this slot's next run starts.
  virtual absl::StatusOr<RunResult> Run(const RunSpec& spec) = 0;

  // Waits until the last run's box is gone: no process of it left, its
  // cgroup empty. (A box built ahead for RunSpec::next stays.)
  virtual void AwaitEmpty() = 0;

  // Discards a box built for RunSpec::next that no run will use
  // (the submission ended early); its teardown runs in the background.
  virtual void DropPrepared() = 0;

  // The host uid that owns files the box writes (chown box_dir to it before
  // a writable run).
  virtual uid_t box_host_uid() const = 0;
  virtual gid_t box_host_gid() const = 0;
};

// The uid/gid the program sees inside every box.
inline constexpr uid_t kBoxUid = 1000;
inline constexpr gid_t kBoxGid = 1000;

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_SANDBOX_H_
