#include "src/verdict.h"

#include <signal.h>
#include <string.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/compare.h"

namespace scrc {
namespace {

using sandbox::Limits;
using sandbox::Outcome;
using sandbox::RunResult;

// How much of the compiler's output goes into a BF message (the whole
// output is in stderr/stdout of the result anyway).
constexpr size_t kBuildMessageHead = 4096;

std::string SignalText(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  if (abbrev == nullptr) return absl::StrCat("signal ", signal);
  return absl::StrCat("signal ", signal, " (SIG", abbrev, ")");
}

absl::Duration EffectiveWallLimit(const Limits& limits) {
  if (limits.wall_time > absl::ZeroDuration()) return limits.wall_time;
  return 2 * limits.cpu_time + absl::Seconds(1);
}

bool HasMemoryMarker(const RunResult& run,
                     std::span<const std::string> markers,
                     std::string* marker) {
  for (const std::string& m : markers) {
    // The JVM's -XX:+ExitOnOutOfMemoryError says it on stdout.
    if (!m.empty() && (run.stderr_data.find(m) != std::string::npos ||
                       run.stdout_data.find(m) != std::string::npos)) {
      *marker = m;
      return true;
    }
  }
  return false;
}

bool FailedExit(const RunResult& run) {
  return (run.outcome == Outcome::kExited && run.exit_code != 0) ||
         run.outcome == Outcome::kSignaled;
}

// The verdict of a run before its output is compared: limits first (a
// killed program's exit status says nothing of its own), then the exit.
RunVerdict JudgeTermination(const RunResult& run, const Limits& limits,
                            std::span<const std::string> markers) {
  switch (run.outcome) {
    case Outcome::kCpuTimeLimit:
      return {Verdict::kTL, absl::StrCat("time limit exceeded (",
                                         FormatMillis(limits.cpu_time),
                                         " CPU)")};
    case Outcome::kWallTimeLimit:
      return {Verdict::kTL,
              absl::StrCat("wall-clock limit exceeded (",
                           FormatMillis(EffectiveWallLimit(limits)), ")")};
    case Outcome::kMemoryLimit:
      return {Verdict::kML, absl::StrCat("memory limit exceeded (",
                                         FormatBytes(limits.memory_bytes),
                                         ")")};
    case Outcome::kOutputLimit:
      return {Verdict::kOL, absl::StrCat("output limit exceeded (",
                                         FormatBytes(limits.output_bytes),
                                         " per stream)")};
    case Outcome::kFileSizeLimit:
      return {Verdict::kOL, absl::StrCat("file size limit exceeded (",
                                         FormatBytes(limits.file_size_bytes),
                                         ")")};
    case Outcome::kSignaled:
    case Outcome::kExited:
      break;
  }
  if (run.outcome == Outcome::kSignaled && run.term_signal == SIGXCPU) {
    return {Verdict::kTL, "time limit exceeded (CPU time rlimit, SIGXCPU)"};
  }
  if (run.outcome == Outcome::kSignaled && run.term_signal == SIGXFSZ) {
    return {Verdict::kOL, absl::StrCat("file size limit exceeded (",
                                       FormatBytes(limits.file_size_bytes),
                                       ", SIGXFSZ)")};
  }
  std::string marker;
  if (FailedExit(run) && HasMemoryMarker(run, markers, &marker)) {
    return {Verdict::kML,
            absl::StrCat("memory limit exceeded (", marker, ")")};
  }
  if (run.outcome == Outcome::kSignaled) {
    return {Verdict::kRE,
            absl::StrCat("runtime error: killed by ",
                         SignalText(run.term_signal))};
  }
  if (run.exit_code != 0) {
    return {Verdict::kRE,
            absl::StrCat("runtime error: exit code ", run.exit_code)};
  }
  return {Verdict::kOK, ""};
}

}  // namespace

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kOK: return "OK";
    case Verdict::kWA: return "WA";
    case Verdict::kTL: return "TL";
    case Verdict::kML: return "ML";
    case Verdict::kBF: return "BF";
    case Verdict::kNotRun: return "-";
    case Verdict::kRE: return "RE";
    case Verdict::kOL: return "OL";
    case Verdict::kIE: return "IE";
  }
  return "IE";
}

std::string FormatBytes(int64_t bytes) {
  constexpr int64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
  if (bytes > 0 && bytes % kGiB == 0) return absl::StrCat(bytes / kGiB, " GiB");
  if (bytes > 0 && bytes % kMiB == 0) return absl::StrCat(bytes / kMiB, " MiB");
  if (bytes > 0 && bytes % kKiB == 0) return absl::StrCat(bytes / kKiB, " KiB");
  return absl::StrCat(bytes, " bytes");
}

std::string FormatMillis(absl::Duration duration) {
  const int64_t ms = absl::ToInt64Milliseconds(duration);
  if (ms > 0 && ms % 1000 == 0) return absl::StrCat(ms / 1000, " s");
  return absl::StrCat(ms, " ms");
}

RunReport MakeRunReport(const RunResult& run) {
  RunReport report;
  if (run.outcome == Outcome::kExited) {
    report.exit_code = run.exit_code;
  } else if (run.term_signal > 0) {
    report.exit_code = 128 + run.term_signal;  // as shells and Docker say
  }
  report.wall_time_ms = absl::ToInt64Milliseconds(run.wall_time);
  report.duration_ms = report.wall_time_ms;
  report.cpu_time_ms = absl::ToInt64Milliseconds(run.cpu_time);
  // No real process peaks at 0 bytes: 0 means "not measured here".
  if (run.peak_memory_bytes > 0) report.memory_bytes = run.peak_memory_bytes;
  report.stdout_data = run.stdout_data;
  report.stderr_data = run.stderr_data;
  report.truncated = run.stdout_truncated || run.stderr_truncated;
  return report;
}

