// Runtime configuration from the environment, shared by `scrc run` and
// `scrc serve`. Validation is fail-fast and complete: every problem is
// collected, and the service refuses to start with one message that lists
// them all (CONTRACT.md). Other parts add their variables (KAFKA_*,
// SCRIPT_EXPECTED) with the same helpers and the same ConfigErrors.
//
//   ConfigErrors errors;
//   const EnvLookup env = ProcessEnv();
//   ExecutorOptions executor = ReadExecutorOptions(env, errors);
//   int64_t expected = EnvInt(env, "SCRIPT_EXPECTED", 0, 0, INT64_MAX, errors);
//   if (absl::Status s = errors.ToStatus(); !s.ok()) { print; return 1; }
#ifndef SCRC_SRC_CONFIG_H_
#define SCRC_SRC_CONFIG_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "src/executor.h"

namespace scrc {

class ConfigErrors {
 public:
  // `variable`: the environment variable at fault; `problem`: what is
  // wrong and what is expected.
  void Add(std::string_view variable, std::string_view problem);
  bool empty() const { return problems_.empty(); }
  const std::vector<std::string>& problems() const { return problems_; }
  // OK when empty, else InvalidArgument:
  //   "invalid configuration (2 problems):
  //      RUNNER_TIME_LIMIT: invalid duration '5' (...)
  //      RUNNER_MAX_PARALLEL: must be an integer >= 1 (got 'x')"
  absl::Status ToStatus() const;

 private:
  std::vector<std::string> problems_;
};

// Reads an environment variable; nullopt when unset. Tests pass a map.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// Per-variable readers: unset or empty gives `default_value`; a malformed
// value is recorded in `errors` and gives `default_value`.
std::string EnvString(const EnvLookup& env, const std::string& name,
                      std::string default_value);
int64_t EnvInt(const EnvLookup& env, const std::string& name,
               int64_t default_value, int64_t min, int64_t max,
               ConfigErrors& errors);
// A Go-style duration ("5s", "2m30s", "1500ms", "0"), in [0, max].
absl::Duration EnvDuration(const EnvLookup& env, const std::string& name,
                           absl::Duration default_value, absl::Duration max,
                           ConfigErrors& errors);
bool EnvBool(const EnvLookup& env, const std::string& name,
             bool default_value, ConfigErrors& errors);

// Go's time.ParseDuration syntax: a sequence of decimal numbers with units
// (ns, us, µs, ms, s, m, h), or "0". Negative and infinite ones are
// refused.
absl::StatusOr<absl::Duration> ParseGoDuration(std::string_view text);

// RUNNER_MAX_PARALLEL, RUNNER_TIME_LIMIT, RUNNER_MEMORY_LIMIT,
// RUNNER_MAX_OUTPUT_BYTES, SCRC_WORK_DIR, SCRC_PROFILES_DIR,
// SCRC_ROOTFS_DIR, SCRC_CGROUP_PARENT.
ExecutorOptions ReadExecutorOptions(const EnvLookup& env,
                                    ConfigErrors& errors);

// Where box directories go when SCRC_WORK_DIR is unset: /tmp/scrc-<euid>
// (the executor creates it 0700 and refuses one it does not own).
std::string DefaultWorkDir();
// SCRC_SOURCE_DIR "/profiles": the profiles shipped with this build.
std::string DefaultProfilesDir();

}  // namespace scrc

#endif  // SCRC_SRC_CONFIG_H_
