// The verdict of a submission, as published (CONTRACT.md, "Result message").
#ifndef SCRC_SRC_RESULT_H_
#define SCRC_SRC_RESULT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace scrc {

enum class Verdict { kOK, kWA, kTL, kML, kBF, kNotRun, kRE, kOL, kIE };

// "OK", "WA", ..., "-" for kNotRun.
const char* VerdictName(Verdict verdict);

// Measurements and output of one program run (a test, or the single run of a
// submission without tests).
struct RunReport {
  std::optional<int> exit_code;
  std::optional<int64_t> duration_ms;
  std::optional<int64_t> cpu_time_ms;
  std::optional<int64_t> wall_time_ms;
  std::optional<int64_t> memory_bytes;
  std::string stdout_data;
  std::string stderr_data;
  bool truncated = false;
};

struct TestResult {
  int64_t number = 0;
  Verdict status = Verdict::kNotRun;
  RunReport run;
  std::string input;
  std::optional<std::string> expected_output;
  std::string error;
};

struct Result {
  std::string id;
  Verdict status = Verdict::kNotRun;
  RunReport run;  // top level: the build (with tests) or the single run
  std::string error;
  std::vector<TestResult> tests;
  std::string timestamp;  // ISO 8601 UTC with milliseconds, set on publish
};

}  // namespace scrc

#endif  // SCRC_SRC_RESULT_H_
