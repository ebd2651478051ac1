#include "src/profile.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/tree_paths.h"

namespace scrc {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kShipped[] = SCRC_SOURCE_DIR "/profiles";

TEST(ShippedProfilesTest, LoadAndCoverTheReferenceLanguages) {
  absl::StatusOr<ProfileRegistry> registry = LoadProfiles(kShipped);
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_THAT(registry->Languages(),
              ElementsAre("c", "cpp", "go", "java", "python"));
  for (const auto& [language, p] : registry->profiles()) {
    SCOPED_TRACE(language);
    // Every language builds (Python byte-compiles: a syntax error is BF),
    // and every build is bounded.
    ASSERT_TRUE(p.build.has_value());
    EXPECT_TRUE(p.build->limits.cpu_time.has_value());
    EXPECT_TRUE(p.build->limits.memory_bytes.has_value());
    EXPECT_FALSE(p.run.command.empty());
    // The box's environment is the profile's: a PATH that does not depend
    // on the runner's.
    bool has_path = false;
    for (const auto& [name, value] : p.env) {
      if (name == "PATH") {
        has_path = true;
        EXPECT_THAT(value, HasSubstr("/usr/bin"));
        EXPECT_THAT(value, ::testing::Not(HasSubstr("pyenv")));
      }
    }
    EXPECT_TRUE(has_path);
  }
  // Go's cache is seeded from a warm-up build, and GOCACHE points at it.
  const Profile* go = registry->Find("go");
  ASSERT_NE(go, nullptr);
  ASSERT_TRUE(go->build->cache.has_value());
  EXPECT_THAT(go->env, ::testing::Contains(std::pair<std::string, std::string>(
                           "GOCACHE", "/box/" + go->build->cache->dir)));
}

TEST(ShippedProfilesTest, JavaIsSizedFromTheLimit) {
  absl::StatusOr<ProfileRegistry> registry = LoadProfiles(kShipped);
  ASSERT_TRUE(registry.ok()) << registry.status();
  const Profile* java = registry->Find("java");
  ASSERT_NE(java, nullptr);
  const Placeholders values = MakePlaceholders(
      *java, {.source_file = "Main.java",
              .class_name = "Main",
              .memory_bytes = 256 << 20,
              .cpu_time = absl::Milliseconds(1500)});
  std::vector<std::string> argv;
  for (const std::string& arg : java->run.command) {
    absl::StatusOr<std::string> expanded = ExpandPlaceholders(arg, values);
    ASSERT_TRUE(expanded.ok()) << expanded.status();
    argv.push_back(*expanded);
  }
  // 256 MiB * 75 % - 16 MiB headroom.
  EXPECT_THAT(argv, ::testing::Contains("-Xmx176m"));
  EXPECT_THAT(argv, ::testing::Contains("-XX:+UseSerialGC"));
  EXPECT_EQ(argv.back(), "Main");
  EXPECT_GE(java->run.limits.pids.value_or(0), 64);
  EXPECT_EQ(DetectClass(*java, "public class Solution {}"), "Solution");
  EXPECT_EQ(DetectClass(*java, "class Helper {}"), "Main");
}

TEST(PlaceholdersTest, Expansion) {
  const Placeholders values = {{"source", "main.c"}, {"class", "Main"}};
  EXPECT_EQ(ExpandPlaceholders("{source}", values).value(), "main.c");
  EXPECT_EQ(ExpandPlaceholders("-o{class}.x", values).value(), "-oMain.x");
  EXPECT_EQ(ExpandPlaceholders("{{literal}} {source}", values).value(),
            "{literal} main.c");
  EXPECT_EQ(ExpandPlaceholders("no placeholders", values).value(),
            "no placeholders");
  EXPECT_THAT(ExpandPlaceholders("{nope}", values).status().message(),
              HasSubstr("unknown placeholder {nope}"));
  EXPECT_THAT(ExpandPlaceholders("{source", values).status().message(),
              HasSubstr("unterminated placeholder"));
  EXPECT_THAT(ExpandPlaceholders("a } b", values).status().message(),
              HasSubstr("unmatched '}'"));
}

TEST(PlaceholdersTest, LimitValues) {
  Profile p;
  p.heap = {.percent = 50, .headroom_mb = 10, .min_mb = 32};
  const Placeholders v = MakePlaceholders(
      p, {.source_file = "x", .class_name = "C", .memory_bytes = 128 << 20,
          .cpu_time = absl::Milliseconds(1500)});
  EXPECT_EQ(v.at("memory_mb"), "128");
  EXPECT_EQ(v.at("heap_mb"), "54");  // 128 / 2 - 10
  EXPECT_EQ(v.at("time_limit_s"), "2");  // rounded up
  EXPECT_EQ(v.at("time_limit_ms"), "1500");
  const Placeholders small = MakePlaceholders(
      p, {.memory_bytes = 16 << 20, .cpu_time = absl::Milliseconds(1)});
  EXPECT_EQ(small.at("heap_mb"), "32");  // never below min_mb
  EXPECT_EQ(small.at("time_limit_s"), "1");
}

TEST(JavaPublicClassTest, Extraction) {
  EXPECT_EQ(JavaPublicClass("public class Solution { }"), "Solution");
  EXPECT_EQ(JavaPublicClass("import java.util.*;\npublic final class A1 {}"),
            "A1");
  EXPECT_EQ(JavaPublicClass("@SuppressWarnings(\"x\")\npublic class $X_ {}"),
            "$X_");
  EXPECT_EQ(JavaPublicClass("public abstract class Shape {}"), "Shape");
  EXPECT_EQ(JavaPublicClass("public interface Api {}"), "Api");
  EXPECT_EQ(JavaPublicClass("public enum Color { RED }"), "Color");
  EXPECT_EQ(JavaPublicClass("public record Point(int x) {}"), "Point");
  EXPECT_EQ(JavaPublicClass("class Main {}"), std::nullopt);
  EXPECT_EQ(JavaPublicClass(""), std::nullopt);
}

TEST(JavaPublicClassTest, IgnoresCommentsStringsAndNestedClasses) {
  EXPECT_EQ(JavaPublicClass("// public class Fake\npublic class Real {}"),
            "Real");
  EXPECT_EQ(JavaPublicClass("/* public class Fake */ public class Real {}"),
            "Real");
  EXPECT_EQ(JavaPublicClass(
                "class Main { public static class Inner {} }"),
            std::nullopt);
  EXPECT_EQ(JavaPublicClass(
                "class Main { String s = \"}\"; char c = '}';\n"
                "  public static class Inner {} }\npublic class Real {}"),
            "Real");
  EXPECT_EQ(JavaPublicClass(
                "class Main { String t = \"\"\"\n  } public class X\n\"\"\"; }"),
            std::nullopt);
  EXPECT_EQ(JavaPublicClass("public static void main"), std::nullopt);
  // A name cannot leave the box directory.
  EXPECT_EQ(JavaPublicClass("public class ../../etc {}"), std::nullopt);
}

class ProfileFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/scrc-profile-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { (void)RemoveTree(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string dir_;
};

constexpr char kGood[] = R"({
  "language": "lua", "source_file": "main.lua",
  "run": {"command": ["lua", "{source}"]},
  "env": {"PATH": "/usr/bin:/bin"}
})";

