#include "src/verdict.h"

#include <signal.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace scrc {
namespace {

using ::testing::HasSubstr;
using sandbox::Limits;
using sandbox::Outcome;
using sandbox::RunResult;

Limits TestLimits() {
  Limits l;
  l.cpu_time = absl::Seconds(2);
  l.memory_bytes = 64 << 20;
  l.output_bytes = 64 << 10;
  l.file_size_bytes = 16 << 20;
  return l;
}

RunResult Exited(int code, std::string out = "") {
  RunResult r;
  r.outcome = Outcome::kExited;
  r.exit_code = code;
  r.stdout_data = std::move(out);
  r.cpu_time = absl::Milliseconds(12);
  r.wall_time = absl::Milliseconds(20);
  r.peak_memory_bytes = 3 << 20;
  return r;
}

RunResult Killed(Outcome outcome, int signal = SIGKILL) {
  RunResult r;
  r.outcome = outcome;
  r.term_signal = signal;
  r.exit_code = 128 + signal;
  return r;
}

RunVerdict Judge(const RunResult& r, std::optional<std::string> expected = {},
                 std::vector<std::string> markers = {}) {
  return JudgeRun(r, expected, TestLimits(), markers);
}

TEST(JudgeRunTest, OkAndWrongAnswer) {
  EXPECT_EQ(Judge(Exited(0, "5\n"), "5\n").verdict, Verdict::kOK);
  EXPECT_EQ(Judge(Exited(0, "5  \n\n"), "5").verdict, Verdict::kOK);
  EXPECT_EQ(Judge(Exited(0, "anything")).verdict, Verdict::kOK);
  const RunVerdict wa = Judge(Exited(0, "1\n6\n"), "1\n5\n");
  EXPECT_EQ(wa.verdict, Verdict::kWA);
  EXPECT_EQ(wa.error, "wrong answer: line 2 differs from the expected output");
}

TEST(JudgeRunTest, EachOutcome) {
  const RunVerdict tl = Judge(Killed(Outcome::kCpuTimeLimit));
  EXPECT_EQ(tl.verdict, Verdict::kTL);
  EXPECT_EQ(tl.error, "time limit exceeded (2 s CPU)");

  const RunVerdict wall = Judge(Killed(Outcome::kWallTimeLimit));
  EXPECT_EQ(wall.verdict, Verdict::kTL);
  EXPECT_EQ(wall.error, "wall-clock limit exceeded (5 s)");  // 2 x 2 s + 1 s

  const RunVerdict ml = Judge(Killed(Outcome::kMemoryLimit));
  EXPECT_EQ(ml.verdict, Verdict::kML);
  EXPECT_EQ(ml.error, "memory limit exceeded (64 MiB)");

  const RunVerdict ol = Judge(Killed(Outcome::kOutputLimit));
  EXPECT_EQ(ol.verdict, Verdict::kOL);
  EXPECT_EQ(ol.error, "output limit exceeded (64 KiB per stream)");

  const RunVerdict fsz = Judge(Killed(Outcome::kFileSizeLimit, SIGXFSZ));
  EXPECT_EQ(fsz.verdict, Verdict::kOL);
  EXPECT_EQ(fsz.error, "file size limit exceeded (16 MiB)");

  const RunVerdict re = Judge(Exited(3));
  EXPECT_EQ(re.verdict, Verdict::kRE);
  EXPECT_EQ(re.error, "runtime error: exit code 3");

  const RunVerdict segv = Judge(Killed(Outcome::kSignaled, SIGSEGV));
  EXPECT_EQ(segv.verdict, Verdict::kRE);
  EXPECT_EQ(segv.error, "runtime error: killed by signal 11 (SIGSEGV)");
}

TEST(JudgeRunTest, RlimitSignalsAreLimitsNotCrashes) {
  EXPECT_EQ(Judge(Killed(Outcome::kSignaled, SIGXCPU)).verdict, Verdict::kTL);
  EXPECT_EQ(Judge(Killed(Outcome::kSignaled, SIGXFSZ)).verdict, Verdict::kOL);
}

TEST(JudgeRunTest, LimitsWinOverOutputAndExitCode) {
  // A program killed at the limit after printing the right answer is TL.
  RunResult r = Killed(Outcome::kCpuTimeLimit);
  r.stdout_data = "5\n";
  EXPECT_EQ(Judge(r, "5\n").verdict, Verdict::kTL);
  // A crash with the right output is still a crash.
  RunResult crash = Exited(1, "5\n");
  EXPECT_EQ(Judge(crash, "5\n").verdict, Verdict::kRE);
}

TEST(JudgeRunTest, MemoryMarkersTurnAFailureIntoML) {
  RunResult r = Exited(3);
  r.stderr_data =
      "Terminating due to java.lang.OutOfMemoryError: Java heap space\n";
  const RunVerdict v = Judge(r, {}, {"java.lang.OutOfMemoryError"});
  EXPECT_EQ(v.verdict, Verdict::kML);
  EXPECT_EQ(v.error, "memory limit exceeded (java.lang.OutOfMemoryError)");
  // The JVM's ExitOnOutOfMemoryError says it on stdout.
  RunResult jvm = Exited(3);
  jvm.stdout_data = r.stderr_data;
  EXPECT_EQ(Judge(jvm, {}, {"java.lang.OutOfMemoryError"}).verdict,
            Verdict::kML);
  // Without the profile's marker it is a plain runtime error...
  EXPECT_EQ(Judge(r).verdict, Verdict::kRE);
  // ...and a program that succeeds is judged on its output whatever it
  // printed on stderr.
  RunResult ok = Exited(0, "5\n");
  ok.stderr_data = "java.lang.OutOfMemoryError";
  EXPECT_EQ(Judge(ok, "5\n", {"java.lang.OutOfMemoryError"}).verdict,
            Verdict::kOK);
}

TEST(JudgeBuildTest, SuccessAndFailures) {
  EXPECT_EQ(JudgeBuild(Exited(0), TestLimits()), std::nullopt);
  RunResult failed = Exited(1);
  failed.stderr_data = "main.c:1:1: error: expected ';'\n";
  EXPECT_EQ(JudgeBuild(failed, TestLimits()),
            "build failed: exit code 1\nmain.c:1:1: error: expected ';'\n");
  Limits build = TestLimits();
  build.cpu_time = absl::Seconds(10);
  EXPECT_EQ(JudgeBuild(Killed(Outcome::kCpuTimeLimit), build),
            "build: time limit exceeded (10 s CPU)");
  EXPECT_EQ(JudgeBuild(Killed(Outcome::kMemoryLimit), build),
            "build: memory limit exceeded (64 MiB)");
  EXPECT_EQ(JudgeBuild(Killed(Outcome::kOutputLimit), build),
            "build: output limit exceeded (64 KiB per stream)");
  EXPECT_EQ(JudgeBuild(Killed(Outcome::kSignaled, SIGSEGV), build),
            "build failed: killed by signal 11 (SIGSEGV)");
}

TEST(MakeRunReportTest, Measurements) {
  RunResult r = Exited(0, "out");
  r.stderr_data = "err";
  r.stderr_truncated = true;
  const RunReport report = MakeRunReport(r);
  EXPECT_EQ(report.exit_code, 0);
  EXPECT_EQ(report.duration_ms, 20);
  EXPECT_EQ(report.wall_time_ms, 20);
  EXPECT_EQ(report.cpu_time_ms, 12);
  EXPECT_EQ(report.memory_bytes, 3 << 20);
  EXPECT_EQ(report.stdout_data, "out");
  EXPECT_EQ(report.stderr_data, "err");
  EXPECT_TRUE(report.truncated);

  RunResult killed = Killed(Outcome::kSignaled, SIGSEGV);
  EXPECT_EQ(MakeRunReport(killed).exit_code, 128 + SIGSEGV);
  EXPECT_FALSE(MakeRunReport(killed).memory_bytes.has_value());  // unmeasured
}

std::vector<TestCase> ThreeTests() {
  return {{1, "1\n", "1\n"}, {2, "2\n", "2\n"}, {3, "3\n", std::nullopt}};
}

TEST(ResultAssemblerTest, AllTestsOk) {
  const std::vector<TestCase> tests = ThreeTests();
  ResultAssembler a("s1", tests);
  ASSERT_TRUE(a.AddBuild(Exited(0), TestLimits()));
  std::vector<size_t> ran;
  while (const auto i = a.NextTest()) {
    ran.push_back(*i);
    a.AddTest(Exited(0, tests[*i].expected_output.value_or("x")),
              TestLimits());
  }
  EXPECT_THAT(ran, ::testing::ElementsAre(0, 1, 2));
  const Result r = std::move(a).Finish(absl::Milliseconds(345));
  EXPECT_EQ(r.id, "s1");
  EXPECT_EQ(r.status, Verdict::kOK);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.run.duration_ms, 345);  // the whole submission
  EXPECT_EQ(r.run.exit_code, 0);      // the build's
  ASSERT_EQ(r.tests.size(), 3u);
  for (const TestResult& t : r.tests) EXPECT_EQ(t.status, Verdict::kOK);
  EXPECT_EQ(r.tests[2].expected_output, std::nullopt);
  EXPECT_EQ(r.tests[1].input, "2\n");
}

