// The sandbox run by an unprivileged user (`nobody`): user namespaces only,
// no cgroup of its own. The test, as root, starts integration/rootless_probe
// as uid 65534 and checks what it printed and what it left on the host.
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "integration/sandbox_fixture.h"
#include "integration/sandbox_programs.h"

namespace scrc::sandbox::testing {
namespace {

constexpr uid_t kNobody = 65534;

// Runs the probe as `nobody` with a secret in its environment; returns what
// it printed and sets `status` to its wait status.
std::string RunProbeAsNobody(const std::string& state_dir,
                             const std::string& box_dir,
                             const std::string& secret, int* status) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return "";
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    if (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 ||
        setuid(kNobody) != 0) {
      _exit(126);
    }
    setenv("SCRC_SECRET", secret.c_str(), 1);
    execl(ROOTLESS_PROBE, ROOTLESS_PROBE, state_dir.c_str(), box_dir.c_str(),
          nullptr);
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0 ||
         (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buf, n);
  }
  close(fds[0]);
  while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
  return out;
}

TEST(SandboxRootlessTest, RunsAsNobody) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to become nobody";
  TempDir dir("scrc-rootless");
  ASSERT_TRUE(dir.ok());
  const std::string state_dir = dir.Sub("state");
  const std::string box_dir = dir.Sub("box");
  ASSERT_TRUE(MakeOwnedDir(state_dir, kNobody, kNobody).ok());
  ASSERT_TRUE(MakeOwnedDir(box_dir, kNobody, kNobody).ok());
  for (auto [name, source] : {std::pair<const char*, std::string>{
                                  "membomb", kMemoryBomb},
                              {"environ", kEnvironDumper}}) {
    absl::Status s = CompileC(box_dir, name, source);
    ASSERT_TRUE(s.ok()) << s;
  }
  const std::string secret = absl::StrCat("xyz-", getpid(), "-rootless");

  const std::set<pid_t> before = PidsOfUid(kNobody);
  int status = 0;
  const std::string out = RunProbeAsNobody(state_dir, box_dir, secret, &status);
  std::set<pid_t> left = PidsOfUid(kNobody);
  for (pid_t pid : before) left.erase(pid);
  EXPECT_TRUE(left.empty()) << "processes of nobody left: "
                            << absl::StrJoin(left, ",");

  ASSERT_TRUE(WIFEXITED(status)) << "probe status " << status << ":\n" << out;
  EXPECT_EQ(WEXITSTATUS(status), 0) << out;
  std::map<std::string, std::string> kv = ParseKeyValues(out);
  EXPECT_EQ(kv["probe.uid"], "65534") << out;
  ASSERT_EQ(kv["probe.create_error"], "") << out;

  EXPECT_EQ(kv["true.outcome"], "exited") << out;
  EXPECT_EQ(kv["true.exit"], "0") << out;
  EXPECT_EQ(kv["id.out.uid"], "1000") << out;

  // Without a cgroup of its own the memory bomb still ends, through RLIMIT_AS
  // or the CPU limit, and the run says what was not enforced.
  EXPECT_NE(kv["membomb.outcome"], "") << out;
  EXPECT_NE(kv["membomb.outcome"], "exited") << out;
  EXPECT_TRUE(absl::StrContains(kv["membomb.warnings"], "memory")) << out;
  // The fallback held: the bomb never had much more than its 64 MiB.
  int64_t peak = -1;
  EXPECT_TRUE(absl::SimpleAtoi(kv["membomb.peak"], &peak)) << out;
  EXPECT_LE(peak, 80 * kMiB) << out;
  if (kv["probe.cgroup_version"] == "0") {
    EXPECT_TRUE(absl::StrContains(kv["membomb.warnings"], "no memory cgroup"))
        << out;
  }

  EXPECT_EQ(kv["daemon.outcome"], "exited") << out;
  EXPECT_EQ(kv["daemon.out.started"], "yes") << out;

  // The runner's environment stays out of the box, including the copy of it
  // in the box init's memory.
  EXPECT_EQ(kv["environ.outcome"], "exited") << out;
  EXPECT_EQ(kv["environ.out.env"], "PATH=/usr/bin:/bin") << out;
  EXPECT_FALSE(absl::StrContains(out, secret)) << out;
  for (const char* file : {"environ.out.init_environ", "environ.out.init_mem"}) {
    EXPECT_TRUE(kv[file] == "EACCES" || kv[file] == "EPERM")
        << file << "=" << kv[file].substr(0, 200);
  }
}

}  // namespace
}  // namespace scrc::sandbox::testing