TEST_F(ProfileFilesTest, AMinimalProfile) {
  Write("lua.json", kGood);
  absl::StatusOr<ProfileRegistry> registry = LoadProfiles(dir_);
  ASSERT_TRUE(registry.ok()) << registry.status();
  const Profile* lua = registry->Find("lua");
  ASSERT_NE(lua, nullptr);
  EXPECT_FALSE(lua->build.has_value());
  EXPECT_THAT(lua->run.command, ElementsAre("lua", "{source}"));
  EXPECT_EQ(lua->run.rootfs, "");  // host mode
  EXPECT_EQ(lua->default_class, "Main");
}

TEST_F(ProfileFilesTest, EmptyOrMissingDirectory) {
  EXPECT_THAT(std::string(LoadProfiles(dir_).status().message()),
              HasSubstr("no profiles (*.json) in " + dir_));
  EXPECT_THAT(std::string(LoadProfiles(dir_ + "/nope").status().message()),
              HasSubstr("No such file or directory"));
}

TEST_F(ProfileFilesTest, BrokenFilesAreAllReported) {
  Write("a.json", "{ not json");
  Write("b.json", R"({"language": "b", "source_file": "x",
                      "run": {"command": []}, "colour": 1})");
  Write("c.json", R"({"language": "C!", "source_file": "../x",
                      "run": {"command": ["{bogus}"]},
                      "build": {"command": ["cc"], "limits": {"pids": 0}}})");
  Write("d.json", kGood);
  Write("e.json", kGood);  // lua again
  Write("f.json", R"({"language": "f", "source_file": "f",
                      "run": {"command": ["x"], "limits": {"memory_bytes": "1G"}},
                      "env": {"BAD-NAME": "x", "OK": 5},
                      "class_detect": "kotlin"})");
  Write("g.json", R"({"language": "g", "source_file": "g",
                      "build": {"command": ["cc"],
                                "limits": {"cpu_time_ms": 1, "memory_bytes": 1048576},
                                "cache": {"dir": "../x", "warmup_source": ""}},
                      "run": {"command": ["x"], "cache": {}}})");
  Write("notes.txt", "ignored");
  const absl::Status status = LoadProfiles(dir_).status();
  const std::string e(status.message());
  EXPECT_THAT(e, HasSubstr(dir_ + "/a.json: invalid JSON at offset 2"));
  EXPECT_THAT(e, HasSubstr("/b.json: colour: unknown key"));
  EXPECT_THAT(e, HasSubstr("; run.command: must be a non-empty array"));
  EXPECT_THAT(e, HasSubstr("colour: unknown key"));
  EXPECT_THAT(e, HasSubstr("c.json: language: must be 1-32 of [a-z0-9_+-]"));
  EXPECT_THAT(e, HasSubstr("source_file: must be a plain file name"));
  EXPECT_THAT(e, HasSubstr("run.command[0]: unknown placeholder {bogus}"));
  EXPECT_THAT(e, HasSubstr("build.limits.pids: must be >= 1 (got 0)"));
  EXPECT_THAT(e, HasSubstr("build.limits: cpu_time_ms and memory_bytes are "
                           "required"));
  EXPECT_THAT(e, HasSubstr("e.json: language 'lua' is already defined by " +
                           dir_ + "/d.json"));
  EXPECT_THAT(e, HasSubstr("run.limits.memory_bytes: must be an integer"));
  EXPECT_THAT(e, HasSubstr("env.BAD-NAME: not a valid variable name"));
  EXPECT_THAT(e, HasSubstr("env.OK: must be a string (got number)"));
  EXPECT_THAT(e, HasSubstr("class_detect: unknown detector 'kotlin'"));
  EXPECT_THAT(e, HasSubstr("build.cache.dir: must be a relative path inside "
                           "the box"));
  EXPECT_THAT(e, HasSubstr("build.cache.warmup_source: must be a non-empty"));
  EXPECT_THAT(e, HasSubstr("run.cache: only a build step has a cache"));
  EXPECT_THAT(e, ::testing::Not(HasSubstr("notes.txt")));
}

TEST(ParseProfileTest, MissingRequiredFields) {
  const std::string e(ParseProfile("{}", "x.json").status().message());
  EXPECT_THAT(e, HasSubstr("x.json: "));
  EXPECT_THAT(e, HasSubstr("language: required"));
  EXPECT_THAT(e, HasSubstr("source_file: required"));
  EXPECT_THAT(e, HasSubstr("run: required"));
  EXPECT_THAT(std::string(ParseProfile("[]", "y.json").status().message()),
              HasSubstr("y.json: must be a JSON object (got array)"));
}

TEST(StepLimitsTest, ApplyTo) {
  StepLimits s;
  s.pids = 128;
  s.cpu_time = absl::Seconds(30);
  sandbox::Limits base;
  base.output_bytes = 1000;
  const sandbox::Limits l = s.ApplyTo(base);
  EXPECT_EQ(l.pids, 128);
  EXPECT_EQ(l.cpu_time, absl::Seconds(30));
  EXPECT_EQ(l.output_bytes, 1000);  // unset: kept
}

}  // namespace
}  // namespace scrc
