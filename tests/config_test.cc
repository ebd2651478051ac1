#include "src/config.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace scrc {
namespace {

using ::testing::HasSubstr;

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ParseGoDurationTest, GoSyntax) {
  EXPECT_EQ(ParseGoDuration("5s").value(), absl::Seconds(5));
  EXPECT_EQ(ParseGoDuration("2m30s").value(), absl::Seconds(150));
  EXPECT_EQ(ParseGoDuration("1500ms").value(), absl::Milliseconds(1500));
  EXPECT_EQ(ParseGoDuration("0").value(), absl::ZeroDuration());
  EXPECT_EQ(ParseGoDuration("1h").value(), absl::Hours(1));
  EXPECT_EQ(ParseGoDuration("1.5s").value(), absl::Milliseconds(1500));
  EXPECT_EQ(ParseGoDuration("250us").value(), absl::Microseconds(250));
  EXPECT_EQ(ParseGoDuration("250\u00b5s").value(), absl::Microseconds(250));
  EXPECT_EQ(ParseGoDuration(" 5s ").value(), absl::Seconds(5));
}

TEST(ParseGoDurationTest, Refused) {
  for (const char* bad : {"5", "", "s", "5 s", "five", "inf", "5d", "1s2"}) {
    SCOPED_TRACE(bad);
    absl::StatusOr<absl::Duration> d = ParseGoDuration(bad);
    ASSERT_FALSE(d.ok());
    EXPECT_THAT(std::string(d.status().message()),
                HasSubstr("invalid duration"));
  }
  EXPECT_THAT(std::string(ParseGoDuration("-5s").status().message()),
              HasSubstr("must not be negative"));
}

TEST(ReadExecutorOptionsTest, Defaults) {
  ConfigErrors errors;
  const ExecutorOptions o = ReadExecutorOptions(Env({}), errors);
  EXPECT_TRUE(errors.empty()) << errors.ToStatus();
  EXPECT_EQ(o.parallel, 1);
  EXPECT_EQ(o.default_time_limit, absl::ZeroDuration());
  EXPECT_EQ(o.default_memory_limit, 0);
  EXPECT_EQ(o.max_output_bytes, 65536);
  EXPECT_EQ(o.work_dir, DefaultWorkDir());
  EXPECT_EQ(o.profiles_dir, std::string(SCRC_SOURCE_DIR) + "/profiles");
  EXPECT_EQ(o.rootfs_dir, "");
  EXPECT_EQ(o.cgroup_parent, "");
}

TEST(ReadExecutorOptionsTest, Values) {
  ConfigErrors errors;
  const ExecutorOptions o = ReadExecutorOptions(
      Env({{"RUNNER_MAX_PARALLEL", "8"},
           {"RUNNER_TIME_LIMIT", "2m30s"},
           {"RUNNER_MEMORY_LIMIT", "268435456"},
           {"RUNNER_MAX_OUTPUT_BYTES", "1024"},
           {"SCRC_WORK_DIR", "/var/lib/scrc/work"},
           {"SCRC_PROFILES_DIR", "/"},
           {"SCRC_ROOTFS_DIR", "/var/cache/scrc/rootfs"},
           {"SCRC_CGROUP_PARENT", "/scrc"}}),
      errors);
  EXPECT_TRUE(errors.empty()) << errors.ToStatus();
  EXPECT_EQ(o.parallel, 8);
  EXPECT_EQ(o.default_time_limit, absl::Seconds(150));
  EXPECT_EQ(o.default_memory_limit, 268435456);
  EXPECT_EQ(o.max_output_bytes, 1024);
  EXPECT_EQ(o.work_dir, "/var/lib/scrc/work");
  EXPECT_EQ(o.profiles_dir, "/");
  EXPECT_EQ(o.rootfs_dir, "/var/cache/scrc/rootfs");
  EXPECT_EQ(o.cgroup_parent, "/scrc");
}

