// Judges submissions on a pool of sandbox slots: build once, then the tests,
// verdicts decided in one place (verdict.h). Used by `scrc run` (one slot)
// and `scrc serve` (RUNNER_MAX_PARALLEL slots).
#ifndef SCRC_SRC_EXECUTOR_H_
#define SCRC_SRC_EXECUTOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "src/result.h"
#include "src/script.h"

namespace scrc {

struct ExecutorOptions {
  int parallel = 1;                                        // RUNNER_MAX_PARALLEL
  absl::Duration default_time_limit = absl::ZeroDuration(); // RUNNER_TIME_LIMIT
  int64_t default_memory_limit = 0;                         // RUNNER_MEMORY_LIMIT
  int64_t max_output_bytes = 65536;  // RUNNER_MAX_OUTPUT_BYTES, per stream
  std::string work_dir;      // where box directories are made (SCRC_WORK_DIR)
  std::string profiles_dir;  // SCRC_PROFILES_DIR, default <source>/profiles
  std::string rootfs_dir;    // SCRC_ROOTFS_DIR
  std::string cgroup_parent; // SCRC_CGROUP_PARENT, empty: child of our own
  // SCRC_HOST_MODE: the profiles' own tree names give way to host mode
  // (development, demos); a *_IMAGE variable still picks a tree.
  bool host_mode = false;
};

class Executor {
 public:
  static absl::StatusOr<std::unique_ptr<Executor>> Create(
      const ExecutorOptions& options);
  virtual ~Executor() = default;

  // Judges one submission. Thread-safe; blocks while all slots are busy.
  // Never fails: a failure of the runner itself becomes status IE with the
  // reason in `error` (after a retry), bad input becomes "-" with the reason.
  virtual Result Judge(const Script& script) = 0;

  // The languages of the loaded profiles, sorted: what ParseScriptMessage
  // accepts (ContractOptions::languages).
  virtual std::vector<std::string> Languages() const = 0;
};

}  // namespace scrc

#endif  // SCRC_SRC_EXECUTOR_H_
