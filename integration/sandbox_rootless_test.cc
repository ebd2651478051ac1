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
  // The runner's environment plus the secret, made before fork (no
  // allocation in the child).
  std::vector<std::string> env = {absl::StrCat("SCRC_SECRET=", secret)};
  for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string probe = ROOTLESS_PROBE;
  char* const argv[] = {const_cast<char*>(probe.c_str()),
                        const_cast<char*>(state_dir.c_str()),
                        const_cast<char*>(box_dir.c_str()), nullptr};
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
    execve(argv[0], argv, envp.data());
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

// What one run of the probe as `nobody` printed and left behind; made once
// and shared by the tests below.
struct ProbeRun {
  bool skipped = false;  // not root: cannot become nobody
  std::string setup_error;
  int status = 0;
  std::map<std::string, std::string> kv;
  std::string shown;  // the output, with what the box read of the init cut
  std::string secret;
  bool secret_seen = false;
  std::set<pid_t> left;  // processes of nobody the probe left
};

const ProbeRun& Probe() {
  static const ProbeRun* const run = [] {
    auto* r = new ProbeRun;
    if (geteuid() != 0) {
      r->skipped = true;
      return r;
    }
    TempDir dir("scrc-rootless");
    const std::string state_dir = dir.Sub("state");
    const std::string box_dir = dir.Sub("box");
    for (const std::string& d : {state_dir, box_dir}) {
      if (absl::Status s = MakeOwnedDir(d, kNobody, kNobody); !s.ok()) {
        r->setup_error = s.ToString();
        return r;
      }
    }
    for (auto [name, source] : {std::pair<const char*, std::string>{
                                    "membomb", kMemoryBomb},
                                {"environ", kEnvironDumper}}) {
      if (absl::Status s = CompileC(box_dir, name, source); !s.ok()) {
        r->setup_error = s.ToString();
        return r;
      }
    }
    r->secret = absl::StrCat("xyz-", getpid(), "-rootless");
    const std::set<pid_t> before = PidsOfUid(kNobody);
    const std::string out =
        RunProbeAsNobody(state_dir, box_dir, r->secret, &r->status);
    r->left = PidsOfUid(kNobody);
    for (pid_t pid : before) r->left.erase(pid);
    r->kv = ParseKeyValues(out);
    r->secret_seen = absl::StrContains(out, r->secret);
    // A leak must not end up whole in the test log.
    for (absl::string_view line : absl::StrSplit(out, '\n')) {
      if (absl::StartsWith(line, "environ.out.init_")) line = line.substr(0, 60);
      absl::StrAppend(&r->shown, line, "\n");
    }
    return r;
  }();
  return *run;
}

class SandboxRootlessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ProbeRun& run = Probe();
    if (run.skipped) GTEST_SKIP() << "needs root to become nobody";
    ASSERT_EQ(run.setup_error, "");
    ASSERT_TRUE(WIFEXITED(run.status)) << "probe status " << run.status;
    ASSERT_EQ(run.kv.count("probe.create_error"), 0u) << run.shown;
    kv_ = run.kv;
  }
  const std::string& shown() const { return Probe().shown; }

  std::map<std::string, std::string> kv_;
};

TEST_F(SandboxRootlessTest, ProbeRanAsNobody) {
  EXPECT_EQ(WEXITSTATUS(Probe().status), 0) << shown();
  EXPECT_EQ(kv_["probe.uid"], "65534") << shown();
}

TEST_F(SandboxRootlessTest, RunsTrueAsBoxUser) {
  EXPECT_EQ(kv_["true.outcome"], "exited") << shown();
  EXPECT_EQ(kv_["true.exit"], "0") << shown();
  EXPECT_EQ(kv_["id.out.uid"], "1000") << shown();
}

TEST_F(SandboxRootlessTest, MemoryBombEndsWithoutACgroup) {
  // Through RLIMIT_AS and the CPU or wall limit; the run says what was not
  // enforced.
  EXPECT_NE(kv_["membomb.outcome"], "") << shown();
  EXPECT_NE(kv_["membomb.outcome"], "exited") << shown();
  EXPECT_TRUE(absl::StrContains(kv_["membomb.warnings"], "memory")) << shown();
  if (kv_["probe.cgroup_version"] == "0") {
    EXPECT_TRUE(absl::StrContains(kv_["membomb.warnings"], "no memory cgroup"))
        << shown();
  }
  // The fallback held: malloc failed before the bomb had its 64 MiB.
  int allocated_mib = -1;
  EXPECT_TRUE(absl::SimpleAtoi(kv_["membomb.out.allocated_mib"], &allocated_mib))
      << shown();
  EXPECT_LT(allocated_mib, 64) << shown();
}

TEST_F(SandboxRootlessTest, NoProcessOfNobodyIsLeft) {
  EXPECT_EQ(kv_["daemon.outcome"], "exited") << shown();
  EXPECT_EQ(kv_["daemon.out.started"], "yes") << shown();
  EXPECT_TRUE(Probe().left.empty())
      << "processes of nobody left: " << absl::StrJoin(Probe().left, ",");
}

TEST_F(SandboxRootlessTest, RunnerEnvironmentDoesNotLeak) {
  EXPECT_EQ(kv_["environ.outcome"], "exited") << shown();
  EXPECT_EQ(kv_["environ.out.env"], "PATH=/usr/bin:/bin") << shown();
  EXPECT_FALSE(Probe().secret_seen)
      << "the box read the runner's environment:\n" << shown();
  // The box init is a copy of the runner: its memory must stay out of reach.
  for (const char* file : {"environ.out.init_environ", "environ.out.init_mem"}) {
    EXPECT_TRUE(kv_[file] == "EACCES" || kv_[file] == "EPERM")
        << file << "=" << kv_[file].substr(0, 40);
  }
}

}  // namespace
}  // namespace scrc::sandbox::testing
