#include "sandbox/judge.h"

#include <signal.h>
#include <sys/wait.h>

#include "absl/strings/str_cat.h"

namespace scrc::sandbox {

RunResult Judge(const RunSpec& spec, Supervision& sup,
                const absl::StatusOr<CgroupUsage>* usage,
                const CgroupCapabilities& caps,
                std::vector<std::string> warnings) {
  RunResult r;
  r.stdout_data = std::move(sup.stdout_data);
  r.stderr_data = std::move(sup.stderr_data);
  r.stdout_truncated = sup.stdout_truncated;
  r.stderr_truncated = sup.stderr_truncated;
  r.wall_time = sup.wall_time;
  bool oom = false;
  if (sup.program) {
    const rusage& u = sup.program->usage;
    r.cpu_time = absl::DurationFromTimeval(u.ru_utime) +
                 absl::DurationFromTimeval(u.ru_stime);
    r.peak_memory_bytes = static_cast<int64_t>(u.ru_maxrss) * 1024;
  }
  if (usage != nullptr) {
    if (usage->ok()) {
      if (caps.cpu_accounting) r.cpu_time = (*usage)->cpu_time;
      if (caps.memory) r.peak_memory_bytes = (*usage)->peak_memory_bytes;
      oom = (*usage)->oom_killed;
    } else {
      warnings.push_back(
          absl::StrCat("cgroup usage: ", usage->status().message()));
    }
  }
  const bool cpu_over = spec.limits.cpu_time > absl::ZeroDuration() &&
                        r.cpu_time > spec.limits.cpu_time;
  const int ws = sup.program ? sup.program->wait_status : 0;
  if (sup.program) {
    r.exit_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    r.term_signal = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
  } else {
    r.exit_code = 128 + SIGKILL;
    r.term_signal = SIGKILL;
  }
  if (sup.kill_reason) {
    r.outcome = *sup.kill_reason;
  } else if (oom) {
    r.outcome = Outcome::kMemoryLimit;
  } else if (r.term_signal == SIGXCPU || cpu_over) {
    r.outcome = Outcome::kCpuTimeLimit;
  } else if (r.term_signal == SIGXFSZ) {
    r.outcome = Outcome::kFileSizeLimit;
  } else if (!sup.program) {
    // The init died without a word and nobody killed it: the memory cap
    // (v1 may kill the init first) is the only thing that does that.
    r.outcome = Outcome::kMemoryLimit;
  } else {
    r.outcome = r.term_signal != 0 ? Outcome::kSignaled : Outcome::kExited;
  }
  r.warnings = std::move(warnings);
  return r;
}

}  // namespace scrc::sandbox
