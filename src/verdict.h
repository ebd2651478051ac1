// The one place where what happened to a run becomes a verdict, and where
// the contract's rules for a whole submission are applied (CONTRACT.md):
//
//   OK  exited 0, and stdout matches the expected output when there is one
//   WA  exited 0, stdout does not match
//   TL  CPU time limit, wall-clock limit, or SIGXCPU (RLIMIT_CPU fallback)
//   ML  cgroup OOM kill, or a failed run whose stderr or stdout carries one
//       of the profile's memory error markers (java.lang.OutOfMemoryError, ...):
//       running out of the memory it was given is ML whatever the runtime
//   OL  stdout/stderr over the cap, or SIGXFSZ / a file over the file size
//       limit: both are "wrote more than allowed"
//   RE  any other non-zero exit or fatal signal; output is not judged
//   IE  the runner failed (after its retry); the submission is not blamed
//
// After the first test that is not OK the remaining tests are "-"; the
// overall status is that test's, or BF when the build failed, or OK.
// Without tests the program runs once with empty stdin and is OK unless a
// limit or a runtime error says otherwise.
//
// Top level of a result: with tests, exit_code/stdout/stderr and the
// measurements are the build step's and duration_ms is the whole
// submission; without tests they describe the single run. Limits the host
// could not enforce (RunResult.warnings) are reported once, in `error`.
#ifndef SCRC_SRC_VERDICT_H_
#define SCRC_SRC_VERDICT_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "sandbox/run_spec.h"
#include "src/result.h"
#include "src/script.h"

namespace scrc {

// Measurements and output of a run as published: duration_ms is the wall
// time; exit_code is the exit status, 128 + signal when killed, or null;
// memory_bytes is null when the host could not measure it.
RunReport MakeRunReport(const sandbox::RunResult& run);

struct RunVerdict {
  Verdict verdict = Verdict::kOK;
  std::string error;  // why, when not OK ("time limit exceeded (2 s CPU)")
};

// The verdict of one run of the program. `expected`: nullopt means any
// output is accepted. `limits` are the ones the run had (for messages).
RunVerdict JudgeRun(const sandbox::RunResult& run,
                    const std::optional<std::string>& expected,
                    const sandbox::Limits& limits,
                    std::span<const std::string> memory_error_markers = {});

// nullopt when the build step succeeded, else the BF message (summary
// first, then the head of the compiler's output).
std::optional<std::string> JudgeBuild(const sandbox::RunResult& build,
                                      const sandbox::Limits& limits);

// Human forms used in messages: "64 MiB", "1500 bytes"; "2 s", "1500 ms".
std::string FormatBytes(int64_t bytes);
std::string FormatMillis(absl::Duration duration);

// Assembles a Result from the steps of a submission as the executor runs
// them, applying the rules above. Use: AddBuild (if the profile builds),
// then either the tests (while NextTest() says so) or the single run, then
// Finish().
class ResultAssembler {
 public:
  ResultAssembler(std::string id, const std::vector<TestCase>& tests);

  // Returns false when the build failed: the result is BF, nothing else
  // runs.
  bool AddBuild(const sandbox::RunResult& build, const sandbox::Limits& limits);
  // The runner failed before the tests (box setup, or the sandbox on the
  // build step after its retry): IE, nothing else runs.
  void AddInternalError(std::string_view error);

  // Index of the next test to run, or nullopt when no test should run any
  // more (all done, or one was not OK).
  std::optional<size_t> NextTest() const;
  void AddTest(const sandbox::RunResult& run, const sandbox::Limits& limits,
               std::span<const std::string> memory_error_markers = {});
  void AddTestInternalError(std::string_view error);

  // Submissions without tests.
  void AddSingleRun(const sandbox::RunResult& run,
                    const sandbox::Limits& limits,
                    std::span<const std::string> memory_error_markers = {});
  void AddSingleInternalError(std::string_view error);

  // `elapsed`: wall time of the whole submission (duration_ms with tests).
  Result Finish(absl::Duration elapsed) &&;

 private:
  void AddWarnings(const sandbox::RunResult& run);

  Result result_;
  const std::vector<TestCase>& cases_;
  bool has_tests_;
  bool built_ = false;       // a build step ran and succeeded
  bool stopped_ = false;     // BF, IE, or a test that was not OK
  size_t next_test_ = 0;
  std::optional<int> last_test_exit_code_;
  std::string failure_;      // the error of what decided the verdict
  std::vector<std::string> warnings_;
};

}  // namespace scrc

#endif  // SCRC_SRC_VERDICT_H_