TEST(ResultAssemblerTest, FirstFailureStopsTheRest) {
  const std::vector<TestCase> tests = ThreeTests();
  ResultAssembler a("s2", tests);
  a.AddTest(Exited(0, "1\n"), TestLimits());
  a.AddTest(Killed(Outcome::kCpuTimeLimit), TestLimits());
  EXPECT_EQ(a.NextTest(), std::nullopt);
  const Result r = std::move(a).Finish(absl::Seconds(3));
  EXPECT_EQ(r.status, Verdict::kTL);
  EXPECT_EQ(r.tests[0].status, Verdict::kOK);
  EXPECT_EQ(r.tests[1].status, Verdict::kTL);
  EXPECT_EQ(r.tests[1].error, "time limit exceeded (2 s CPU)");
  EXPECT_EQ(r.tests[2].status, Verdict::kNotRun);
  EXPECT_FALSE(r.tests[2].run.exit_code.has_value());
  EXPECT_FALSE(r.tests[2].run.duration_ms.has_value());
  EXPECT_EQ(r.error, "test 2: time limit exceeded (2 s CPU)");
  EXPECT_EQ(r.run.exit_code, 128 + SIGKILL);  // no build: the last run's
}

TEST(ResultAssemblerTest, WrongAnswerIsTheOverallStatus) {
  const std::vector<TestCase> tests = ThreeTests();
  ResultAssembler a("s3", tests);
  a.AddTest(Exited(0, "7\n"), TestLimits());
  const Result r = std::move(a).Finish(absl::Seconds(1));
  EXPECT_EQ(r.status, Verdict::kWA);
  EXPECT_EQ(r.tests[1].status, Verdict::kNotRun);
  EXPECT_EQ(r.tests[2].status, Verdict::kNotRun);
}

