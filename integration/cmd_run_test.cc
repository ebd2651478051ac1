// `scrc run` with several files: one executor, N slots, one result line per
// file in the order given; unusable arguments exit 2 before any judging.
#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "integration/sandbox_fixture.h"
#include "rapidjson/document.h"

namespace scrc {
namespace {

using sandbox::testing::TempDir;
using sandbox::testing::WriteFile;

struct Ran {
  int exit_code = -1;
  std::string out;
};

Ran RunScrc(const std::string& args) {
  Ran ran;
  const std::string command =
      absl::StrCat("SCRC_HOST_MODE=1 ", SCRC_BINARY, " run ", args, " 2>/dev/null");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return ran;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) ran.out.append(buf, n);
  const int status = pclose(pipe);
  ran.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return ran;
}

TEST(CmdRunTest, SeveralFilesGiveOneLineEachInOrder) {
  TempDir dir("scrc-cmdrun");
  ASSERT_TRUE(dir.ok());
  const std::string tests =
      R"("tests":[{"input":"2 3\n","expected_output":"5\n"}])";
  ASSERT_TRUE(WriteFile(dir.Sub("a.json"),
                        absl::StrCat(R"({"id":"a","language":"python",)",
                                     R"("source":"a,b=map(int,input().split())\nprint(a+b)\n",)",
                                     tests, "}"))
                  .ok());
  ASSERT_TRUE(WriteFile(dir.Sub("b.json"),
                        absl::StrCat(R"({"id":"b","language":"python",)",
                                     R"("source":"print(4)\n",)", tests, "}"))
                  .ok());
  ASSERT_TRUE(WriteFile(dir.Sub("c.json"), "{not json").ok());
  const Ran ran = RunScrc(absl::StrCat("--parallel 2 ", dir.Sub("a.json"), " ",
                                       dir.Sub("b.json"), " ", dir.Sub("c.json")));
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
  std::vector<std::string> lines =
      absl::StrSplit(ran.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << ran.out;
  const std::vector<std::pair<std::string, std::string>> want = {
      {"a", "OK"}, {"b", "WA"}, {"", "-"}};
  for (size_t i = 0; i < 3; ++i) {
    rapidjson::Document doc;
    doc.Parse(lines[i].c_str());
    ASSERT_FALSE(doc.HasParseError()) << lines[i];
    if (!want[i].first.empty()) {
      EXPECT_EQ(std::string(doc["id"].GetString()), want[i].first) << lines[i];
    }
    EXPECT_EQ(std::string(doc["status"].GetString()), want[i].second)
        << lines[i];
  }
}

TEST(CmdRunTest, UnusableArgumentsExitTwo) {
  TempDir dir("scrc-cmdrun");
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(RunScrc(dir.Sub("missing.json")).exit_code, 2);
  EXPECT_EQ(RunScrc("--parallel 0 x.json").exit_code, 2);
  EXPECT_EQ(RunScrc("--bogus x.json").exit_code, 2);
  EXPECT_EQ(RunScrc("- -").exit_code, 2);
  EXPECT_EQ(RunScrc("").exit_code, 2);
}

}  // namespace
}  // namespace scrc
