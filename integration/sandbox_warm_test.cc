// Boxes built ahead (RunSpec::next): each run still gets a fresh
// box, nothing of one run reaches the next, counters start at zero, and a
// box dir replaced under the same path is never served from a stale box.
#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "integration/sandbox_fixture.h"
#include "integration/sandbox_programs.h"

namespace scrc::sandbox::testing {
namespace {

using SandboxWarmTest = SandboxTest;

// Reads a command on stdin and does it, so that one spec (the same box)
// serves several different runs.
constexpr char kActor[] = R"(
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
int main(void) {
  char cmd[64] = {0};
  if (scanf("%63s", cmd) != 1) return 3;
  int tmp_entries = 0;
  DIR* d = opendir("/tmp");
  for (struct dirent* e; d && (e = readdir(d));) {
    if (e->d_name[0] != '.') ++tmp_entries;
  }
  printf("pid=%d tmp_entries=%d\n", (int)getpid(), tmp_entries);
  int fd = open("/tmp/mark", O_CREAT | O_WRONLY, 0644);
  if (fd >= 0) close(fd);
  if (strcmp(cmd, "daemon") == 0) {
    if (fork() == 0) {
      setsid();
      if (fork() == 0) { sleep(1000); _exit(0); }
      _exit(0);
    }
    sleep(1);  // the grandchild is running when this run ends
  } else if (strcmp(cmd, "serve") == 0) {
    /* A daemon that hands "secret" to whoever connects, in the slot's
       network namespace (shared by the boxes of one slot). */
    struct sockaddr_un addr = {AF_UNIX, "\0scrc-warm-leak"};
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(s, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(s, 8))
      return 5;
    if (fork() == 0) {
      setsid();
      close(0), close(1), close(2);  /* the run ends without waiting for it */
      for (;;) {
        int c = accept(s, NULL, NULL);
        if (c >= 0) { write(c, "secret\n", 7); close(c); }
      }
    }
    printf("serving\n");
  } else if (strcmp(cmd, "fetch") == 0) {
    struct sockaddr_un addr = {AF_UNIX, "\0scrc-warm-leak"};
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    char got[16] = "none";
    struct timeval tv = {0, 300000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(s, (struct sockaddr*)&addr, sizeof addr) == 0) {
      ssize_t n = read(s, got, sizeof got - 1);
      got[n > 0 ? n : 0] = 0;
      if (n <= 0) strcpy(got, "none");
    }
    printf("leak=%s\n", got);
  } else if (strcmp(cmd, "procs") == 0) {
    int procs = 0;
    DIR* p = opendir("/proc");
    for (struct dirent* e; p && (e = readdir(p));) {
      if (atoi(e->d_name) > 0) ++procs;
    }
    printf("procs=%d\n", procs);  /* the init and this program */
  } else if (strcmp(cmd, "burn") == 0) {
    volatile unsigned long x = 0;
    for (unsigned long i = 0; i < 600000000UL; ++i) x += i;
  } else if (strcmp(cmd, "alloc") == 0) {
    size_t n = 100u << 20;
    volatile char* m = malloc(n);
    if (m == NULL) return 4;
    for (size_t i = 0; i < n; i += 4096) m[i] = 1;
    printf("touched=%zu\n", n);
  } else if (strcmp(cmd, "file") == 0) {
    char buf[64] = {0};
    int f = open("/box/which", O_RDONLY);
    if (f >= 0 && read(f, buf, sizeof buf - 1) > 0) printf("which=%s\n", buf);
  }
  return 0;
}
)";

class SandboxWarmRuns : public SandboxWarmTest {
 protected:
  void SetUp() override {
    SandboxWarmTest::SetUp();
    if (HasFatalFailure()) return;
    Build("actor", kActor);
    spec_ = Spec({"/box/actor"});
    spec_.limits.cpu_time = absl::Seconds(5);
    spec_.limits.wall_time = absl::Seconds(20);
    spec_.next = std::make_shared<RunSpec>(spec_);
  }
  void TearDown() override {
    // The shared sandbox must not keep a box of this test.
    sandbox_->DropPrepared();
    sandbox_->AwaitEmpty();
  }

  RunResult RunWarm(const std::string& command, bool prepare_next = true) {
    RunSpec spec = spec_;
    spec.stdin_data = command + "\n";
    if (!prepare_next) spec.next.reset();
    absl::StatusOr<RunResult> r = sandbox_->Run(spec);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : RunResult{};
  }

  // Waits until the box built ahead has built its filesystem and dropped to
  // the box uid; returns the box uid's processes not in `before`.
  std::set<pid_t> AwaitWarmInit(const std::set<pid_t>& before) {
    sandbox_->AwaitEmpty();
    std::set<pid_t> warm;
    for (int i = 0; i < 200; ++i) {
      warm = PidsOfUid(box_uid());
      for (pid_t pid : before) warm.erase(pid);
      if (!warm.empty()) break;
      usleep(10000);
    }
    return warm;
  }