TEST(ResultAssemblerTest, BuildFailure) {
  const std::vector<TestCase> tests = ThreeTests();
  ResultAssembler a("s4", tests);
  RunResult build = Exited(1);
  build.stderr_data = "error: nope\n";
  EXPECT_FALSE(a.AddBuild(build, TestLimits()));
  EXPECT_EQ(a.NextTest(), std::nullopt);
  const Result r = std::move(a).Finish(absl::Seconds(1));
  EXPECT_EQ(r.status, Verdict::kBF);
  EXPECT_EQ(r.run.stderr_data, "error: nope\n");  // compiler output on top
  EXPECT_EQ(r.run.exit_code, 1);
  EXPECT_THAT(r.error, HasSubstr("build failed: exit code 1"));
  for (const TestResult& t : r.tests) EXPECT_EQ(t.status, Verdict::kNotRun);
}

TEST(ResultAssemblerTest, NoTestsSingleRun) {
  const std::vector<TestCase> none;
  ResultAssembler a("s5", none);
  ASSERT_TRUE(a.AddBuild(Exited(0, "compiler chatter"), TestLimits()));
  EXPECT_EQ(a.NextTest(), std::nullopt);
  a.AddSingleRun(Exited(0, "hello\n"), TestLimits());
  const Result r = std::move(a).Finish(absl::Seconds(9));
  EXPECT_EQ(r.status, Verdict::kOK);
  EXPECT_EQ(r.run.stdout_data, "hello\n");  // the run, not the build
  EXPECT_EQ(r.run.duration_ms, 20);         // the run's wall time
  EXPECT_TRUE(r.tests.empty());
}

