// The five languages judged on their own rootfs trees (scripts/build-rootfs)
// through a real `scrc run -`, and what a box on a tree sees: that tree only,
// read-only, with the host's tree directory left as it was. A missing tree
// fails (never skips): scripts/test builds the trees before these tests.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "integration/kafka_harness.h"
#include "integration/sandbox_fixture.h"
#include "rapidjson/document.h"
#include "src/result_table.h"
#include "src/rootfs_store.h"

namespace scrc {
namespace {

using kafka_test::ScriptSpec;
using sandbox::testing::ReadFileOrEmpty;
using sandbox::testing::TempDir;

// The trees of every language (the executor resolves them all at start, so
// each run needs all of them), as the brief of issue 4 names them.
const std::map<std::string, std::string>& ImageEnv() {
  static const auto* const env = new std::map<std::string, std::string>{
      {"C_IMAGE", "gcc"},        {"C_RUN_IMAGE", "run"},
      {"CPP_IMAGE", "gcc"},      {"CPP_RUN_IMAGE", "run"},
      {"GO_IMAGE", "go"},        {"GO_RUN_IMAGE", "run"},
      {"JAVA_IMAGE", "java"},    {"JAVA_RUN_IMAGE", "java-run"},
      {"PYTHON_IMAGE", "python"}};
  return *env;
}

std::string RootfsDir() {
  const char* dir = std::getenv("SCRC_TEST_ROOTFS_DIR");
  return dir != nullptr && *dir != '\0' ? dir : DefaultRootfsDir();
}

// Empty when every tree exists, else what to do about it.
std::string MissingTrees() {
  const RootfsStore store(RootfsDir());
  std::vector<std::string> missing;
  for (const auto& [var, name] : ImageEnv()) {
    if (!store.Exists(name) &&
        std::find(missing.begin(), missing.end(), name) == missing.end()) {
      missing.push_back(name);
    }
  }
  if (missing.empty()) return "";
  return absl::StrCat("rootfs trees missing in ", store.dir(), ": ",
                      absl::StrJoin(missing, ", "),
                      "; run SCRC_ROOTFS_DIR=", store.dir(),
                      " scripts/build-rootfs all (scripts/test does it before "
                      "the integration tests; SCRC_TEST_ROOTFS_DIR picks "
                      "another directory)");
}

struct ScrcRun {
  int exit_code = -1;  // -1: still running after the guard, killed
  std::string stdout_text;
  std::string stderr_text;