RunVerdict JudgeRun(const RunResult& run,
                    const std::optional<std::string>& expected,
                    const Limits& limits,
                    std::span<const std::string> memory_error_markers) {
  RunVerdict verdict = JudgeTermination(run, limits, memory_error_markers);
  if (verdict.verdict != Verdict::kOK || !expected.has_value()) return verdict;
  if (const auto line = FirstDifferingLine(run.stdout_data, *expected)) {
    return {Verdict::kWA, absl::StrCat("wrong answer: line ", *line,
                                       " differs from the expected output")};
  }
  return verdict;
}

std::optional<std::string> JudgeBuild(const RunResult& build,
                                      const Limits& limits) {
  const RunVerdict verdict = JudgeTermination(build, limits, {});
  if (verdict.verdict == Verdict::kOK) return std::nullopt;
  std::string summary;
  if (verdict.verdict == Verdict::kRE) {
    // "runtime error: exit code 1" reads wrong for a compiler.
    summary = build.outcome == Outcome::kSignaled
                  ? absl::StrCat("build failed: killed by ",
                                 SignalText(build.term_signal))
                  : absl::StrCat("build failed: exit code ", build.exit_code);
  } else {
    summary = absl::StrCat("build: ", verdict.error);
  }
  const std::string& output =
      build.stderr_data.empty() ? build.stdout_data : build.stderr_data;
  if (output.empty()) return summary;
  return absl::StrCat(summary, "\n", output.substr(0, kBuildMessageHead));
}

ResultAssembler::ResultAssembler(std::string id,
                                 const std::vector<TestCase>& tests)
    : cases_(tests), has_tests_(!tests.empty()) {
  result_.id = std::move(id);
  result_.status = Verdict::kOK;
  result_.tests.reserve(tests.size());
  for (const TestCase& test : tests) {
    TestResult& t = result_.tests.emplace_back();
    t.number = test.number;
    t.status = Verdict::kNotRun;
    t.input = test.input;
    t.expected_output = test.expected_output;
  }
}

void ResultAssembler::AddWarnings(const RunResult& run) {
  for (const std::string& w : run.warnings) {
    if (std::find(warnings_.begin(), warnings_.end(), w) == warnings_.end()) {
      warnings_.push_back(w);
    }
  }
}

bool ResultAssembler::AddBuild(const RunResult& build, const Limits& limits) {
  AddWarnings(build);
  result_.run = MakeRunReport(build);
  if (std::optional<std::string> failure = JudgeBuild(build, limits)) {
    result_.status = Verdict::kBF;
    failure_ = *std::move(failure);
    stopped_ = true;
    return false;
  }
  built_ = true;
  return true;
}

void ResultAssembler::AddInternalError(std::string_view error) {
  result_.status = Verdict::kIE;
  failure_ = absl::StrCat("internal error: ", std::string(error));
  stopped_ = true;
}

std::optional<size_t> ResultAssembler::NextTest() const {
  if (stopped_ || next_test_ >= result_.tests.size()) return std::nullopt;
  return next_test_;
}

void ResultAssembler::AddTest(const RunResult& run, const Limits& limits,
                              std::span<const std::string> markers) {
  const std::optional<size_t> index = NextTest();
  if (!index.has_value()) return;
  AddWarnings(run);
  ++next_test_;
  TestResult& test = result_.tests[*index];
  test.run = MakeRunReport(run);
  RunVerdict verdict =
      JudgeRun(run, cases_[*index].expected_output, limits, markers);
  test.status = verdict.verdict;
  test.error = std::move(verdict.error);
  last_test_exit_code_ = test.run.exit_code;
  if (test.status != Verdict::kOK) {
    result_.status = test.status;
    failure_ = absl::StrCat("test ", test.number, ": ", test.error);
    stopped_ = true;
  }
}

void ResultAssembler::AddTestInternalError(std::string_view error) {
  const std::optional<size_t> index = NextTest();
  if (!index.has_value()) return;
  ++next_test_;
  TestResult& test = result_.tests[*index];
  test.status = Verdict::kIE;
  test.error = absl::StrCat("internal error: ", std::string(error));
  result_.status = Verdict::kIE;
  failure_ = absl::StrCat("test ", test.number, ": ", test.error);
  stopped_ = true;
}

void ResultAssembler::AddSingleRun(const RunResult& run, const Limits& limits,
                                   std::span<const std::string> markers) {
  AddWarnings(run);
  result_.run = MakeRunReport(run);
  RunVerdict verdict = JudgeRun(run, std::nullopt, limits, markers);
  result_.status = verdict.verdict;
  failure_ = std::move(verdict.error);
  stopped_ = true;
}

void ResultAssembler::AddSingleInternalError(std::string_view error) {
  result_.run = RunReport{};
  result_.status = Verdict::kIE;
  failure_ = absl::StrCat("internal error: ", std::string(error));
  stopped_ = true;
}

Result ResultAssembler::Finish(absl::Duration elapsed) && {
  if (has_tests_) {
    // The top level describes the build; without a build step there is
    // nothing else to show but the exit status of the last test run.
    if (!built_ && result_.status != Verdict::kBF) {
      result_.run = RunReport{};
      result_.run.exit_code = last_test_exit_code_;
    }
    result_.run.duration_ms = absl::ToInt64Milliseconds(elapsed);
  }
  std::vector<std::string> parts;
  if (!failure_.empty()) parts.push_back(failure_);
  for (const std::string& w : warnings_) {
    parts.push_back(absl::StrCat("warning: ", w));
  }
  result_.error = absl::StrJoin(parts, "\n");
  return std::move(result_);
}

}  // namespace scrc