TEST(ReadExecutorOptionsTest, EmptyMeansDefault) {
  ConfigErrors errors;
  const ExecutorOptions o = ReadExecutorOptions(
      Env({{"RUNNER_MAX_PARALLEL", ""}, {"RUNNER_TIME_LIMIT", ""}}), errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(o.parallel, 1);
}

TEST(ReadExecutorOptionsTest, EveryProblemIsCollected) {
  ConfigErrors errors;
  ReadExecutorOptions(Env({{"RUNNER_MAX_PARALLEL", "zero"},
                           {"RUNNER_TIME_LIMIT", "5"},
                           {"RUNNER_MEMORY_LIMIT", "-1"},
                           {"RUNNER_MAX_OUTPUT_BYTES", "0"},
                           {"SCRC_WORK_DIR", "relative/dir"},
                           {"SCRC_PROFILES_DIR", "/nonexistent/profiles"},
                           {"SCRC_ROOTFS_DIR", "rootfs"},
                           {"SCRC_CGROUP_PARENT", "/scrc/../escape"}}),
                      errors);
  ASSERT_EQ(errors.problems().size(), 8u) << errors.ToStatus();
  const std::string e(errors.ToStatus().message());
  EXPECT_THAT(e, HasSubstr("invalid configuration (8 problems):"));
  EXPECT_THAT(e, HasSubstr("RUNNER_MAX_PARALLEL: must be an integer between "
                           "1 and 1024 (got 'zero')"));
  EXPECT_THAT(e, HasSubstr("RUNNER_TIME_LIMIT: invalid duration '5'"));
  EXPECT_THAT(e, HasSubstr("RUNNER_MEMORY_LIMIT: must be >= 0 (got -1)"));
  EXPECT_THAT(e, HasSubstr("RUNNER_MAX_OUTPUT_BYTES: must be between 1 and"));
  EXPECT_THAT(e, HasSubstr("SCRC_WORK_DIR: must be an absolute path"));
  EXPECT_THAT(e, HasSubstr("SCRC_PROFILES_DIR: '/nonexistent/profiles': No "
                           "such file or directory"));
  EXPECT_THAT(e, HasSubstr("SCRC_ROOTFS_DIR: must be an absolute path"));
  EXPECT_THAT(e, HasSubstr("SCRC_CGROUP_PARENT: must be an absolute cgroup"));
}

TEST(ReadExecutorOptionsTest, LimitsOutOfRange) {
  ConfigErrors errors;
  ReadExecutorOptions(Env({{"RUNNER_TIME_LIMIT", "2h"},
                           {"RUNNER_MEMORY_LIMIT", "1000"},
                           {"RUNNER_MAX_PARALLEL", "0"}}),
                      errors);
  const std::string e(errors.ToStatus().message());
  EXPECT_THAT(e, HasSubstr("RUNNER_TIME_LIMIT: must be at most 1h"));
  EXPECT_THAT(e, HasSubstr("RUNNER_MEMORY_LIMIT: must be 0 (none) or at least "
                           "1 MiB"));
  EXPECT_THAT(e, HasSubstr("RUNNER_MAX_PARALLEL: must be between 1 and 1024 "
                           "(got 0)"));
}

TEST(ConfigErrorsTest, Format) {
  ConfigErrors errors;
  EXPECT_TRUE(errors.ToStatus().ok());
  errors.Add("X", "bad");
  EXPECT_EQ(errors.ToStatus().message(), "invalid configuration (1 problem):\n  X: bad");
}

TEST(EnvHelpersTest, IntBoolString) {
  ConfigErrors errors;
  const EnvLookup env = Env({{"A", "42"}, {"B", "yes"}, {"C", "maybe"},
                             {"S", "text"}});
  EXPECT_EQ(EnvInt(env, "A", 0, 0, 100, errors), 42);
  EXPECT_EQ(EnvInt(env, "MISSING", 7, 0, 100, errors), 7);
  EXPECT_TRUE(EnvBool(env, "B", false, errors));
  EXPECT_FALSE(EnvBool(env, "C", false, errors));
  EXPECT_EQ(EnvString(env, "S", "d"), "text");
  EXPECT_EQ(EnvString(env, "T", "d"), "d");
  ASSERT_EQ(errors.problems().size(), 1u);
  EXPECT_EQ(errors.problems()[0], "C: must be true or false (got 'maybe')");
}

}  // namespace
}  // namespace scrc
