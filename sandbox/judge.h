// What a run came to: the outcome from how the program ended, what the
// parent saw and what the cgroup measured. One place for that logic.
#ifndef SCRC_SANDBOX_JUDGE_H_
#define SCRC_SANDBOX_JUDGE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sandbox/cgroup.h"
#include "sandbox/run_spec.h"
#include "sandbox/supervisor.h"

namespace scrc::sandbox {

// `usage` is null when the box has no cgroup.
RunResult Judge(const RunSpec& spec, Supervision& sup,
                const absl::StatusOr<CgroupUsage>* usage,
                const CgroupCapabilities& caps,
                std::vector<std::string> warnings);

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_JUDGE_H_