  RunSpec spec_;
};

TEST_F(SandboxWarmRuns, EachRunHasAFreshBox) {
  for (int i = 0; i < 4; ++i) {
    RunResult r = RunWarm("plain");
    EXPECT_EQ(r.outcome, Outcome::kExited) << Describe(r);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    // The /tmp of the run before held a file; this one is empty.
    EXPECT_EQ(r.stdout_data, "pid=2 tmp_entries=0\n") << "run " << i;
  }
}

TEST_F(SandboxWarmRuns, NothingOfADaemonReachesTheNextRun) {
  RunResult first = RunWarm("daemon");
  EXPECT_EQ(first.outcome, Outcome::kExited) << Describe(first);
  RunResult second = RunWarm("procs");
  EXPECT_TRUE(absl::StrContains(second.stdout_data, "procs=2\n"))
      << Describe(second);
  // The last run without the hint: afterwards nothing of the box uid lives.
  RunSpec last = spec_;
  last.next.reset();
  last.stdin_data = "procs\n";
  absl::StatusOr<RunResult> r = Run(last);  // checks the host for leftovers
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(absl::StrContains(r->stdout_data, "procs=2\n")) << Describe(*r);
}

TEST_F(SandboxWarmRuns, ALeftoverCannotServeTheNextRun) {
  // The next run starts while the last box is still being torn down; what
  // that box left running must already be unable to act.
  for (int i = 0; i < 5; ++i) {
    RunResult serve = RunWarm("serve");
    EXPECT_TRUE(absl::StrContains(serve.stdout_data, "serving")) << Describe(serve);
    RunResult fetch = RunWarm("fetch");
    EXPECT_TRUE(absl::StrContains(fetch.stdout_data, "leak=none\n"))
        << "round " << i << ": " << Describe(fetch);
  }
}

TEST_F(SandboxWarmRuns, CountersStartAtZeroForEachRun) {
  RunResult burn = RunWarm("burn");
  RunResult alloc = RunWarm("alloc");
  RunResult idle = RunWarm("plain");
  EXPECT_GT(burn.cpu_time, absl::Milliseconds(100)) << Describe(burn);
  EXPECT_GT(alloc.peak_memory_bytes, 90 * kMiB) << Describe(alloc);
  // Neither the burn, the allocation nor building the box counts here.
  EXPECT_LT(idle.cpu_time, absl::Milliseconds(50)) << Describe(idle);
  EXPECT_LT(idle.peak_memory_bytes, 20 * kMiB) << Describe(idle);
  EXPECT_LT(idle.wall_time, absl::Milliseconds(500)) << Describe(idle);
}

TEST_F(SandboxWarmRuns, AReplacedBoxDirIsNeverServedStale) {
  ASSERT_TRUE(WriteFile(box_dir_ + "/which", "old").ok());
  const std::set<pid_t> before = PidsOfUid(box_uid());
  RunResult old_run = RunWarm("file");
  EXPECT_EQ(old_run.stdout_data, "pid=2 tmp_entries=0\nwhich=old\n");
  // The next box is built, its /box bound to the old directory.
  ASSERT_EQ(AwaitWarmInit(before).size(), 1u);
  // The executor's next submission: the same path, a new directory.
  std::filesystem::rename(box_dir_, box_dir_ + ".gone");
  ASSERT_TRUE(MakeOwnedDir(box_dir_, box_uid(), sandbox_->box_host_gid()).ok());
  std::filesystem::copy_file(box_dir_ + ".gone/actor", box_dir_ + "/actor");
  ASSERT_TRUE(WriteFile(box_dir_ + "/which", "new").ok());
  RunResult new_run = RunWarm("file", /*prepare_next=*/false);
  EXPECT_EQ(new_run.stdout_data, "pid=2 tmp_entries=0\nwhich=new\n");
}

TEST_F(SandboxWarmRuns, AnotherSpecGetsItsOwnBox) {
  RunResult warm = RunWarm("plain");
  EXPECT_EQ(warm.exit_code, 0) << Describe(warm);
  // Different limits: the box built ahead does not serve it.
  RunSpec other = spec_;
  other.next.reset();
  other.limits.memory_bytes = 48 * kMiB;
  other.stdin_data = "alloc\n";
  absl::StatusOr<RunResult> r = Run(other);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kMemoryLimit) << Describe(*r);
}

TEST_F(SandboxWarmRuns, DroppedBoxLeavesNothing) {
  const std::set<pid_t> before = PidsOfUid(box_uid());
  RunResult r = RunWarm("plain");
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(AwaitWarmInit(before).size(), 1u) << "the box built ahead";
  sandbox_->DropPrepared();
  sandbox_->AwaitEmpty();
  std::set<pid_t> left = PidsOfUid(box_uid());
  for (pid_t pid : before) left.erase(pid);
  EXPECT_TRUE(left.empty()) << absl::StrJoin(left, ",");
}

}  // namespace
}  // namespace scrc::sandbox::testing
