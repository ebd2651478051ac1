// What one sandboxed run is asked to do, and what came of it.
#ifndef SCRC_SANDBOX_RUN_SPEC_H_
#define SCRC_SANDBOX_RUN_SPEC_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace scrc::sandbox {

// Limits of one run. A zero value means "no limit" except where noted.
struct Limits {
  absl::Duration cpu_time = absl::ZeroDuration();   // CPU time of the tree
  absl::Duration wall_time = absl::ZeroDuration();  // 0: 2 x cpu_time + 1 s
  int64_t memory_bytes = 0;                         // cgroup memory of the tree
  int64_t pids = 64;                                // processes + threads
  int64_t output_bytes = 64 << 10;                  // per stream kept (cap)
  int64_t file_size_bytes = 64 << 20;               // RLIMIT_FSIZE
  int64_t open_files = 256;                         // RLIMIT_NOFILE
  int64_t stack_bytes = 64 << 20;                   // RLIMIT_STACK
  int64_t tmp_bytes = 64 << 20;                     // size of the /tmp tmpfs

  friend bool operator==(const Limits&, const Limits&) = default;
};

// A bind mount added to the box beyond the standard plan.
struct BindMount {
  std::string source;  // host path
  std::string target;  // path inside the box
  bool writable = false;

  friend bool operator==(const BindMount&, const BindMount&) = default;
};

struct RunSpec {
  std::vector<std::string> argv;  // argv[0] is resolved inside the box (PATH)
  std::vector<std::string> env;   // the whole environment, "K=V"
  std::string cwd = "/box";
  // Root of the box: a rootfs tree directory, or empty for host mode
  // (read-only binds of the host's toolchain directories).
  std::string rootfs;
  std::string box_dir;  // host directory mounted at /box
  bool box_writable = false;
  std::vector<BindMount> extra_mounts;
  std::string stdin_data;
  Limits limits;
  // Syscall names the profile allows beyond the default policy (never the
  // namespace, mount or tracing ones: those stay denied whatever a profile
  // says).
  std::vector<std::string> seccomp_allow;
  // The run that follows on this slot, when known (its stdin and its own
  // `next` are ignored): its box is built while this run's program runs, so
  // it starts at once. A fresh box all the same: new namespaces, new /tmp,
  // nothing of this run carried over.
  std::shared_ptr<const RunSpec> next;
};

// Whether a box built for `a` serves `b`: everything but stdin and `next`
// is the same.
bool SameBox(const RunSpec& a, const RunSpec& b);

enum class Outcome {
  kExited,          // the main process exited; see exit_code
  kSignaled,        // the main process died of a signal; see term_signal
  kCpuTimeLimit,    // CPU time of the tree went over the limit
  kWallTimeLimit,   // the wall-clock limit ran out
  kMemoryLimit,     // the cgroup OOM killer fired (or mmap failed at the cap)
  kOutputLimit,     // stdout or stderr went over the cap
  kFileSizeLimit,   // SIGXFSZ: a file grew over RLIMIT_FSIZE
};

struct RunResult {
  Outcome outcome = Outcome::kExited;
  int exit_code = 0;
  int term_signal = 0;
  std::string stdout_data;
  std::string stderr_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  absl::Duration cpu_time = absl::ZeroDuration();
  absl::Duration wall_time = absl::ZeroDuration();
  int64_t peak_memory_bytes = 0;
  // Limits that could not be enforced or measured on this host, in words
  // (e.g. "memory: no cgroup; peak memory not measured"). Empty when all
  // limits were enforced by the kernel.
  std::vector<std::string> warnings;
};

const char* OutcomeName(Outcome outcome);

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_RUN_SPEC_H_