  std::string Describe() const {
    return absl::StrCat("scrc run exit ", exit_code, "\nstdout: ", stdout_text,
                        "\nstderr: ", stderr_text);
  }
};

// `scrc run -` with `message` on stdin and the tree variables on top of our
// environment. The guard only keeps a hung runner from hanging the test.
ScrcRun RunScrc(const std::string& message) {
  ScrcRun run;
  TempDir dir("scrc-trees");
  if (!dir.ok() ||
      !sandbox::testing::WriteFile(dir.Sub("in.json"), message).ok()) {
    run.stderr_text = "test: cannot write the message to a temp file";
    return run;
  }
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const size_t eq = entry.find('=');
    if (eq != std::string::npos)
      merged[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : ImageEnv()) merged[k] = v;
  merged["SCRC_ROOTFS_DIR"] = RootfsDir();
  std::vector<std::string> storage;
  for (const auto& [k, v] : merged) storage.push_back(absl::StrCat(k, "=", v));
  std::vector<char*> envp;
  for (std::string& s : storage) envp.push_back(s.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO,
                                   dir.Sub("in.json").c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO,
                                   dir.Sub("out").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO,
                                   dir.Sub("err").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::string binary = SCRC_BINARY, verb = "run", dash = "-";
  char* argv[] = {binary.data(), verb.data(), dash.data(), nullptr};
  pid_t pid = -1;
  const int rc =
      posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    run.stderr_text = absl::StrCat("spawn ", binary, ": ", strerror(rc));
    return run;
  }
  const absl::Time deadline = absl::Now() + absl::Minutes(10);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      status = -1;
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  if (status != -1) {
    run.exit_code =
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  run.stdout_text = ReadFileOrEmpty(dir.Sub("out"));
  run.stderr_text = ReadFileOrEmpty(dir.Sub("err"));
  if (std::getenv("SCRC_TEST_VERBOSE") != nullptr) {
    std::cerr << message << "\n" << run.Describe() << "\n";
  }
  return run;
}

// ---- Verdicts: OK, WA and BF for each language on its own trees. ----

struct VerdictCase {
  std::string name;  // test name suffix
  ScriptSpec spec;
  std::string verdict;
};

std::vector<VerdictCase> VerdictCases() {
  const auto tests = kafka_test::SumTests();
  const std::string c_head =
      "#include <stdio.h>\nint main(){int a,b;"
      "scanf(\"%d %d\",&a,&b);printf(\"%d\\n\",";
  const std::string cpp_head =
      "#include <iostream>\nint main(){int a,b;"
      "std::cin>>a>>b;std::cout<<";
  const std::string go_head =
      "package main\nimport \"fmt\"\nfunc main(){"
      "var a,b int\nfmt.Scan(&a,&b)\nfmt.Println(";
  const std::string java_head =
      "public class Main{public static void main(String[] x){"
      "java.util.Scanner s=new java.util.Scanner(System.in);"
      "int a=s.nextInt(),b=s.nextInt();System.out.println(";
  return {
      {"python_OK", kafka_test::PythonSum("python-ok"), "OK"},
      {"python_WA",
       {"python-wa", "python", "a,b=map(int,input().split())\nprint(a-b)\n",
        tests},
       "WA"},
      {"python_BF", {"python-bf", "python", "def f(:\n", tests}, "BF"},
      {"c_OK", kafka_test::CSum("c-ok"), "OK"},
      {"c_WA", {"c-wa", "c", c_head + "a*b);}\n", tests}, "WA"},
      {"c_BF", {"c-bf", "c", "int main( {\n", tests}, "BF"},
      {"cpp_OK", {"cpp-ok", "cpp", cpp_head + "a+b<<\"\\n\";}\n", tests}, "OK"},
      {"cpp_WA", {"cpp-wa", "cpp", cpp_head + "a-b<<\"\\n\";}\n", tests}, "WA"},
      {"cpp_BF", {"cpp-bf", "cpp", cpp_head + "undeclared;}\n", tests}, "BF"},
      {"go_OK", {"go-ok", "go", go_head + "a+b)}\n", tests}, "OK"},
      {"go_WA", {"go-wa", "go", go_head + "a-b)}\n", tests}, "WA"},
      {"go_BF", {"go-bf", "go", go_head + "a+c)}\n", tests}, "BF"},
      {"java_OK", {"java-ok", "java", java_head + "a+b);}}\n", tests}, "OK"},
      {"java_WA", {"java-wa", "java", java_head + "a-b);}}\n", tests}, "WA"},
      {"java_BF", {"java-bf", "java", java_head + "a+b)}}\n", tests}, "BF"},
  };
}

class RootfsTreesVerdict : public ::testing::TestWithParam<VerdictCase> {};

TEST_P(RootfsTreesVerdict, ExactVerdict) {
  const std::string missing = MissingTrees();
  ASSERT_TRUE(missing.empty()) << missing;
  const VerdictCase& c = GetParam();
  const ScrcRun run = RunScrc(kafka_test::ScriptJson(c.spec));
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  absl::StatusOr<ResultSummary> result = ParseResultSummary(run.stdout_text);
  ASSERT_TRUE(result.ok()) << result.status() << "\n" << run.Describe();
  EXPECT_EQ(result->id, c.spec.id);
  EXPECT_EQ(result->status, c.verdict) << run.Describe();
  if (c.verdict == "OK") {
    EXPECT_EQ(result->tests_ok, 2) << run.Describe();
    EXPECT_EQ(result->tests_total, 2) << run.Describe();
  }
}

INSTANTIATE_TEST_SUITE_P(RootfsTrees, RootfsTreesVerdict,
                         ::testing::ValuesIn(VerdictCases()),
                         [](const ::testing::TestParamInfo<VerdictCase>& info) {
                           return info.param.name;
                         });

// ---- A box on a tree sees that tree only, and cannot change it. ----

// The tree's top level as the host sees it: names, types, mtimes (a file
// created, removed or renamed in a top-level directory changes its mtime).
std::string TopLevel(const std::string& tree) {
  std::vector<std::string> lines;
  auto describe = [&](const std::string& name) {
    struct stat st;
    const std::string path = absl::StrCat(tree, "/", name);
    if (lstat(path.c_str(), &st) != 0) {
      lines.push_back(absl::StrCat(name, " lstat: ", strerror(errno)));
      return;
    }
    lines.push_back(absl::StrCat(name, " mode=", absl::Hex(st.st_mode),
                                 " mtime=", st.st_mtim.tv_sec, ".",
                                 st.st_mtim.tv_nsec, " size=", st.st_size));
  };
  describe(".");
  DIR* d = opendir(tree.c_str());
  if (d == nullptr)
    return absl::StrCat("opendir ", tree, ": ", strerror(errno));
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") describe(name);
  }
  closedir(d);
  std::sort(lines.begin(), lines.end());
  return absl::StrJoin(lines, "\n");
}

bool HostHas(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Prints "<path>=visible|absent" for each path on stdin, then the errno of
// creating files on the tree, then what /etc/passwd holds.
constexpr char kProbe[] = R"(#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
static void try_create(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  printf("create %s=%d\n", path, fd >= 0 ? 0 : errno);
}
int main(void) {
  char path[4096], buf[65536];
  struct stat st;
  while (scanf("%4095s", path) == 1)
    printf("%s=%s\n", path, lstat(path, &st) == 0 ? "visible" : "absent");
  try_create("/usr/x");
  try_create("/x");
  FILE* f = fopen("/etc/passwd", "r");
  size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
  buf[n] = 0;
  printf("passwd bytes=%zu\n", n);
  printf("passwd box=%d\n", strstr(buf, "box:x:1000:") != NULL);
  return 0;
}
)";

TEST(RootfsTreesIsolation, BoxSeesOnlyItsReadOnlyTree) {
  const std::string missing = MissingTrees();
  ASSERT_TRUE(missing.empty()) << missing;
  const RootfsStore store(RootfsDir());
  const std::string build_tree = store.TreePath("gcc");
  const std::string run_tree = store.TreePath("run");

  // Host paths the run tree does not hold: a box seeing any of them sees
  // the host. The binary under test and a fresh file always qualify.
  TempDir marker_dir("scrc-trees-marker");
  ASSERT_TRUE(marker_dir.ok());
  const std::string marker = marker_dir.Sub("marker");
  ASSERT_TRUE(sandbox::testing::WriteFile(marker, "host\n").ok());
  std::vector<std::string> host_only;
  for (const std::string& path :
       {std::string("/usr/local/go"), std::string("/root/.pyenv"),
        std::string("/work"), std::string("/etc/java-17-openjdk"),
        std::string("/usr/bin/javac"), std::string("/usr/bin/gcc"),
        std::string("/usr/bin/python3"), std::string("/etc/hostname"),
        store.dir(), std::string(SCRC_BINARY), marker}) {
    if (HostHas(path) && !HostHas(run_tree + path)) host_only.push_back(path);
  }
  ASSERT_FALSE(host_only.empty());

  std::string input, expected;
  for (const std::string& path : host_only) {
    absl::StrAppend(&input, path, "\n");
    absl::StrAppend(&expected, path, "=absent\n");
  }
  const std::string tree_passwd =
      ReadFileOrEmpty(absl::StrCat(run_tree, "/etc/passwd"));
  ASSERT_NE(tree_passwd.find("box:x:1000:"), std::string::npos)
      << run_tree << "/etc/passwd has no box user: rebuild the tree";
  absl::StrAppend(&expected, "create /usr/x=", EROFS, "\ncreate /x=", EROFS,
                  "\npasswd bytes=", tree_passwd.size(), "\npasswd box=1\n");

  const std::string build_before = TopLevel(build_tree);
  const std::string run_before = TopLevel(run_tree);
  ScriptSpec spec{"trees-probe", "c", kProbe, {{input, expected}}};
  const ScrcRun run = RunScrc(kafka_test::ScriptJson(spec));
  ASSERT_EQ(run.exit_code, 0) << run.Describe();

  rapidjson::Document doc;
  doc.Parse(run.stdout_text.c_str());
  ASSERT_TRUE(doc.IsObject() && doc.HasMember("tests") &&
              doc["tests"].IsArray() && doc["tests"].Size() == 1 &&
              doc["tests"][0].HasMember("stdout") &&
              doc["tests"][0]["stdout"].IsString())
      << run.Describe();
  const std::map<std::string, std::string> seen =
      sandbox::testing::ParseKeyValues(doc["tests"][0]["stdout"].GetString());
  for (const std::string& path : host_only) {
    EXPECT_EQ(seen.contains(path) ? seen.at(path) : "(not reported)", "absent")
        << "host path " << path << " is visible in a box on " << run_tree;
  }
  for (const char* key : {"create /usr/x", "create /x"}) {
    EXPECT_EQ(seen.contains(key) ? seen.at(key) : "(not reported)",
              absl::StrCat(EROFS))
        << key << ": the tree must be mounted read-only (errno " << EROFS
        << " EROFS)";
  }
  EXPECT_EQ(seen.contains("passwd box") ? seen.at("passwd box") : "", "1")
      << "/etc/passwd in the box is not the tree's";
  EXPECT_EQ(seen.contains("passwd bytes") ? seen.at("passwd bytes") : "",
            absl::StrCat(tree_passwd.size()))
      << "/etc/passwd in the box is not the tree's";
  absl::StatusOr<ResultSummary> result = ParseResultSummary(run.stdout_text);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, "OK") << run.Describe();

  EXPECT_FALSE(HostHas(run_tree + "/usr/x"));
  EXPECT_FALSE(HostHas(run_tree + "/x"));
  EXPECT_EQ(TopLevel(build_tree), build_before)
      << "the build left a mark on the host's " << build_tree;
  EXPECT_EQ(TopLevel(run_tree), run_before)
      << "the run left a mark on the host's " << run_tree;
}

}  // namespace
}  // namespace scrc