TEST(ResultAssemblerTest, NoTestsLimitOrCrash) {
  const std::vector<TestCase> none;
  ResultAssembler ml("s6", none);
  ml.AddSingleRun(Killed(Outcome::kMemoryLimit), TestLimits());
  EXPECT_EQ(std::move(ml).Finish(absl::Seconds(1)).status, Verdict::kML);
  ResultAssembler re("s7", none);
  re.AddSingleRun(Exited(2), TestLimits());
  const Result r = std::move(re).Finish(absl::Seconds(1));
  EXPECT_EQ(r.status, Verdict::kRE);
  EXPECT_EQ(r.run.exit_code, 2);
  EXPECT_EQ(r.error, "runtime error: exit code 2");
}

TEST(ResultAssemblerTest, InternalErrors) {
  const std::vector<TestCase> tests = ThreeTests();
  ResultAssembler a("s8", tests);
  a.AddTest(Exited(0, "1\n"), TestLimits());
  a.AddTestInternalError("clone3: Resource temporarily unavailable");
  const Result r = std::move(a).Finish(absl::Seconds(1));
  EXPECT_EQ(r.status, Verdict::kIE);
  EXPECT_EQ(r.tests[1].status, Verdict::kIE);
  EXPECT_THAT(r.tests[1].error, HasSubstr("internal error: clone3"));
  EXPECT_EQ(r.tests[2].status, Verdict::kNotRun);

  ResultAssembler b("s9", tests);
  b.AddInternalError("box setup: disk full");
  EXPECT_EQ(b.NextTest(), std::nullopt);
  const Result rb = std::move(b).Finish(absl::Seconds(1));
  EXPECT_EQ(rb.status, Verdict::kIE);
  EXPECT_EQ(rb.error, "internal error: box setup: disk full");
}

TEST(ResultAssemblerTest, WarningsGoIntoErrorOnce) {
  const std::vector<TestCase> tests = ThreeTests();
  ResultAssembler a("s10", tests);
  for (int i = 0; i < 3; ++i) {
    RunResult run = Exited(0, tests[i].expected_output.value_or(""));
    run.warnings = {"memory: no memory cgroup; RLIMIT_AS instead"};
    a.AddTest(run, TestLimits());
  }
  const Result r = std::move(a).Finish(absl::Seconds(1));
  EXPECT_EQ(r.status, Verdict::kOK);
  EXPECT_EQ(r.error, "warning: memory: no memory cgroup; RLIMIT_AS instead");
}

TEST(VerdictNameTest, ContractNames) {
  EXPECT_STREQ(VerdictName(Verdict::kOK), "OK");
  EXPECT_STREQ(VerdictName(Verdict::kWA), "WA");
  EXPECT_STREQ(VerdictName(Verdict::kTL), "TL");
  EXPECT_STREQ(VerdictName(Verdict::kML), "ML");
  EXPECT_STREQ(VerdictName(Verdict::kBF), "BF");
  EXPECT_STREQ(VerdictName(Verdict::kNotRun), "-");
  EXPECT_STREQ(VerdictName(Verdict::kRE), "RE");
  EXPECT_STREQ(VerdictName(Verdict::kOL), "OL");
  EXPECT_STREQ(VerdictName(Verdict::kIE), "IE");
}

TEST(FormatTest, BytesAndMillis) {
  EXPECT_EQ(FormatBytes(64 << 20), "64 MiB");
  EXPECT_EQ(FormatBytes(1 << 30), "1 GiB");
  EXPECT_EQ(FormatBytes(65536), "64 KiB");
  EXPECT_EQ(FormatBytes(1000), "1000 bytes");
  EXPECT_EQ(FormatMillis(absl::Seconds(10)), "10 s");
  EXPECT_EQ(FormatMillis(absl::Milliseconds(1500)), "1500 ms");
}

}  // namespace
}  // namespace scrc
